import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { envVar } from '../platform/index.js';
import {
  expertJoin,
  expertMix,
  expertMixGrad,
  expertMixKernelAvailable,
} from '../backend/expert-mix-kernel.js';
import { bankHead, bankHeadGrad, bankHeadKernelAvailable } from '../backend/bank-head-kernel.js';
import { COLUMN_ACTIVATIONS } from '../network/layers/columns.js';

/**
 * The expert bank (issue 18): the E experts of a mixture of experts and the G softmax gates that
 * mix them (MMoE's; ple's on one tensor, each over some of the experts), computed in a training
 * step as a few wide kernels instead of a few kernels per expert and per gate:
 *
 *   experts' first layer   H = act(X [K_1 | ... | K_E] + [b_1 | ... | b_E])    one [in, E*u] product
 *   deeper expert layers   one 2-D product per expert on its columns of H (wasm's batched
 *                          products are 20x slower than its 2-D ones)
 *   gates                  L = X' [W_1 | ... | W_G] + [c_1 | ... | c_G]        one [in', G*E] product,
 *                          one softmax over each gate's E columns
 *   mixtures               one MtgraphExpertMix kernel for every gate and row (its gradient, the
 *                          gates' softmax gradient and the experts' last bias gradient in one more)
 *
 * The variables are the experts' and gates' own (each keeps its Dense layers, names and shapes),
 * so the model, its saved form, its penalties, checkpoints, export and predictions do not change;
 * only the training step's forward pass reads them differently, and the rest of the model (towers,
 * heads) runs from the gates' mixtures as it would. The per-expert path stays the reference (tests
 * compare weights after N steps) and is used where the bank does not apply: experts with dropout,
 * batch norm or an activation other than relu / linear, experts on different tensors (ple's
 * later levels), an expert or gate whose output is read elsewhere. Gates on one tensor over
 * different experts (ple's first level) mix all of the group's experts, the others with a weight
 * of 0 (a logit of -1e30).
 *
 * MTGRAPH_EXPERT_BANK=off turns it off.
 */

let setting: 'on' | 'off' | undefined;

/** Turns the expert bank on or off; undefined goes back to MTGRAPH_EXPERT_BANK (default on). Models already trained keep the choice made for them. */
export function configureExpertBank(value: 'on' | 'off' | undefined): void {
  setting = value;
}

function enabled(): boolean {
  return (setting ?? (envVar('MTGRAPH_EXPERT_BANK') === 'off' ? 'off' : 'on')) === 'on';
}

interface DenseLike extends tf.layers.Layer {
  units: number;
  useBias: boolean;
  kernel: { read(): tf.Tensor };
  bias?: { read(): tf.Tensor };
  activation: { getClassName(): string };
}

const isDense = (l: tf.layers.Layer): l is DenseLike =>
  l.getClassName() === 'Dense' && l.inboundNodes.length === 1 && (l as DenseLike).useBias;

const activationOf = (l: DenseLike): string => l.activation.getClassName().toLowerCase();

type Activation = 'relu' | 'linear';
const fusable = (a: string): a is Activation => a === 'relu' || a === 'linear';

/** One banked mixture: E experts on one tensor, G softmax gates on one tensor mixing all of them in the same order. */
export interface ExpertGroup {
  /** The tensor every expert reads. */
  readonly parent: tf.SymbolicTensor;
  /** The tensor every gate reads. */
  readonly gateParent: tf.SymbolicTensor;
  /** Per expert layer, per expert, its Dense layer. */
  readonly layers: ReadonlyArray<readonly tf.layers.Layer[]>;
  /** Per gate, its weights' Dense layer (E units, softmax). */
  readonly gates: readonly tf.layers.Layer[];
  /** Per gate, its mixture (the GateMix layer's output), which the bank computes. */
  readonly mixes: readonly tf.SymbolicTensor[];
  /**
   * When the gates mix different experts (ple): per gate, the positions of its experts (in its
   * order) among the group's. The others get a weight of 0 (a logit of -1e30 before the softmax).
   */
  readonly members?: ReadonlyArray<readonly number[]>;
  /**
   * When every gate's mixture is read by one task's one-unit Dense head alone (no tower): per
   * gate, that task and its head. The bank then computes the heads too (before their activation,
   * `[B, G]`, task g's in column g), with the tower bank's head kernels.
   */
  readonly heads?: {
    readonly tasks: readonly string[];
    readonly layers: readonly tf.layers.Layer[];
  };
}

