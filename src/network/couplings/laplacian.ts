import * as tf from '@tensorflow/tfjs';
import { PlanError } from '../../errors.js';
import type { LaplacianCoupling, LayerPlan, Plan } from '../../plan/types.js';
import { widths } from '../../plan/params.js';
import type { ModelParts } from '../context.js';
import { MultiHead } from '../layers/multi-head.js';
import { fusedHeadOf } from '../names.js';
import type { Penalty } from '../types.js';
import { registerCouplingBuilder } from './registry.js';
import { flatConcat, flatSplit } from '../../backend/flat-kernels.js';
import { laplacianKernel, laplacianKernelAvailable } from '../../backend/laplacian-kernel.js';

/** The shape `[in, out]` of a task's tower layer `layer`, or of its head when layer is 'head'. */
function shapeOf(
  plan: Plan,
  width: Map<string | null, number>,
  task: string,
  layer: number | 'head',
): [number, number] | undefined {
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

/** The non-zero entries of one row of a Laplacian: [column, value]. */
type LaplacianRow = Array<[number, number]>;

/**
 * Rows of a penalty evaluated together: `vars[r]` are the variables of row r (a task's kernel and
 * bias), flattened and laid end to end in the evaluation; every row has the same shapes
 * (`shapes`, `width` numbers in all). `L` is strength times the Laplacian among these rows, dense
 * and row-major.
 */
interface Block {
  vars: tf.Variable[][];
  shapes: number[][];
  width: number;
  L: Float32Array;
}

/**
 * Splits rows (variables per row, Laplacian entries) into blocks of rows with the same shapes.
 * Rows without entries (tasks only paired with weight 0) add nothing and are left out. Rows of
 * different shapes are never linked: a penalty pairs only weights of one shape.
 */
function blocksOf(
  strength: number,
  rows: readonly tf.Variable[][],
  laplacian: readonly LaplacianRow[],
): Block[] {
  if (strength === 0) return [];
  const byShapes = new Map<string, number[]>();
  rows.forEach((vars, i) => {
    if (laplacian[i]!.length === 0) return;
    const key = vars.map((v) => v.shape.join('x')).join(',');
    byShapes.set(key, [...(byShapes.get(key) ?? []), i]);
  });
  return [...byShapes.values()].map((members) => {
    const local = new Map(members.map((i, r) => [i, r]));
    const m = members.length;
    const L = new Float32Array(m * m);
    members.forEach((i, r) => {
      for (const [j, v] of laplacian[i]!) L[r * m + local.get(j)!] = strength * v;
    });
    const shapes = rows[members[0]!]!.map((v) => v.shape);
    return {
      vars: members.map((i) => rows[i]!),
      shapes,
      width: shapes.reduce((n, s) => n + sizeOf(s), 0),
      L,
    };
  });
}

const sizeOf = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/**
 * Cuts `grad` ([rows, width], each row the pieces of `shapes` laid end to end) back into one
 * tensor per piece, in one kernel where the backend has it (backend/flat-kernels.ts).
 */
function cut(grad: tf.Tensor, shapes: readonly number[][]): tf.Tensor[] {
  return flatSplit(
    grad,
    Array.from({ length: grad.shape[0]! }, () => shapes.map((s) => [...s])).flat(),
  );
}

/**
 * `sum_r <X_r, M_r>` with `M = L X`, where row X_r is block row r's variables flattened end to end;
 * its gradient `2 M_r`, in the variables' shapes, is given directly (tf.customGrad). On wasm and
 * cpu value and gradient are one `MtgraphLaplacian` kernel on the variables in place
 * (backend/laplacian-kernel.ts); elsewhere (or with MTGRAPH_LAPLACIAN_KERNEL=off) a handful of ops
 * on one [rows, width] matrix, whatever the number of tasks and pairs. (In that form, `(Xᵀ L)ᵀ`,
 * which puts the small L on the right of wasm's matMul, was faster while wasm's Transpose kernel
 * was slow; with initBackend's blocked transpose, `L X` is 0.3 ms faster for a fresh 8 x 32,896 X.)
 */
function blockValue(block: Block): tf.Scalar {
  const { vars, shapes, width } = block;
  const rows = vars.length;
  const inputs = vars.flat();
  if (laplacianKernelAvailable()) {
    // Value and gradient in one kernel over the weights in place (backend/laplacian-kernel.ts).
    // The gradient is computed again in the backward pass rather than saved: saving and handing
    // back saved tensors clones each (two kernels per variable, ~1,100 a step for 140 towers),
    // while the kernel's arithmetic is a fraction of that. The inputs are the variables, which do
    // not change between the two passes of a step.
    return tf.customGrad((...args: unknown[]) => {
      const xs = args.slice(0, inputs.length) as tf.Tensor[];
      const [value, ...grads] = laplacianKernel(xs, rows, block.L);
      tf.dispose(grads);
      // dy is a scalar read in place on the backends with the kernel (wasm, cpu); it is 1 when the
      // penalty is added to the loss as it is, and then the gradients are the kernel's outputs.
      return {
        value: value!,
        gradFunc: (dy: tf.Tensor) => {
          const [again, ...g] = laplacianKernel(xs, rows, block.L);
          again!.dispose();
          if (dy.dataSync()[0] === 1) return g;
          const scaled = g.map((t) => tf.mul(t, dy));
          tf.dispose(g);
          return scaled;
        },
      };
    })(...inputs) as tf.Scalar;
  }
  const penalty = tf.customGrad((...args: unknown[]) => {
    const ws = args.slice(0, inputs.length) as tf.Tensor[];
    const save = args[inputs.length] as tf.GradSaveFunc;
    const X = flatConcat(ws, [rows, width]) as tf.Tensor2D;
    const L = tf.tensor2d(block.L, [rows, rows]);
    const M = tf.matMul(L, X);
    save([M]);
    return {
      value: tf.sum(tf.mul(X, M)) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, [m]: tf.Tensor[]) => cut(tf.mul(m!, tf.mul(dy, 2)), shapes),
    };
  });
  return penalty(...inputs);
}

