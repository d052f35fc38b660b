import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { envVar } from '../platform/index.js';
import { COLUMN_ACTIVATIONS } from '../network/layers/columns.js';
import { bankHead, bankHeadGrad, bankHeadKernelAvailable } from '../backend/bank-head-kernel.js';
import { dense } from './expert-bank.js';

/**
 * The tower bank (issue 18): many towers that read one tensor, each a stack of dense layers and a
 * dense head (soft sharing's towers, `single`'s, MMoE's towers over one gate...), computed in a
 * training step as a few wide kernels instead of a few kernels per tower:
 *
 *   first layer   H1 = act(P [K_1 | K_2 | ... | K_T] + [b_1 | ... | b_T])       one [in, T*u] product
 *   later layers  [T, B, u] batched products with the stacked kernels [T, u, u']   (block-diagonal)
 *   1-unit heads  out[:, t] = sum_k H[:, t, k] w_t[k] + c_t                         (one mul, one sum)
 *
 * The variables are the towers' own (each task keeps its Dense layers, their names and shapes), so
 * the model, its saved form, its penalties (the Laplacian kernel reads each task's kernel in place),
 * regularisers, checkpoints and everything outside the training step do not change; only the
 * training step's forward pass reads them differently. The per-tower path stays the reference
 * (tests compare weights after N steps) and is used where the bank does not apply: towers with
 * dropout or batch norm, heads that are not plain Dense layers (a target scale), towers mixed by a
 * coupling (cross-stitch), or fewer towers than `minTowers`.
 *
 * MTGRAPH_TOWER_BANK=off turns it off; MTGRAPH_TOWER_BANK=<n> sets the fewest towers banked.
 */

/** Fewest towers of one group that are banked (below it the per-tower kernels are cheap enough). */
export const TOWER_BANK_MIN_TOWERS = 16;

let setting: number | 'off' | undefined;

/** Sets the fewest towers banked, or 'off'; undefined goes back to MTGRAPH_TOWER_BANK / the default. Models already trained keep the choice made for them. */
export function configureTowerBank(minTowers: number | 'off' | undefined): void {
  setting = minTowers;
}

function minTowers(): number {
  const s = setting ?? envSetting();
  return s === 'off' ? Number.POSITIVE_INFINITY : Math.max(2, s);
}

function envSetting(): number | 'off' {
  const v = envVar('MTGRAPH_TOWER_BANK');
  if (v === undefined || v === '' || v === 'on') return TOWER_BANK_MIN_TOWERS;
  if (v === 'off') return 'off';
  const n = Number(v);
  return Number.isInteger(n) && n >= 2 ? n : TOWER_BANK_MIN_TOWERS;
}

/** One banked group: towers on one input tensor, with the same layer shapes and activations. */
export interface TowerGroup {
  /** The tensor every tower reads (the model's input or a layer's output). */
  readonly parent: tf.SymbolicTensor;
  /** Task ids, in bank order (their columns of the bank's output). */
  readonly tasks: readonly string[];
  /** Per tower layer, per task, its Dense layer. */
  readonly layers: ReadonlyArray<readonly tf.layers.Layer[]>;
  /** Per task, its head's Dense layer. */
  readonly heads: readonly tf.layers.Layer[];
  /** Units of every head. */
  readonly headUnits: number;
}

interface DenseLike extends tf.layers.Layer {
  units: number;
  useBias: boolean;
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor };
  activation: { apply(x: tf.Tensor): tf.Tensor; getClassName(): string };
}

const isDense = (l: tf.layers.Layer): l is DenseLike =>
  l.getClassName() === 'Dense' && l.inboundNodes.length === 1 && (l as DenseLike).useBias;

/** The activation's name as a plan gives it ('relu', 'linear', ...). */
const activationOf = (l: DenseLike): string => l.activation.getClassName().toLowerCase();

/**
 * The model's bankable tower groups: per task, its tower's Dense layers (none with dropout or batch
 * norm: each layer's single output is the next one's single input) and a Dense head on the last;
 * tasks whose first tower layer reads the same tensor, with the same units and activations layer by
 * layer and heads of the same width, form a group; groups of at least `minTowers` are returned.
 */