/** Layers reading a layer's (single) output. */
const readers = (l: tf.layers.Layer): number => l.outboundNodes.length;

/**
 * The model's bankable expert groups: gates of the plan that mix the same experts (at least two)
 * in the same order, with weights Dense(E, softmax) on one tensor; experts that are stacks of
 * Dense layers (relu or linear, no dropout or batch norm) of the same shapes on one tensor, read
 * only by the gates' stack, as the gates' weights only by their mix.
 */
export function expertGroups(
  model: MtgraphModel,
  fusedTasks: ReadonlySet<string> = new Set(),
): ExpertGroup[] {
  if (!enabled() || !expertMixKernelAvailable()) return [];
  const { plan } = model;
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  // Gates on one tensor (their parent in the plan) form a group over all the experts they mix.
  const byParent = new Map<string | null, string[]>();
  for (const g of plan.gates) byParent.set(g.parent, [...(byParent.get(g.parent) ?? []), g.id]);
  const groups: ExpertGroup[] = [];
  for (const gateIds of byParent.values()) {
    const group = groupOf(model, gateIds, blocks, fusedTasks);
    if (group) groups.push(group);
  }
  return groups;
}

function groupOf(
  model: MtgraphModel,
  gateIds: readonly string[],
  blocks: ReadonlyMap<string, MtgraphModel['plan']['blocks'][number]>,
  fusedTasks: ReadonlySet<string>,
): ExpertGroup | undefined {
  const { plan, layerNames: names } = model;
  const lists = gateIds.map((id) => plan.gates.find((g) => g.id === id)!.experts);
  const experts = [...new Set(lists.flat())];
  if (experts.length < 2) return undefined;
  const same = lists.every(
    (l) => l.length === experts.length && l.every((e, i) => e === experts[i]),
  );
  const members = same ? undefined : lists.map((l) => l.map((e) => experts.indexOf(e)));
  // The stacks' Reshape layers: the only readers of the experts' outputs.
  const stacks = new Set(gateIds.flatMap((id) => names.gates.get(id)?.experts ?? []));
  const layers: DenseLike[][] = [];
  let shape: string | undefined;
  let parent: tf.SymbolicTensor | undefined;
  for (const id of experts) {
    const block = blocks.get(id);
    const steps = names.blocks.get(id);
    if (!block || !steps || steps.length === 0) return undefined;
    if (block.layers.some((l) => l.dropout > 0 || l.batchNorm)) return undefined;
    const dense: DenseLike[] = [];
    for (const s of steps) {
      if (s.dropout || s.batchNorm) return undefined;
      const l = model.model.getLayer(s.dense);
      if (!isDense(l) || !fusable(activationOf(l))) return undefined;
      if (dense.length > 0 && l.input !== dense.at(-1)!.output) return undefined;
      dense.push(l);
    }
    // Inner layers feed only the next one; the last only the group's gates' stacks.
    if (dense.slice(0, -1).some((l) => readers(l) !== 1)) return undefined;
    const last = dense.at(-1)!;
    if (readers(last) === 0 || last.outboundNodes.some((n) => !stacks.has(n.outboundLayer.name)))
      return undefined;
    const key = dense.map((d) => `${d.units}:${activationOf(d)}`).join('|');
    if (shape === undefined) shape = key;
    if (key !== shape) return undefined;
    const input = dense[0]!.input as tf.SymbolicTensor;
    if (parent === undefined) parent = input;
    if (input !== parent) return undefined;
    dense.forEach((d, i) => (layers[i] ??= []).push(d));
  }
  const gates: DenseLike[] = [];
  const mixes: tf.SymbolicTensor[] = [];
  let gateParent: tf.SymbolicTensor | undefined;
  for (const [g, id] of gateIds.entries()) {
    const gate = names.gates.get(id);
    if (!gate) return undefined;
    const weights = model.model.getLayer(gate.weights);
    if (!isDense(weights) || activationOf(weights) !== 'softmax') return undefined;
    if (weights.units !== lists[g]!.length || readers(weights) !== 1) return undefined;
    const input = weights.input as tf.SymbolicTensor;
    if (gateParent === undefined) gateParent = input;
    if (input !== gateParent) return undefined;
    const mix = model.model.getLayer(gate.mix);
    if (mix.inboundNodes.length !== 1) return undefined;
    gates.push(weights);
    mixes.push(mix.output as tf.SymbolicTensor);
  }
  if (!parent || !gateParent || parent.shape.length !== 2 || gateParent.shape.length !== 2)
    return undefined;
  const heads = headsOf(model, gateIds, mixes, fusedTasks);
  return {
    parent,
    gateParent,
    layers,
    gates,
    mixes,
    ...(members ? { members } : {}),
    ...(heads ? { heads } : {}),
  };
}

