import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { envVar } from '../platform/index.js';
import { hasChains } from '../schema/chains.js';
import { wasmKernelsVeto } from '../backend/kernel-patch.js';
import { EPSILON } from './loss-registry.js';
import { DENSE_STEP_WASM } from '../backend/wasm/dense_step.wasm.js';
import type { Objective } from './objective.js';
import type { FlatAdam } from './flat-adam.js';
import type { ResolvedFitOptions } from './options.js';

/**
 * The fast step (issue 18): a whole training epoch of a plain dense network — one chain of Dense
 * layers (relu, tanh, sigmoid or linear) from the input, and Dense or fused (MultiHead) heads on
 * its last layer — with the static balancer, no penalty and Adam / AdamW, computed on flat
 * Float32Array buffers without the tfjs engine: per step, the batch's rows are copied in, each
 * layer's forward product, the masked losses and their gradient, each layer's backward products
 * and the Adam update run as plain loops (small products) or as direct calls of the wasm backend's
 * own fused matrix product (XNNPACK, the routine tfjs's `_FusedMatMul` kernel calls) on buffers of
 * its heap registered once. A step of the seed's Keras model is about 250 tfjs kernel calls, most
 * of its time bookkeeping; here it is none.
 *
 * The weights and Adam's moments live in the fast step's buffers during an epoch only: they are
 * read from the model's variables and the optimizer (FlatAdam) when the epoch starts and written
 * back when it ends, before anything outside the step can observe them (validation, metrics,
 * callbacks, checkpoints, early stopping), so saved models, checkpoints and predictions do not
 * change. The tfjs step stays the reference (tests compare the weights after N steps) and runs
 * everything else: other layers (dropout, batch norm, gates, towers...), other balancers,
 * penalties and regularisers, gradient clipping, other optimizers, other backends.
 *
 * MTGRAPH_FAST_STEP=off turns it off (or `configureFastStep('off')`).
 */

let setting: 'on' | 'off' | undefined;

/** Turns the fast step on or off for the next runs; undefined goes back to MTGRAPH_FAST_STEP (default on). */
export function configureFastStep(value: 'on' | 'off' | undefined): void {
  setting = value;
}

function enabled(): boolean {
  return (setting ?? (envVar('MTGRAPH_FAST_STEP') === 'off' ? 'off' : 'on')) === 'on';
}

/** Products with at most this many multiply-adds run as JavaScript loops (a wasm call costs more). */
const SMALL_PRODUCT = 48 * 1024;

type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear';
const ACTIVATIONS: ReadonlySet<string> = new Set(['relu', 'tanh', 'sigmoid', 'linear']);
type LossKind = 'mse' | 'bce' | 'ce';
/** The (loss, head activation) pairs the step computes. */
const LOSSES: Readonly<Record<string, { activation: string; kind: LossKind }>> = {
  mse: { activation: 'linear', kind: 'mse' },
  'binary-crossentropy': { activation: 'sigmoid', kind: 'bce' },
  crossentropy: { activation: 'softmax', kind: 'ce' },
};

interface DenseLike extends tf.layers.Layer {
  units: number;
  useBias: boolean;
  kernel: { read(): tf.Variable };
  bias?: { read(): tf.Variable };
  activation: { getClassName(): string };
}
interface MultiHeadLike extends tf.layers.Layer {
  units: number[];
  mean?: number[];
  std?: number[];
}

/** One buffer in the fast step's memory: a float offset, a size, and (wasm) its registered id. */
interface Buf {
  at: number;
  size: number;
  id: number;
}

/** One dense layer: its weights' slots in the flat parameter layout and its activation. */
interface Layer {
  inputs: number;
  units: number;
  activation: Activation;
  W: Buf;
  b: Buf;
  gW: Buf;
  gb: Buf;
  /** W transposed, for the input gradient (one buffer per layer: see `product`). */
  WT: Buf;
}

/** One task of the objective (training order): where its columns are and how its loss is computed. */
interface TaskSlot {
  kind: LossKind;
  /** First column of its outputs in the heads' output Z, and their number. */
  z: number;
  units: number;
  /** Its label (and mask) column in the packed labels. */
  label: number;
  weight: number;
}