/** The sum of the blocks' values (a scalar 0 for none); call inside a tidy. */
function sumOf(blocks: readonly Block[]): tf.Scalar {
  if (blocks.length === 0) return tf.scalar(0);
  const values = blocks.map(blockValue);
  return values.length === 1 ? values[0]! : (tf.addN(values) as tf.Scalar);
}

/**
 * A graph-Laplacian penalty: `strength * sum_(a,b,w) w * ||W_a - W_b||^2` over the kernels and
 * biases of tower layer `layer` (or the heads) of each pair of tasks. With L = D - A the
 * Laplacian of the pairs this is `strength * sum_i <W_i, M_i>`, `M_i = sum_j L_ij W_j`, whose
 * gradient is `2 * strength * M_i`: the gradient is given directly (tf.customGrad), and each
 * task's weights (kernel and bias) are one row of that product, so that a step costs one kernel
 * (or one small matrix product and a few ops), however many tasks and pairs there are.
 */
export class LaplacianPenalty implements Penalty {
  readonly kind = 'laplacian' as const;
  readonly name: string;
  /** The coupled tasks' weights, one list (kernel, bias) per task, in the order of `laplacian`'s rows. */
  private readonly rows: tf.Variable[][];
  /** Per row, the non-zero entries of L: [column, value]. */
  private readonly laplacian: LaplacianRow[];
  private readonly blocks: Block[];

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
    const add = (i: number, j: number, v: number) =>
      entries.set(i * 1e6 + j, (entries.get(i * 1e6 + j) ?? 0) + v);
    for (const [a, b, w] of pairs) {
      const shapes = (ws: tf.Variable[]) => ws.map((v) => v.shape.join('x')).join(', ');
      if (shapes(a) !== shapes(b)) {
        throw new PlanError(
          `mtgraph/build: ${this.name} pairs weights of different shapes (got [${shapes(a)}] and [${shapes(b)}]). Pair only layers of one shape.`,
          { got: [shapes(a), shapes(b)] },
        );
      }
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
    this.blocks = blocksOf(strength, this.rows, this.laplacian);
  }

