import * as tf from '@tensorflow/tfjs';
import { PlanError } from '../../errors.js';
import type { LaplacianCoupling, LayerPlan, Plan } from '../../plan/types.js';
import { widths } from '../../plan/params.js';
import type { Penalty } from '../types.js';
import { registerCouplingBuilder } from './registry.js';

/** The shape `[in, out]` of a task's tower layer `layer`, or of its head when layer is 'head'. */
function shapeOf(plan: Plan, width: Map<string | null, number>, task: string, layer: number | 'head'): [number, number] | undefined {
  const tower = plan.towers[task];
  const head = plan.heads[task];
  if (!tower || !head) return undefined;
  const stack: LayerPlan[] = tower.layers;
  const start = width.get(tower.parent) ?? 0;
  const index = layer === 'head' ? stack.length : layer;
  if (index > stack.length || (layer !== 'head' && index === stack.length)) return undefined;
  const input = index === 0 ? start : stack[index - 1]!.units;
  return [input, layer === 'head' ? head.units : stack[index]!.units];
}

/**
 * A graph-Laplacian penalty: `strength * sum_(a,b,w) w * ||W_a - W_b||^2` over the kernels and
 * biases of tower layer `layer` (or the heads) of each pair of tasks. With L = D - A the
 * Laplacian of the pairs this is `strength * sum_i <W_i, M_i>`, `M_i = sum_j L_ij W_j`, whose
 * gradient is `2 * strength * M_i`: the gradient is given directly (tf.customGrad), so a step
 * costs one weighted sum per coupled task and no stacking or matrix product.
 */
export class LaplacianPenalty implements Penalty {
  readonly kind = 'laplacian' as const;
  readonly name: string;
  /** The coupled tasks' weights, one list (kernel, bias) per task, in the order of `laplacian`'s rows. */
  private readonly rows: tf.Variable[][];
  /** Per row, the non-zero entries of L: [column, value]. */
  private readonly laplacian: Array<Array<[number, number]>>;

  constructor(
    readonly strength: number,
    pairs: ReadonlyArray<readonly [weightsA: tf.Variable[], weightsB: tf.Variable[], w: number]>,
    layer: number | 'head',
  ) {
    this.name = `laplacian:${layer === 'head' ? 'head' : `tower.${layer}`}`;
    // A task is known by its first variable (the kernel), not by the array holding its weights.
    const index = new Map<tf.Variable, number>();
    const rows: tf.Variable[][] = [];
    const rowOf = (ws: tf.Variable[]) => {
      let i = index.get(ws[0]!);
      if (i === undefined) {
        index.set(ws[0]!, (i = rows.length));
        rows.push(ws);
      }
      return i;
    };
    const entries = new Map<number, number>();
    const n = () => rows.length;
    const add = (i: number, j: number, v: number) => entries.set(i * 1e6 + j, (entries.get(i * 1e6 + j) ?? 0) + v);
    for (const [a, b, w] of pairs) {
      const i = rowOf(a);
      const j = rowOf(b);
      add(i, j, -w);
      add(j, i, -w);
      add(i, i, w);
      add(j, j, w);
    }
    this.rows = rows;
    this.laplacian = Array.from({ length: n() }, () => []);
    for (const [key, v] of [...entries].sort((p, q) => p[0] - q[0])) {
      if (v !== 0) this.laplacian[Math.floor(key / 1e6)]!.push([key % 1e6, v]);
    }
  }

  /** Number of coupled tasks (rows of the Laplacian). */
  get size(): number {
    return this.rows.length;
  }

  value(): tf.Scalar {
    return tf.tidy(() => {
      const n = this.rows.length;
      if (n === 0 || this.strength === 0) return tf.scalar(0);
      const L = this.laplacian;
      const twice = 2 * this.strength;
      const penalty = tf.customGrad((...args: unknown[]) => {
        const ws = args.slice(0, n) as tf.Tensor[];
        const save = args[n] as tf.GradSaveFunc;
        const M = ws.map((_, i) => tf.addN(L[i]!.map(([j, v]) => tf.mul(ws[j]!, v))));
        save(M);
        return {
          value: tf.mul(tf.addN(ws.map((w, i) => tf.sum(tf.mul(w, M[i]!)))), this.strength) as tf.Scalar,
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => saved.map((m) => tf.mul(m, tf.mul(dy, twice))),
        };
      });
      const perWeight = this.rows[0]!.map((_, k) => penalty(...this.rows.map((ws) => ws[k]!)));
      return tf.addN(perWeight) as tf.Scalar;
    });
  }
}

export const laplacianCoupling = registerCouplingBuilder<LaplacianCoupling>({
  kind: 'laplacian',
  layerClasses: [],
  check(c, plan, path) {
    const width = widths({ blocks: plan.blocks, gates: plan.gates }, plan.input.features);
    const where = c.layer === 'head' ? 'heads' : `tower layer ${c.layer}`;
    c.pairs.forEach(([a, b, w], p) => {
      if (w < 0) throw new PlanError(`mtgraph/build: the Laplacian coupling on ${where} gives "${a}" and "${b}" a negative weight (got ${w}), which would push their weights apart without bound → at ${path}.pairs[${p}]. Use weights in [0, 1]; keep conflicting tasks apart by not pairing them.`, { path: `${path}.pairs[${p}]`, got: w });
      const sa = shapeOf(plan, width, a, c.layer);
      const sb = shapeOf(plan, width, b, c.layer);
      for (const [task, s] of [[a, sa], [b, sb]] as const) {
        if (!s) throw new PlanError(`mtgraph/build: the Laplacian coupling on ${where} names "${task}", which has no such layer → at ${path}.pairs[${p}]. Pair tasks that have it.`, { path: `${path}.pairs[${p}]`, got: task });
      }
      if (sa![0] !== sb![0] || sa![1] !== sb![1]) {
        throw new PlanError(`mtgraph/build: the Laplacian coupling on ${where} pairs "${a}" (${sa!.join('x')}) with "${b}" (${sb!.join('x')}), whose weights differ in shape → at ${path}.pairs[${p}]. Only pair layers of one shape.`, { path: `${path}.pairs[${p}]`, got: [a, b] });
      }
    });
  },
  penalties(c, _index, parts) {
    const weightsOf = (task: string) => {
      const layer = c.layer === 'head' ? parts.head(task) : parts.towerDense(task, c.layer);
      return layer.weights.map((w) => w.read() as tf.Variable);
    };
    return [new LaplacianPenalty(c.strength, c.pairs.map(([a, b, w]) => [weightsOf(a), weightsOf(b), w] as const), c.layer)];
  },
});