/** What the fast step reads of the wasm backend. */
interface WasmLike {
  wasm: {
    HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: {
      registerTensor(id: number, size: number, offset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdNextNumber: number;
}

/** The epoch's training sums as fit reads them: `[num, den, weights, finite steps (T each), objective, penalty, finite gradients]` and the first bad steps. */
export interface FastEpoch {
  acc: Float32Array;
  firstBad: Float32Array;
  steps: number;
}

/** Why a model is not covered (undefined: covered), for tests and notes. */
export function fastStepRefusal(
  model: MtgraphModel,
  objective: Objective,
  opts: ResolvedFitOptions,
  hasPenalty: boolean,
): string | undefined {
  if (!enabled()) return 'turned off';
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') return `backend ${backend}`;
  if (backend === 'wasm' && wasmKernelsVeto() !== undefined) return 'untested tfjs version';
  if (opts.balance !== 'static') return `balance ${opts.balance}`;
  if (hasPenalty) return 'a penalty or regulariser';
  const o = opts.optimizer;
  if (o.name !== 'adam' && o.name !== 'adamw') return `optimizer ${o.name}`;
  if (o.clipNorm !== undefined || o.clipValue !== undefined) return 'gradient clipping';
  if (hasChains(model.plan.tasks)) return 'task chains';
  if (model.plan.couplings.length > 0 || model.plan.gates.length > 0) return 'couplings or gates';
  return structureOf(model, objective) ? undefined : 'layers other than one dense chain and heads';
}

interface Structure {
  /** Trunk Dense layers in order, then the head layers (their Z columns in order). */
  trunk: DenseLike[];
  heads: Array<{ layer: tf.layers.Layer; kernel: tf.Variable; bias: tf.Variable; width: number }>;
  tasks: TaskSlot[];
}

function isDense(l: tf.layers.Layer): l is DenseLike {
  return l.getClassName() === 'Dense' && (l as DenseLike).useBias;
}
const activationOf = (l: DenseLike) => l.activation.getClassName().toLowerCase();

/** The model as a dense chain with heads on its last layer, or undefined when it is not one. */
function structureOf(model: MtgraphModel, objective: Objective): Structure | undefined {
  const m = model.model;
  if (m.inputs.length !== 1) return undefined;
  const trunk: DenseLike[] = [];
  const heads: Structure['heads'] = [];
  /** Where each model output's columns start in Z, and their activation (plan order). */
  const columns = new Map<number, number>();
  const layers = m.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const outputLayers = new Set(m.outputs.map((o) => o.sourceLayer));
  // The trunk: Dense layers each reading the previous one, none an output.
  let tip = m.inputs[0] as tf.SymbolicTensor;
  for (;;) {
    const next = layers.filter(
      (l) => l.inboundNodes.some((n) => n.inputTensors.includes(tip)) && !outputLayers.has(l),
    );
    const dense = next.length === 1 && isDense(next[0]!) ? next[0]! : undefined;
    const readers = layers.filter((l) => l.inboundNodes.some((n) => n.inputTensors.includes(tip)));
    if (!dense || readers.length !== 1) break;
    if (!ACTIVATIONS.has(activationOf(dense as DenseLike))) return undefined;
    if (dense.inboundNodes.length !== 1 || dense.getClassName() !== 'Dense') return undefined;
    trunk.push(dense as DenseLike);
    tip = dense.output as tf.SymbolicTensor;
  }
  // Every other layer: a Dense head on the tip (an output), or a MultiHead on it read by Columns.
  let width = 0;
  const rest = layers.filter((l) => !trunk.includes(l as DenseLike));
  const columnLayers = rest.filter((l) => l.getClassName() === 'MtgraphColumns');
  for (const l of rest) {
    if (l.inboundNodes.length !== 1 || l.inboundNodes[0]!.inputTensors.length !== 1)
      return undefined;
    const reads = l.inboundNodes[0]!.inputTensors[0];
    const cls = l.getClassName();
    if (cls === 'MtgraphColumns') continue;
    if (reads !== tip) return undefined;
    if (cls === 'Dense' && isDense(l) && outputLayers.has(l)) {
      const idx = m.outputs.findIndex((o) => o.sourceLayer === l);
      columns.set(idx, width);
      heads.push({ layer: l, kernel: l.kernel.read(), bias: l.bias!.read(), width: l.units });
      width += l.units;
    } else if (cls === 'MtgraphMultiHead') {
      const mh = l as MultiHeadLike;
      if (mh.mean !== undefined || mh.std !== undefined) return undefined;
      const [kernel, bias] = l.trainableWeights.map((w) => w.read() as tf.Variable);
      if (!kernel || !bias || l.trainableWeights.length !== 2) return undefined;
      const total = mh.units.reduce((a, b) => a + b, 0);
      for (const c of columnLayers) {
        if (c.inboundNodes[0]!.inputTensors[0] !== l.output) continue;
        const idx = m.outputs.findIndex((o) => o.sourceLayer === c);
        if (idx < 0) return undefined;
        columns.set(idx, width + (c as unknown as { begin: number }).begin);
      }
      heads.push({ layer: l, kernel, bias, width: total });
      width += total;
    } else return undefined;
  }
  // One head layer (a MultiHead, or a single Dense head): its output is Z.
  if (trunk.length === 0 || heads.length !== 1) return undefined;
  // Every trainable variable is a trunk or head weight.
  const known = new Set<tf.Variable>([
    ...trunk.flatMap((d) => [d.kernel.read(), d.bias!.read()]),
    ...heads.flatMap((h) => [h.kernel, h.bias]),
  ]);
  if (
    model.trainableVariables.length !== known.size ||
    !model.trainableVariables.every((v) => known.has(v)) ||
    m.trainable === false
  )
    return undefined;
  const tasks: TaskSlot[] = [];
  let label = 0;
  for (let t = 0; t < objective.order.length; t++) {
    const task = objective.tasks[t]!;
    const head = model.plan.heads[task.id];
    const rule = LOSSES[task.loss];
    const z = columns.get(objective.outputs[t]!);
    if (!head || !rule || z === undefined || head.activation !== rule.activation) return undefined;
    if (head.scale) return undefined;
    const labelWidth = objective.widths[t]!;
    if (rule.kind !== 'ce' && labelWidth !== head.units) return undefined;
    if (rule.kind === 'ce' && labelWidth !== 1) return undefined;
    if (rule.kind !== 'ce' && head.units !== 1) return undefined;
    tasks.push({ kind: rule.kind, z, units: head.units, label, weight: task.weight });
    label += labelWidth;
  }
  return { trunk, heads, tasks };
}

/**
 * The fast step of a run, or undefined when the model, the options or the backend are not covered
 * (fit then runs its tfjs step). `x`, `y`, `mask`: the training data (fit's tensors).
 */
export function createFastStep(
  model: MtgraphModel,
  objective: Objective,
  opts: ResolvedFitOptions,
  hasPenalty: boolean,
  optimizer: tf.Optimizer,
  data: { x: tf.Tensor2D; y: tf.Tensor2D; mask: tf.Tensor2D },
): FastStep | undefined {
  if (fastStepRefusal(model, objective, opts, hasPenalty) !== undefined) return undefined;
  const s = structureOf(model, objective)!;
  return new FastStep(model, s, objective, opts, optimizer as FlatAdam, data);
}

/** One run's fast step: owns its buffers (free them with `dispose`). */
export class FastStep {
  private readonly wasm: WasmLike | undefined;
  private heap: Float32Array;
  private readonly base: number;
  private readonly ids: number[] = [];
  private readonly matMul: ((...args: unknown[]) => void) | undefined;
  private readonly transpose: ((...args: unknown[]) => void) | undefined;
  /** The SIMD module (src/backend/wasm/dense_step.wat) on the wasm heap, when it loads. */
  private readonly simd: DenseSimd | undefined;
  private readonly layers: Layer[];
  private readonly head: Layer;
  private readonly tasks: TaskSlot[];
  /** Flat parameters, gradients and moments, in the model's trainableVariables order. */
  private readonly P: Buf;
  private readonly G: Buf;
  private readonly M: Buf;
  private readonly V: Buf;
  /** Activations: A[0] the batch's features, A[l + 1] layer l's output; Z the heads' outputs. */
  private readonly A: Buf[];
  private readonly Z: Buf;
  /** Gradients of each activation (same shapes), dZ for Z. */
  private readonly dA: Buf[];
  private readonly dZ: Buf;
  /** Scratch for an activation's transpose. */
  private readonly T1: Buf;
  private readonly Yb: Float32Array;
  private readonly Mb: Float32Array;
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly mask: Float32Array;
  private readonly features: number;
  private readonly labels: number;
  private readonly variables: tf.Variable[];
  private readonly offsets: number[];
  private readonly batch: number;
  private readonly decay: number;
  private readonly weighted: boolean;

  constructor(
    model: MtgraphModel,
    s: Structure,
    objective: Objective,
    opts: ResolvedFitOptions,
    private readonly optimizer: FlatAdam,
    data: { x: tf.Tensor2D; y: tf.Tensor2D; mask: tf.Tensor2D },
  ) {
    this.x = data.x.dataSync() as Float32Array;
    this.y = data.y.dataSync() as Float32Array;
    this.mask = data.mask.dataSync() as Float32Array;
    this.features = data.x.shape[1];
    this.labels = data.y.shape[1];
    this.tasks = s.tasks;
    this.weighted = objective.weighted;
    this.batch = Math.min(opts.batchSize, data.x.shape[0]);
    this.decay = opts.optimizer.name === 'adamw' ? (opts.optimizer.weightDecay ?? 0) : 0;
    this.variables = model.trainableVariables;
    const sizes = this.variables.map((v) => v.size);
    this.offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    const B = this.batch;
    const widths = [this.features, ...s.trunk.map((d) => d.units)];
    const Zw = s.heads.reduce((a, h) => a + h.width, 0);
    // Every buffer in one block (float offsets, each at a 16-byte boundary).
    let used = 0;
    const bufs: Buf[] = [];
    const mk = (size: number): Buf => {
      const b: Buf = { at: used, size, id: 0 };
      used += Math.ceil(size / 4) * 4;
      bufs.push(b);
      return b;
    };
    this.P = mk(total);
    this.G = mk(total);
    this.M = mk(total);
    this.V = mk(total);
    const slot = (p: Buf, v: tf.Variable): Buf => {
      const i = this.variables.indexOf(v);
      const b: Buf = { at: p.at + this.offsets[i]!, size: sizes[i]!, id: 0 };
      bufs.push(b);
      return b;
    };
    const layerOf = (
      kernel: tf.Variable,
      bias: tf.Variable,
      inputs: number,
      units: number,
      activation: Activation,
    ): Layer => ({
      inputs,
      units,
      activation,
      W: slot(this.P, kernel),
      b: slot(this.P, bias),
      gW: slot(this.G, kernel),
      gb: slot(this.G, bias),
      WT: mk(inputs * units),
    });
    this.layers = s.trunk.map((d, l) =>
      layerOf(d.kernel.read(), d.bias!.read(), widths[l]!, d.units, activationOf(d) as Activation),
    );
    const h = s.heads[0]!;
    this.head = layerOf(h.kernel, h.bias, widths.at(-1)!, h.width, 'linear');
    this.A = widths.map((w) => mk(B * w));
    this.dA = widths.map((w, l) => (l === 0 ? this.A[0]! : mk(B * w)));
    this.Z = mk(B * Zw);
    this.dZ = mk(B * Zw);
    this.T1 = mk(Math.max(...widths.map((w) => B * w)));
    this.Yb = new Float32Array(B * this.labels);
    this.Mb = new Float32Array(B * this.labels);
    const be = tf.backend() as unknown as WasmLike;
    if (tf.getBackend() === 'wasm' && be.wasm) {
      this.wasm = be;
      this.base = be.wasm._malloc(used * 4);
      for (const b of bufs) {
        b.id = be.dataIdNextNumber++;
        be.wasm.tfjs.registerTensor(b.id, b.size, this.base + b.at * 4);
        this.ids.push(b.id);
        b.at += this.base / 4;
      }
      this.heap = be.wasm.HEAPF32;
      this.heap.fill(0, this.base / 4, this.base / 4 + used);
      this.simd = denseSimd(be);
      this.matMul = be.wasm.cwrap('_FusedMatMul', null, [
        'number',
        'array',
        'number',
        'number',
        'array',
        'number',
        'number',
        'number',
        'number',
        'number',
        'number',
        'number',
        'number',
      ]);
      this.transpose = be.wasm.cwrap('Transpose', null, [
        'number',
        'array',
        'number',
        'number',
        'number',
        'array',
        'number',
      ]);
    } else {
      this.wasm = undefined;
      this.base = 0;
      this.heap = new Float32Array(used);
      this.simd = undefined;
      this.matMul = undefined;
      this.transpose = undefined;
    }
  }

  /** The heap view (wasm memory may have grown since the last call). */
  private view(): Float32Array {
    if (this.wasm && this.heap.buffer !== this.wasm.wasm.HEAPF32.buffer)
      this.heap = this.wasm.wasm.HEAPF32;
    return this.heap;
  }

  /**
   * C[M, N] = act(A[M, K] · B[K, N] + bias). tfjs's wasm product keeps an XNNPACK operator per
   * right operand (by its id), which packs B and the bias when it is made: B's and the bias's ids
   * are registered anew before each product (`renew`), so that the operator is made from their
   * values now, as tfjs's kernel makes one for every new weight tensor.
   */
  private product(
    A: Buf,
    B: Buf,
    C: Buf,
    M: number,
    K: number,
    N: number,
    bias?: Buf,
    activation: Activation = 'linear',
  ): void {
    if (this.matMul && M * K * N > SMALL_PRODUCT && activation !== 'tanh') {
      const fused = activation === 'relu' ? 1 : activation === 'sigmoid' ? 5 : 0;
      this.renew(B);
      if (bias) this.renew(bias);
      this.matMul(
        A.id,
        shape3(M, K),
        3,
        B.id,
        shape3(K, N),
        3,
        0,
        0,
        fused,
        bias?.id ?? 0,
        0,
        0,
        C.id,
      );
      this.view();
      return;
    }
    const h = this.view();
    const a0 = A.at;
    const b0 = B.at;
    const c0 = C.at;
    for (let i = 0; i < M; i++) {
      const c = c0 + i * N;
      if (bias) for (let j = 0; j < N; j++) h[c + j] = h[bias.at + j]!;
      else h.fill(0, c, c + N);
      for (let p = 0; p < K; p++) {
        const a = h[a0 + i * K + p]!;
        if (a === 0) continue;
        const b = b0 + p * N;
        for (let j = 0; j < N; j++) h[c + j] = h[c + j]! + a * h[b + j]!;
      }
    }
    if (activation !== 'linear') activate(h, C.at, M * N, activation);
  }

  /** to[j] = sum over the rows of from[i, j]. */
  private columnSums(from: Buf, to: Buf, rows: number, cols: number): void {
    const h = this.view();
    if (this.simd && cols % 4 === 0) this.simd.colsum(from.at * 4, to.at * 4, rows, cols);
    else columnSums(h, from.at, to.at, rows, cols);
  }

  /** Registers a buffer again under its id: tfjs's wasm backend drops what it cached for the id. */
  private renew(b: Buf): void {
    const tfjs = this.wasm!.wasm.tfjs;
    tfjs.disposeData(b.id);
    tfjs.registerTensor(b.id, b.size, b.at * 4);
  }

  /** Out[C, R] = In[R, C]ᵀ. */
  private transposeInto(In: Buf, Out: Buf, R: number, C: number): void {
    if (this.simd && R % 4 === 0 && C % 4 === 0) {
      this.view();
      this.simd.transpose(In.at * 4, Out.at * 4, R, C);
      return;
    }
    if (this.transpose) {
      this.transpose(In.id, shape2(R, C), 2, 0, Out.id, PERM, 2);
      this.view();
      return;
    }
    const h = this.view();
    for (let r = 0; r < R; r++)
      for (let c = 0; c < C; c++) h[Out.at + c * R + r] = h[In.at + r * C + c]!;
  }

  /** dW[K, N] = A[M, K]ᵀ · D[M, N]. */
  private weightGradient(A: Buf, D: Buf, dW: Buf, M: number, K: number, N: number): void {
    if (this.matMul && M * K * N > SMALL_PRODUCT) {
      this.transposeInto(A, this.T1, M, K);
      this.product(this.T1, D, dW, K, M, N);
      return;
    }
    const h = this.view();
    h.fill(0, dW.at, dW.at + K * N);
    for (let i = 0; i < M; i++) {
      const d = D.at + i * N;
      for (let p = 0; p < K; p++) {
        const a = h[A.at + i * K + p]!;
        if (a === 0) continue;
        const w = dW.at + p * N;
        for (let j = 0; j < N; j++) h[w + j] = h[w + j]! + a * h[d + j]!;
      }
    }
  }

  /** dA[M, K] = D[M, N] · W[K, N]ᵀ (WT: a buffer for Wᵀ, always the same for W). */
  private inputGradient(D: Buf, W: Buf, WT: Buf, dA: Buf, M: number, K: number, N: number): void {
    if (this.matMul && M * K * N > SMALL_PRODUCT) {
      this.transposeInto(W, WT, K, N);
      this.product(D, WT, dA, M, N, K);
      return;
    }
    const h = this.view();
    for (let i = 0; i < M; i++) {
      const d = D.at + i * N;
      for (let p = 0; p < K; p++) {
        const w = W.at + p * N;
        let s = 0;
        for (let j = 0; j < N; j++) s += h[d + j]! * h[w + j]!;
        h[dA.at + i * K + p] = s;
      }
    }
  }

  /** Reads the weights from the model's variables and Adam's state from the optimizer. */
  private load(): number {
    const h = this.view();
    this.variables.forEach((v, i) =>
      h.set(v.dataSync() as Float32Array, this.P.at + this.offsets[i]!),
    );
    const state = this.optimizer.flatState();
    if (state) {
      h.set(state.m, this.M.at);
      h.set(state.v, this.V.at);
    } else {
      h.fill(0, this.M.at, this.M.at + this.M.size);
      h.fill(0, this.V.at, this.V.at + this.V.size);
    }
    return this.optimizer.iterations;
  }

  /** Writes the weights back to the model's variables and Adam's state to the optimizer. */
  private store(iterations: number): void {
    const h = this.view();
    tf.tidy(() => {
      this.variables.forEach((v, i) => {
        const at = this.P.at + this.offsets[i]!;
        v.assign(tf.tensor(h.slice(at, at + v.size), v.shape, 'float32'));
      });
    });
    this.optimizer.setFlatState(
      this.variables,
      h.slice(this.M.at, this.M.at + this.M.size),
      h.slice(this.V.at, this.V.at + this.V.size),
      iterations,
    );
  }

  /**
   * One epoch over the rows in `perm`, `batchSize` rows a step; `beforeStep(step)` sets the
   * learning rate. Returns the sums fit's tfjs step would have folded.
   */
  epoch(perm: Int32Array, batchSize: number, beforeStep: (step: number) => void): FastEpoch {
    const T = this.tasks.length;
    const acc = new Float64Array(4 * T + 3);
    const firstBad = new Float32Array(T + 1).fill(2 ** 30);
    let iterations = this.load();
    const n = perm.length;
    let steps = 0;
    try {
      for (let start = 0; start < n; start += batchSize, steps++) {
        const size = Math.min(batchSize, n - start);
        beforeStep(steps);
        iterations++;
        const finite = this.step(perm, start, size, iterations, acc);
        for (let t = 0; t <= T; t++) if (!finite[t] && firstBad[t] === 2 ** 30) firstBad[t] = steps;
      }
    } finally {
      this.store(iterations);
    }
    return { acc: Float32Array.from(acc), firstBad, steps };
  }

  private readonly finite: boolean[] = [];

  /** One step: forward, loss, backward, Adam. Adds its record to `acc`; returns per task (and the gradients) whether finite. */
  private step(
    perm: Int32Array,
    start: number,
    size: number,
    iteration: number,
    acc: Float64Array,
  ): boolean[] {
    const F = this.features;
    const L = this.labels;
    const { x, y, mask, Yb, Mb } = this;
    let h = this.view();
    const X = this.A[0]!;
    // Always a full batch: a shorter last batch is padded with rows of zeros and no label (no loss, no gradient).
    const B = this.batch;
    if (size < B) {
      h.fill(0, X.at + size * F, X.at + B * F);
      Yb.fill(0, size * L);
      Mb.fill(0, size * L);
    }
    for (let i = 0; i < size; i++) {
      const r = perm[start + i]!;
      const xr = r * F;
      const xb = X.at + i * F;
      for (let k = 0; k < F; k++) h[xb + k] = x[xr + k]!;
      const yr = r * L;
      const yb = i * L;
      for (let k = 0; k < L; k++) {
        Yb[yb + k] = y[yr + k]!;
        Mb[yb + k] = mask[yr + k]!;
      }
    }
    // Forward.
    this.layers.forEach((l, i) =>
      this.product(this.A[i]!, l.W, this.A[i + 1]!, B, l.inputs, l.units, l.b, l.activation),
    );
    const top = this.A[this.layers.length]!;
    const hd = this.head;
    this.product(top, hd.W, this.Z, B, hd.inputs, hd.units, hd.b);
    h = this.view();
    // Losses and their gradient on Z.
    const T = this.tasks.length;
    const Zw = hd.units;
    const z0 = this.Z.at;
    const d0 = this.dZ.at;
    h.fill(0, d0, d0 + B * Zw);
    let objective = 0;
    const finite = this.finite;
    for (let t = 0; t < T; t++) {
      const task = this.tasks[t]!;
      let den = 0;
      for (let i = 0; i < B; i++) {
        const m = Mb[i * L + task.label]!;
        den += this.weighted ? (m > 0 ? 1 : 0) : m;
      }
      const coef = task.weight / Math.max(den, 1);
      let num = 0;
      for (let i = 0; i < B; i++) {
        const m = Mb[i * L + task.label]!;
        const yv = Yb[i * L + task.label]!;
        const zi = z0 + i * Zw + task.z;
        const di = d0 + i * Zw + task.z;
        if (task.kind === 'mse') {
          const e = h[zi]! - yv;
          num += m * e * e;
          h[di] = coef * m * 2 * e;
        } else if (task.kind === 'bce') {
          const p = 1 / (1 + Math.exp(-h[zi]!));
          const q = p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
          num += m * -(yv * Math.log(q) + (1 - yv) * Math.log(1 - q));
          h[di] = q === p ? coef * m * (p - yv) : 0;
          if (Number.isNaN(p)) h[di] = NaN;
        } else {
          const u = task.units;
          let max = -Infinity;
          for (let k = 0; k < u; k++) max = Math.max(max, h[zi + k]!);
          let sum = 0;
          for (let k = 0; k < u; k++) sum += Math.exp(h[zi + k]! - max);
          const c = yv | 0;
          const picked = Math.exp(h[zi + c]! - max) / sum;
          num += m * -Math.log(picked < EPSILON ? EPSILON : picked > 1 ? 1 : picked);
          if (picked >= EPSILON && m !== 0) {
            for (let k = 0; k < u; k++)
              h[di + k] = coef * m * (Math.exp(h[zi + k]! - max) / sum - (k === c ? 1 : 0));
          } else if (!Number.isFinite(picked)) for (let k = 0; k < u; k++) h[di + k] = NaN;
        }
      }
      // In float32, as tfjs sums it: a sum beyond float32's range is not finite there either.
      num = Math.fround(num);
      acc[t] = acc[t]! + num;
      acc[T + t] = acc[T + t]! + den;
      acc[2 * T + t] = acc[2 * T + t]! + task.weight;
      finite[t] = Number.isFinite(num);
      if (finite[t]) acc[3 * T + t] = acc[3 * T + t]! + 1;
      objective += task.weight * (num / Math.max(den, 1));
    }
    acc[4 * T] = acc[4 * T]! + objective * size;
    // Backward: the heads, then each layer from the top.
    this.weightGradient(top, this.dZ, hd.gW, B, hd.inputs, hd.units);
    this.columnSums(this.dZ, hd.gb, B, hd.units);
    let dTop: Buf = this.dA[this.layers.length]!;
    this.inputGradient(this.dZ, hd.W, hd.WT, dTop, B, hd.inputs, hd.units);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i]!;
      if (this.simd && l.activation === 'relu' && l.units % 4 === 0) {
        // The relu's gradient and the bias gradient in one pass.
        this.view();
        this.simd.reluback(this.A[i + 1]!.at * 4, dTop.at * 4, l.gb.at * 4, B, l.units);
      } else {
        backActivation(this.view(), this.A[i + 1]!.at, dTop.at, B * l.units, l.activation);
        this.columnSums(dTop, l.gb, B, l.units);
      }
      this.weightGradient(this.A[i]!, dTop, l.gW, B, l.inputs, l.units);
      if (i > 0) {
        this.inputGradient(dTop, l.W, l.WT, this.dA[i]!, B, l.inputs, l.units);
        dTop = this.dA[i]!;
      }
    }
    // Adam (AdamW: the decoupled decay first, as fit's update knobs apply it).
    h = this.view();
    const o = this.optimizer;
    const lr = o.learningRate;
    const b1 = o.beta1;
    const b2 = o.beta2;
    const c1 = 1 - b1 ** iteration;
    const c2 = 1 - b2 ** iteration;
    const eps = o.epsilon;
    const keep = 1 - lr * this.decay;
    const { P, G, M, V } = this;
    let probe = 0;
    if (this.simd) {
      // P, G, M and V are padded to a multiple of 4 with zeros (no step there).
      const n = Math.ceil(P.size / 4) * 4;
      probe = this.simd.adam(
        P.at * 4,
        G.at * 4,
        M.at * 4,
        V.at * 4,
        n,
        b1,
        b2,
        c1,
        c2,
        lr,
        eps,
        keep,
      );
    } else
      for (let k = 0; k < P.size; k++) {
        const g = h[G.at + k]!;
        probe += g * 0;
        const m = b1 * h[M.at + k]! + (1 - b1) * g;
        const v = b2 * h[V.at + k]! + (1 - b2) * g * g;
        h[M.at + k] = m;
        h[V.at + k] = v;
        const p = this.decay ? h[P.at + k]! * keep : h[P.at + k]!;
        h[P.at + k] = p - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
      }
    finite[T] = Number.isFinite(probe);
    if (finite[T]) acc[4 * T + 2] = acc[4 * T + 2]! + 1;
    return finite;
  }

  /** Frees the buffers (and, on wasm, the ids registered for them). */
  dispose(): void {
    if (!this.wasm) return;
    for (const id of this.ids) this.wasm.wasm.tfjs.disposeData(id);
    this.wasm.wasm._free(this.base);
  }
}

type I = number;
/** The exports of src/backend/wasm/dense_step.wat (byte addresses). */
interface DenseSimd {
  adam(p: I, g: I, m: I, v: I, n: I, b1: I, b2: I, c1: I, c2: I, lr: I, eps: I, keep: I): number;
  colsum(src: I, dst: I, rows: I, cols: I): void;
  reluback(a: I, d: I, db: I, rows: I, cols: I): void;
  transpose(src: I, dst: I, R: I, C: I): void;
}
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;
const simdModules = new WeakMap<object, DenseSimd | null>();

/** The SIMD module bound to the wasm backend's memory, or undefined (a shared memory, no SIMD). */
function denseSimd(backend: unknown): DenseSimd | undefined {
  const memory = (backend as { wasm?: { asm?: { memory?: { buffer: ArrayBufferLike } } } }).wasm
    ?.asm?.memory;
  if (!memory) return undefined;
  let simd = simdModules.get(memory);
  if (simd === undefined) {
    try {
      if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)
        throw new Error('shared memory');
      const bytes = Uint8Array.from(
        (globalThis as unknown as { atob(s: string): string }).atob(DENSE_STEP_WASM),
        (c) => c.charCodeAt(0),
      );
      const module = new WebAssemblyApi.Module(bytes);
      simd = new WebAssemblyApi.Instance(module, { env: { memory } })
        .exports as unknown as DenseSimd;
    } catch {
      simd = null;
    }
    simdModules.set(memory, simd);
  }
  return simd ?? undefined;
}