  /** Number of coupled tasks (rows of the Laplacian). */
  get size(): number {
    return this.rows.length;
  }

  /**
   * The coupled tasks' weights (per row, the layer's kernel and bias) and, per row, the non-zero
   * entries of `strength * L` as the penalty computes them (float32, column order): for the fast
   * tower step (src/train/tower-step.ts), which computes the same penalty on its own buffers.
   */
  coupling(): { rows: readonly (readonly tf.Variable[])[]; L: Array<Array<[number, number]>> } {
    return {
      rows: this.rows,
      L: this.laplacian.map((row) =>
        this.strength === 0
          ? []
          : row.map(([j, v]): [number, number] => [j, Math.fround(this.strength * v)]),
      ),
    };
  }

  value(): tf.Scalar {
    return tf.tidy(() => sumOf(this.blocks));
  }
}

/**
 * The head Laplacian when the coupled heads are fused into one MultiHead layer: head `t`'s weights
 * are its columns of the layer's kernel K `[in, W]` and bias b `[W]`, so with L the Laplacian of
 * the pairs spread over the columns (column c of head a paired with column c of head b; strength
 * included) the penalty is `sum(K * K L) + sum(b * b L)` and its gradient `2 K L`, `2 b L`: two
 * small products on the variables themselves, no copy and no cut, however many heads.
 */
export class FusedHeadLaplacian implements Penalty {
  readonly kind = 'laplacian' as const;
  readonly name = 'laplacian:head';
  private readonly L: Float32Array;
  private readonly width: number;

  constructor(
    readonly strength: number,
    pairs: ReadonlyArray<readonly [a: string, b: string, w: number]>,
    private readonly layer: MultiHead,
    tasks: readonly string[],
  ) {
    const offsets = new Map<string, [begin: number, units: number]>();
    let at = 0;
    tasks.forEach((t, i) => {
      offsets.set(t, [at, layer.units[i]!]);
      at += layer.units[i]!;
    });
    this.width = at;
    this.L = new Float32Array(at * at);
    for (const [a, b, w] of pairs) {
      const [ia, ua] = offsets.get(a) ?? [];
      const [ib, ub] = offsets.get(b) ?? [];
      if (ia === undefined || ib === undefined || ua !== ub) {
        throw new PlanError(
          `mtgraph/build: laplacian:head pairs "${a}" and "${b}", which are not heads of one shape in layer "${layer.name}". Pair only heads of one shape.`,
          { got: [a, b] },
        );
      }
      const v = strength * w;
      for (let c = 0; c < ua!; c++) {
        const i = ia + c;
        const j = ib + c;
        const L = this.L;
        L[i * at + i] = L[i * at + i]! + v;
        L[j * at + j] = L[j * at + j]! + v;
        L[i * at + j] = L[i * at + j]! - v;
        L[j * at + i] = L[j * at + i]! - v;
      }
    }
  }

  /**
   * The MultiHead layer and `strength * L` over its columns (dense, row-major, float32): for the
   * fast tower step (src/train/tower-step.ts), which computes the same penalty on its own buffers.
   */
  coupling(): { layer: MultiHead; width: number; L: Float32Array } {
    return {
      layer: this.layer,
      width: this.width,
      L: this.strength === 0 ? new Float32Array(this.width ** 2) : this.L,
    };
  }

  value(): tf.Scalar {
    if (this.strength === 0) return tf.scalar(0);
    const [kernel, bias] = this.layer.trainableWeights.map((w) => w.read());
    const W = this.width;
    return tf.tidy(() =>
      tf.customGrad((...args: unknown[]) => {
        const [K, b] = args as [tf.Tensor2D, tf.Tensor1D];
        const save = args[2] as tf.GradSaveFunc;
        const L = tf.tensor2d(this.L, [W, W]);
        const row = tf.reshape(b, [1, W]) as tf.Tensor2D;
        const KL = tf.matMul(K, L);
        const bL = tf.matMul(row, L);
        save([KL, bL]);
        return {
          value: tf.add(tf.sum(tf.mul(K, KL)), tf.sum(tf.mul(row, bL))) as tf.Scalar,
          gradFunc: (dy: tf.Tensor, [kl, bl]: tf.Tensor[]) => {
            const twice = tf.mul(dy, 2);
            return [tf.mul(kl!, twice), tf.reshape(tf.mul(bl!, twice), [W])];
          },
        };
      })(kernel!, bias!),
    );
  }
}

