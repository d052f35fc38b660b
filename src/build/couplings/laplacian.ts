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
 * biases of tower layer `layer` (or the heads) of each pair of tasks. Computed in matrix form,
 * `strength * trace(W^T L W)` with W the coupled tasks' weights stacked as rows and L = D - A the
 * Laplacian of the pairs, so a step costs a few ops whatever the number of pairs.
 */
export class LaplacianPenalty implements Penalty {
  readonly kind = 'laplacian' as const;
  readonly name: string;
  /** The coupled tasks' weights, one list (kernel, bias) per task, in the order of `laplacian`'s rows. */
  private readonly rows: tf.Variable[][];
  /** L = D - A over the coupled tasks, row-major. */
  private readonly laplacian: Float32Array;

  constructor(
    readonly strength: number,
    pairs: ReadonlyArray<readonly [weightsA: tf.Variable[], weightsB: tf.Variable[], w: number]>,
    layer: number | 'head',
  ) {
    this.name = `laplacian:${layer === 'head' ? 'head' : `tower.${layer}`}`;
    const index = new Map<tf.Variable[], number>();
    for (const [a, b] of pairs) for (const x of [a, b]) if (!index.has(x)) index.set(x, index.size);
    this.rows = [...index.keys()];
    const n = this.rows.length;
    const L = new Float32Array(n * n);
    const add = (i: number, j: number, v: number) => (L[i * n + j] = L[i * n + j]! + v);
    for (const [a, b, w] of pairs) {
      const i = index.get(a)!;
      const j = index.get(b)!;
      add(i, j, -w);
      add(j, i, -w);
      add(i, i, w);
      add(j, j, w);
    }
    this.laplacian = L;
  }

  value(): tf.Scalar {
    return tf.tidy(() => {
      const n = this.rows.length;
      if (n === 0 || this.strength === 0) return tf.scalar(0);
      const L = tf.tensor2d(this.laplacian, [n, n]);
      const W = tf.stack(this.rows.map((ws) => tf.concat(ws.map((x) => tf.reshape(x, [-1])))));
      return tf.mul(tf.sum(tf.mul(W, tf.matMul(L, W))), this.strength) as tf.Scalar;
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