export function towerGroups(model: MtgraphModel, fusedTasks: ReadonlySet<string>): TowerGroup[] {
  const limit = minTowers();
  if (!Number.isFinite(limit)) return [];
  const { plan, layerNames: names } = model;
  // A coupling other than the Laplacian penalty (cross-stitch) mixes tower activations.
  if (plan.couplings.some((c) => c.kind !== 'laplacian')) return [];
  const byKey = new Map<
    string,
    { parent: tf.SymbolicTensor; tasks: string[]; layers: DenseLike[][]; heads: DenseLike[] }
  >();
  const parentIds = new Map<tf.SymbolicTensor, number>();
  for (const t of plan.tasks) {
    if (fusedTasks.has(t.id)) continue;
    const steps = names.towers.get(t.id) ?? [];
    const towerPlan = plan.towers[t.id];
    if (steps.length === 0 || !towerPlan) continue;
    if (towerPlan.layers.some((l) => l.dropout > 0 || l.batchNorm)) continue;
    const dense: DenseLike[] = [];
    let ok = true;
    for (const s of steps) {
      const l = model.model.getLayer(s.dense);
      if (!isDense(l) || s.dropout || s.batchNorm) {
        ok = false;
        break;
      }
      dense.push(l);
    }
    const headName = names.heads.get(t.id);
    const head = headName ? model.model.getLayer(headName) : undefined;
    if (!ok || !head || !isDense(head)) continue;
    // Each layer reads the previous one's output; the head reads the last.
    for (let i = 1; i < dense.length && ok; i++) ok = dense[i]!.input === dense[i - 1]!.output;
    if (!ok || head.input !== dense.at(-1)!.output) continue;
    // The loss applies the head's activation to the bank's columns (as for fused heads).
    const activation = plan.heads[t.id]!.activation;
    if (activationOf(head) !== activation || !(activation in COLUMN_ACTIVATIONS)) continue;
    const parent = dense[0]!.input as tf.SymbolicTensor;
    if (!parentIds.has(parent)) parentIds.set(parent, parentIds.size);
    const key = [
      parentIds.get(parent),
      ...dense.map((d) => `${d.units}:${activationOf(d)}`),
      head.units,
    ].join('|');
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { parent, tasks: [], layers: dense.map(() => []), heads: [] }));
    g.tasks.push(t.id);
    dense.forEach((d, i) => g!.layers[i]!.push(d));
    g.heads.push(head);
  }
  return [...byKey.values()]
    .filter((g) => g.tasks.length >= limit)
    .map((g) => ({
      parent: g.parent,
      tasks: g.tasks,
      layers: g.layers,
      heads: g.heads,
      headUnits: (g.heads[0] as DenseLike).units,
    }));
}

/**
 * One layer (relu or linear) and one-unit heads as one differentiable function of the stacked
 * weights: forward the [in, T*u] product (bias and activation fused: one kernel) and one MtgraphBankHead
 * kernel; backward one MtgraphBankHeadGrad kernel (the heads' gradients, the hidden gradient
 * before the relu and its bias gradient in one pass) and one product for the kernels' gradient
 * (and one for the parent's, when it is not the model's input).
 */
function oneLayerBank(
  parent: tf.Tensor2D,
  parentNeedsGradient: boolean,
  weights: [K: tf.Tensor2D, b: tf.Tensor1D, w: tf.Tensor1D, c: tf.Tensor1D],
  u: number,
  activation: 'relu' | 'linear',
): tf.Tensor2D {
  const inputs: tf.Tensor[] = parentNeedsGradient ? [...weights, parent] : [...weights];
  return tf.customGrad((...args: unknown[]) => {
    const [K, b, w, c] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    const x = parentNeedsGradient ? (args[4] as tf.Tensor2D) : parent;
    const save = args[inputs.length] as tf.GradSaveFunc;
    const h = dense(x, K, b, activation);
    // What the gradient reads must be saved: the forward pass's intermediates are freed after it.
    save(parentNeedsGradient ? [h, w, x, K] : [h, w, x]);
    return {
      value: bankHead(h, w, c, u),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hidden, heads, input, kernel] = saved as tf.Tensor2D[];
        const [dh, dw, dc, db] = bankHeadGrad(
          hidden!,
          heads as unknown as tf.Tensor1D,
          dy as tf.Tensor2D,
          u,
          activation === 'relu',
        );
        const dK = tf.matMul(input!, dh, true, false);
        return parentNeedsGradient
          ? [dK, db, dw, dc, tf.matMul(dh, kernel!, false, true)]
          : [dK, db, dw, dc];
      },
    };
  })(...inputs) as tf.Tensor2D;
}