/** The MultiHead layer holding every head a head coupling reads, or undefined when they are not all fused into one. */
function fusedLayerOf(
  parts: ModelParts,
  c: LaplacianCoupling,
): { layer: MultiHead; tasks: string[] } | undefined {
  const layers = new Set(
    c.pairs.flatMap(([a, b]) => [a, b]).map((t) => fusedHeadOf(parts.names, t)?.layer),
  );
  if (layers.size !== 1 || layers.has(undefined)) return undefined;
  const name = [...layers][0]!;
  const layer = parts.model.getLayer(name);
  if (!(layer instanceof MultiHead))
    throw new PlanError(
      `mtgraph/build: layer "${name}" should be a MultiHead (got ${layer.getClassName()}). Build the model from this plan.`,
      { got: name },
    );
  return { layer, tasks: parts.names.fusedHeads.get(name)! };
}

export const laplacianCoupling = registerCouplingBuilder<LaplacianCoupling>({
  kind: 'laplacian',
  layerClasses: [],
  headTasks: (c) => (c.layer === 'head' ? c.pairs.flatMap(([a, b]) => [a, b]) : []),
  fusedHeads: true,
  check(c, plan, path) {
    const width = widths({ blocks: plan.blocks, gates: plan.gates }, plan.input.features);
    const where = c.layer === 'head' ? 'heads' : `tower layer ${c.layer}`;
    c.pairs.forEach(([a, b, w], p) => {
      if (w < 0)
        throw new PlanError(
          `mtgraph/build: the Laplacian coupling on ${where} gives "${a}" and "${b}" a negative weight (got ${w}), which would push their weights apart without bound → at ${path}.pairs[${p}]. Use weights in [0, 1]; keep conflicting tasks apart by not pairing them.`,
          { path: `${path}.pairs[${p}]`, got: w },
        );
      const sa = shapeOf(plan, width, a, c.layer);
      const sb = shapeOf(plan, width, b, c.layer);
      for (const [task, s] of [
        [a, sa],
        [b, sb],
      ] as const) {
        if (!s)
          throw new PlanError(
            `mtgraph/build: the Laplacian coupling on ${where} names "${task}", which has no such layer → at ${path}.pairs[${p}]. Pair tasks that have it.`,
            { path: `${path}.pairs[${p}]`, got: task },
          );
      }
      if (sa![0] !== sb![0] || sa![1] !== sb![1]) {
        throw new PlanError(
          `mtgraph/build: the Laplacian coupling on ${where} pairs "${a}" (${sa!.join('x')}) with "${b}" (${sb!.join('x')}), whose weights differ in shape → at ${path}.pairs[${p}]. Only pair layers of one shape.`,
          { path: `${path}.pairs[${p}]`, got: [a, b] },
        );
      }
    });
  },
  penalties(c, _index, parts) {
    const fused = c.layer === 'head' && c.pairs.length > 0 ? fusedLayerOf(parts, c) : undefined;
    if (fused) return [new FusedHeadLaplacian(c.strength, c.pairs, fused.layer, fused.tasks)];
    const weightsOf = (task: string) => {
      const layer = c.layer === 'head' ? parts.head(task) : parts.towerDense(task, c.layer);
      return layer.weights.map((w) => w.read() as tf.Variable);
    };
    return [
      new LaplacianPenalty(
        c.strength,
        c.pairs.map(([a, b, w]) => [weightsOf(a), weightsOf(b), w] as const),
        c.layer,
      ),
    ];
  },
});