const PERM = new Uint8Array(new Int32Array([1, 0]).buffer);
function shape2(a: number, b: number): Uint8Array {
  return new Uint8Array(new Int32Array([a, b]).buffer);
}
function shape3(a: number, b: number): Uint8Array {
  return new Uint8Array(new Int32Array([1, a, b]).buffer);
}

function activate(h: Float32Array, at: number, n: number, activation: Activation): void {
  if (activation === 'relu')
    for (let i = at; i < at + n; i++) h[i] = h[i]! < 0 ? 0 : h[i]!; // NaN stays NaN, as tfjs's relu
  else if (activation === 'tanh') for (let i = at; i < at + n; i++) h[i] = Math.tanh(h[i]!);
  else if (activation === 'sigmoid')
    for (let i = at; i < at + n; i++) h[i] = 1 / (1 + Math.exp(-h[i]!));
}

/** d ← d · act'(pre), from the activation's output `a`. */
function backActivation(
  h: Float32Array,
  a: number,
  d: number,
  n: number,
  activation: Activation,
): void {
  if (activation === 'relu') {
    for (let i = 0; i < n; i++) if (!(h[a + i]! > 0)) h[d + i] = 0;
  } else if (activation === 'tanh') {
    for (let i = 0; i < n; i++) h[d + i] = h[d + i]! * (1 - h[a + i]! * h[a + i]!);
  } else if (activation === 'sigmoid') {
    for (let i = 0; i < n; i++) h[d + i] = h[d + i]! * h[a + i]! * (1 - h[a + i]!);
  }
}

function columnSums(h: Float32Array, from: number, to: number, rows: number, cols: number): void {
  h.fill(0, to, to + cols);
  for (let i = 0; i < rows; i++) {
    const r = from + i * cols;
    for (let j = 0; j < cols; j++) h[to + j] = h[to + j]! + h[r + j]!;
  }
}