/**
 * The group's heads before their activation, side by side: `[B, T * headUnits]`, task t's columns
 * at `t * headUnits`. Reads the towers' variables (call under the training step's tape).
 * `parentIsInput`: the parent is the model's input (no gradient flows to it).
 */
export function bankForward(
  group: TowerGroup,
  parent: tf.Tensor2D,
  parentIsInput = false,
): tf.Tensor2D {
  const T = group.tasks.length;
  const B = parent.shape[0];
  const layers = group.layers as ReadonlyArray<readonly DenseLike[]>;
  const heads = group.heads as readonly DenseLike[];
  const first = layers[0]!;
  const u0 = first[0]!.units;
  const K = tf.concat(
    first.map((d) => d.kernel.read()),
    1,
  ) as tf.Tensor2D;
  const b = tf.concat(first.map((d) => d.bias!.read())) as tf.Tensor1D;
  const act0 = activationOf(first[0]!);
  if (
    layers.length === 1 &&
    group.headUnits === 1 &&
    (act0 === 'relu' || act0 === 'linear') &&
    bankHeadKernelAvailable()
  ) {
    // The [u, 1] head kernels end to end, then one reshape (not one per head).
    const w = tf.reshape(tf.concat(heads.map((d) => d.kernel.read())), [-1]) as tf.Tensor1D;
    const c = tf.concat(heads.map((d) => d.bias!.read())) as tf.Tensor1D;
    return oneLayerBank(parent, !parentIsInput, [K, b, w, c], u0, act0);
  }
  // One [in, T*u] product; relu and linear fuse into it (their gradients are tfjs's own).
  let h: tf.Tensor =
    act0 === 'relu' || act0 === 'linear'
      ? tf.fused.matMul({ a: parent, b: K, bias: b, activation: act0 })
      : first[0]!.activation.apply(tf.add(tf.matMul(parent, K), b));
  if (layers.length === 1 && group.headUnits === 1) {
    // 1-unit heads on one layer: out[:, t] = sum_k h[:, t, k] w_t[k] + c_t, without a transpose.
    const w = tf.concat(heads.map((d) => tf.reshape(d.kernel.read(), [-1])));
    const c = tf.concat(heads.map((d) => d.bias!.read()));
    const dot = tf.sum(tf.reshape(tf.mul(h, w), [B, T, u0]), 2);
    return tf.add(dot, c) as tf.Tensor2D;
  }
  // Block-diagonal layers: [T, B, u] batched products with the stacked kernels [T, u, u'].
  let width = u0;
  h = tf.transpose(tf.reshape(h, [B, T, width]), [1, 0, 2]);
  const stages: ReadonlyArray<readonly DenseLike[]> = [...layers.slice(1), heads];
  for (const stage of stages) {
    const units = stage[0]!.units;
    const Ks = tf.stack(stage.map((d) => d.kernel.read())) as tf.Tensor3D;
    const bs = tf.reshape(tf.stack(stage.map((d) => d.bias!.read())), [T, 1, units]);
    const z = tf.add(tf.matMul(h as tf.Tensor3D, Ks), bs);
    h = stage === heads ? z : stage[0]!.activation.apply(z);
    width = units;
  }
  return tf.reshape(tf.transpose(h, [1, 0, 2]), [B, T * width]) as tf.Tensor2D;
}