/** The gates' heads when each gate's mixture is read by one task's one-unit Dense head alone (see ExpertGroup.heads). */
function headsOf(
  model: MtgraphModel,
  gateIds: readonly string[],
  mixes: readonly tf.SymbolicTensor[],
  fusedTasks: ReadonlySet<string>,
): ExpertGroup['heads'] {
  if (!bankHeadKernelAvailable()) return undefined;
  const { plan, layerNames: names } = model;
  const tasks: string[] = [];
  const layers: DenseLike[] = [];
  for (let g = 0; g < gateIds.length; g++) {
    const on = plan.tasks.filter(
      (t) =>
        plan.towers[t.id]?.parent === gateIds[g] && (names.towers.get(t.id) ?? []).length === 0,
    );
    if (on.length !== 1) return undefined;
    const id = on[0]!.id;
    const headName = names.heads.get(id);
    if (fusedTasks.has(id) || !headName) return undefined;
    const head = model.model.getLayer(headName);
    const activation = plan.heads[id]!.activation;
    if (
      !isDense(head) ||
      head.units !== 1 ||
      head.input !== mixes[g] ||
      mixes[g]!.sourceLayer.outboundNodes.length !== 1 ||
      activationOf(head) !== activation ||
      !(activation in COLUMN_ACTIVATIONS)
    )
      return undefined;
    tasks.push(id);
    layers.push(head);
  }
  return { tasks, layers };
}

/** Per group, the tensors its last forward pass kept for a gradient that has not run (see expertBankForward). */
const unused = new WeakMap<ExpertGroup, tf.Tensor[]>();

/**
 * `act(a b + bias)` as one kernel (tfjs's fused op splits it in three while a gradient is
 * recorded). No gradient of its own: for the forward pass of a custom gradient.
 */
export function dense(a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D, activation: Activation) {
  const [B, k] = a.shape;
  const n = b.shape[1];
  const out = tf
    .engine()
    .runKernel(
      '_FusedMatMul',
      { a: tf.reshape(a, [1, B, k]), b: tf.reshape(b, [1, k, n]), bias },
      { transposeA: false, transposeB: false, activation },
    ) as tf.Tensor;
  return tf.reshape(out, [B, n]) as tf.Tensor2D;
}

/** `dy` masked where relu's output `y` is not positive (the gradient before the relu). */
const beforeActivation = (dy: tf.Tensor, y: tf.Tensor, activation: Activation): tf.Tensor =>
  activation === 'relu' ? tf.mul(dy, tf.step(y)) : dy;

/**
 * The group's gate mixtures `[B, d]` each, in gate order (or, when the bank computes the heads,
 * the heads before their activation, `[B, G]`), computed by the bank from the experts', gates' and
 * heads' variables (call under the training step's tape). `parent`: the experts' input;
 * `gateParent`: the gates'. `needsGradient`: whether a gradient flows on to each of them (false
 * for the model's input).
 */
export function expertBankForward(
  group: ExpertGroup,
  parent: tf.Tensor2D,
  gateParent: tf.Tensor2D,
  needsGradient: { parent: boolean; gateParent: boolean },
): { mixes: tf.Tensor2D[] } | { heads: tf.Tensor2D } {
  const layers = group.layers as ReadonlyArray<readonly DenseLike[]>;
  const gates = group.gates as readonly DenseLike[];
  const E = layers[0]!.length;
  const G = gates.length;
  const L = layers.length;
  const B = parent.shape[0];
  const acts = layers.map((l) => activationOf(l[0]!) as Activation);
  const heads = group.heads?.layers as readonly DenseLike[] | undefined;
  const d = layers[L - 1]![0]!.units;
  const sameParent = parent === gateParent;
  // Gates over some of the experts (see ExpertGroup.members): where each gate's own logits go
  // among all of them (the pad column, after the own ones, for the others), and back.
  const members = group.members;
  const gateSizes = gates.map((g) => g.units);
  const offsets = gateSizes.map((_, g) => gateSizes.slice(0, g).reduce((a, b) => a + b, 0));
  const scatter = members
    ? () => {
        const pad = offsets[G - 1]! + gateSizes[G - 1]!;
        const at = new Int32Array(G * E).fill(pad);
        members.forEach((list, g) => list.forEach((e, j) => (at[g * E + e] = offsets[g]! + j)));
        return tf.tensor1d(at, 'int32');
      }
    : undefined;
  const gather = members
    ? () =>
        tf.tensor1d(
          members.flatMap((list, g) => list.map((e) => g * E + e)),
          'int32',
        )
    : undefined;
  // The differentiated inputs: the variables (layer by layer kernels then biases, then the gates'), then the parents that need a gradient.
  const variables: tf.Tensor[] = [
    ...layers.flatMap((l) => [...l.map((x) => x.kernel.read()), ...l.map((x) => x.bias!.read())]),
    ...gates.map((g) => g.kernel.read()),
    ...gates.map((g) => g.bias!.read()),
    ...(heads ? [...heads.map((h) => h.kernel.read()), ...heads.map((h) => h.bias!.read())] : []),
  ];
  const parents: tf.Tensor2D[] = [];
  if (needsGradient.parent) parents.push(parent);
  if (needsGradient.gateParent && !sameParent) parents.push(gateParent);
  const inputs = [...variables, ...parents];
  const nv = variables.length;
  const mixed = tf.customGrad((...args: unknown[]) => {
    const save = args[inputs.length] as tf.GradSaveFunc;
    const v = args.slice(0, nv) as tf.Tensor[];
    const x = needsGradient.parent ? (args[nv] as tf.Tensor2D) : parent;
    const xg = sameParent
      ? x
      : needsGradient.gateParent
        ? (args[nv + parents.length - 1] as tf.Tensor2D)
        : gateParent;
    const kernels = (l: number) => v.slice(2 * E * l, 2 * E * l + E) as tf.Tensor2D[];
    const biases = (l: number) => v.slice(2 * E * l + E, 2 * E * (l + 1)) as tf.Tensor1D[];
    const gateKernels = v.slice(2 * E * L, 2 * E * L + G) as tf.Tensor2D[];
    const gateBiases = v.slice(2 * E * L + G, 2 * E * L + 2 * G) as tf.Tensor1D[];
    const headKernels = v.slice(2 * E * L + 2 * G, 2 * E * L + 3 * G);
    const headBiases = v.slice(2 * E * L + 3 * G);
    const K0 = tf.concat(kernels(0), 1) as tf.Tensor2D;
    const H0 = dense(x, K0, tf.concat(biases(0)) as tf.Tensor1D, acts[0]!);
    // Every layer's output per expert ([B, u] each), the first's split off the wide product.
    const outs: tf.Tensor2D[][] = [tf.split(H0, E, 1) as tf.Tensor2D[]];
    for (let l = 1; l < L; l++) {
      const K = kernels(l);
      const b = biases(l);
      outs.push(outs[l - 1]!.map((h, e) => dense(h, K[e]!, b[e]!, acts[l]!)));
    }
    const S = tf.concat(outs[L - 1]!, 0) as tf.Tensor2D;
    const own = dense(
      xg,
      tf.concat(gateKernels, 1) as tf.Tensor2D,
      tf.concat(gateBiases) as tf.Tensor1D,
      'linear',
    );
    // Gates over some of the experts: each gate's logits at its experts' places, -1e30 elsewhere.
    const logits = scatter
      ? (tf.gather(tf.concat([own, tf.fill([B, 1], -1e30)], 1), scatter(), 1) as tf.Tensor2D)
      : own;
    const P = tf.reshape(tf.softmax(tf.reshape(logits, [B * G, E])), [B, G * E]) as tf.Tensor2D;
    const M = expertMix(P, S, E);
    // The heads' kernels end to end ([d, 1] each), their biases.
    const w = heads ? (tf.reshape(tf.concat(headKernels), [G * d]) as tf.Tensor1D) : undefined;
    const c = heads ? (tf.concat(headBiases) as tf.Tensor1D) : undefined;
    // What the gradient reads: the parents saved (tfjs copies them), and, kept rather than saved
    // (megabytes a step to copy), the first layer's output whole, the inputs of the later layers
    // per expert, the experts' outputs, the gates' weights, the mixtures and the heads' kernels,
    // all made here. The gradient frees those; a forward pass whose gradient never ran leaves them
    // to the group's next one.
    save([x, xg]);
    tf.dispose(unused.get(group));
    const kept = [H0, S, P, ...(heads ? [M, w!] : []), ...outs.slice(0, L - 1).flat()].map((t) =>
      tf.keep(t),
    );
    unused.set(group, kept);
    return {
      value: heads ? bankHead(M, w!, c!, d) : M,
      gradFunc: (dOut: tf.Tensor, parents: tf.Tensor[]) => {
        unused.delete(group);
        try {
          return gradient(dOut, [...parents, ...kept]);
        } finally {
          tf.dispose(kept);
        }
      },
    };
    function gradient(dOut: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] {
      const [sx, sxg, sH0, sS, sP] = saved as tf.Tensor2D[];
      const inner = saved.slice(heads ? 7 : 5) as tf.Tensor2D[];
      let dy = dOut as tf.Tensor2D;
      let headGrads: tf.Tensor[] = [];
      if (heads) {
        const [dM, dw, dc] = bankHeadGrad(
          saved[5] as tf.Tensor2D,
          saved[6] as tf.Tensor1D,
          dy,
          d,
          false,
        );
        dy = dM;
        headGrads = [...tf.split(dw, G).map((k) => tf.reshape(k, [d, 1])), ...tf.split(dc, G)];
      }
      // Per layer l >= 1, per expert, its input (the previous layer's output).
      const inputsOf = (l: number): tf.Tensor2D[] => inner.slice((l - 1) * E, l * E);
      const [dS, dLogits, dbLast] = expertMixGrad(
        sP!,
        sS!,
        dy as tf.Tensor2D,
        E,
        acts[L - 1] === 'relu',
      );
      const grads: tf.Tensor[][] = new Array(L);
      // dz: per expert, the gradient before layer l's activation.
      let dz = tf.split(dS, E, 0) as tf.Tensor2D[];
      let dH0: tf.Tensor2D[] | undefined;
      for (let l = L - 1; l >= 1; l--) {
        const hin = inputsOf(l);
        const K = layers[l]!.map((x) => x.kernel.read()) as tf.Tensor2D[];
        const dK = dz.map((g, e) => tf.matMul(hin[e]!, g, true, false));
        const db =
          l === L - 1
            ? (tf.split(dbLast, E) as tf.Tensor1D[])
            : dz.map((g) => tf.sum(g, 0) as tf.Tensor1D);
        grads[l] = [...dK, ...db];
        const dh = dz.map((g, e) => tf.matMul(g, K[e]!, false, true) as tf.Tensor2D);
        if (l > 1) dz = dh.map((g, e) => beforeActivation(g, hin[e]!, acts[l - 1]!) as tf.Tensor2D);
        else dH0 = dh;
      }
      // The first layer, wide: [B, E*u0].
      let dz0: tf.Tensor2D;
      let db0: tf.Tensor1D[];
      if (L === 1) {
        dz0 = tf.concat(dz, 1) as tf.Tensor2D;
        db0 = tf.split(dbLast, E) as tf.Tensor1D[];
      } else {
        const [joined, summed] = expertJoin(sH0!, dH0!, acts[0] === 'relu');
        dz0 = joined;
        db0 = tf.split(summed, E) as tf.Tensor1D[];
      }
      grads[0] = [...(tf.split(tf.matMul(sx!, dz0, true, false), E, 1) as tf.Tensor2D[]), ...db0];
      // The gates' own logits' gradient (those of the experts they mix).
      const dOwn = gather ? (tf.gather(dLogits, gather(), 1) as tf.Tensor2D) : dLogits;
      const gateGrads = [
        ...tf.split(tf.matMul(sxg!, dOwn, true, false), gateSizes, 1),
        ...tf.split(tf.sum(dOwn, 0), gateSizes),
      ];
      const parentGrads: tf.Tensor[] = [];
      if (needsGradient.parent || needsGradient.gateParent) {
        const K0s = layers[0]!.map((x) => x.kernel.read());
        const dx = needsGradient.parent
          ? tf.matMul(dz0, tf.concat(K0s, 1), false, true)
          : undefined;
        const Wg = tf.concat(
          gates.map((g) => g.kernel.read()),
          1,
        );
        const dxg = needsGradient.gateParent ? tf.matMul(dOwn, Wg, false, true) : undefined;
        if (sameParent) {
          if (dx && dxg) parentGrads.push(tf.add(dx, dxg));
          else if (dx) parentGrads.push(dx);
        } else {
          if (dx) parentGrads.push(dx);
          if (dxg) parentGrads.push(dxg);
        }
      }
      return [...grads.flat(), ...gateGrads, ...headGrads, ...parentGrads];
    }
  })(...inputs) as tf.Tensor2D;
  return heads ? { heads: mixed } : { mixes: tf.split(mixed, G, 1) as tf.Tensor2D[] };
}

/** A model's own graph run from given tensors: `Container.call` with more of its tensors fed than its inputs (tfjs's executor takes intermediate feeds). */
interface Callable {
  call(inputs: tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}
const list = (t: tf.Tensor | tf.Tensor[]): tf.Tensor[] => (Array.isArray(t) ? t : [t]);

/**
 * Runs a training view's model on a batch with its expert groups computed by the banks: the
 * groups' parents first (when not the input), then each bank, then the model's graph from the
 * input and the gates' mixtures (fed), which is what `model.apply(x, { training })` computes.
 * Returns the model's outputs, then the heads of the groups that compute them, in group order.
 */
export function applyWithExperts(
  model: tf.LayersModel,
  groups: readonly ExpertGroup[],
  x: tf.Tensor2D,
  training: boolean,
): { outputs: tf.Tensor[]; heads: tf.Tensor2D[] } {
  const input = model.inputs[0]!;
  const kwargs = { training };
  const known = new Map<tf.SymbolicTensor, tf.Tensor>([[input, x]]);
  const inner = [
    ...new Set(groups.flatMap((g) => [g.parent, g.gateParent]).filter((t) => t !== input)),
  ];
  if (inner.length > 0) {
    const parents = Object.create(model, { outputs: { value: inner } }) as Callable;
    const values = list(parents.call([x], kwargs));
    inner.forEach((t, i) => known.set(t, values[i]!));
  }
  const heads: tf.Tensor2D[] = [];
  for (const g of groups) {
    const out = expertBankForward(
      g,
      known.get(g.parent) as tf.Tensor2D,
      known.get(g.gateParent) as tf.Tensor2D,
      { parent: g.parent !== input, gateParent: g.gateParent !== input },
    );
    if ('heads' in out) heads.push(out.heads);
    else g.mixes.forEach((m, i) => known.set(m, out.mixes[i]!));
  }
  // Only the input among the model's outputs (every task's head is computed by a bank): nothing to run.
  if (model.outputs.length === 1 && model.outputs[0] === input) return { outputs: [x], heads };
  const fed = Object.create(model, { inputs: { value: [...known.keys()] } }) as Callable;
  return { outputs: list(fed.call([...known.values()], kwargs)), heads };
}
