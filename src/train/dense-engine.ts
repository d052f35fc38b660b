import * as tf from '@tensorflow/tfjs';
import { EPSILON } from './loss-registry.js';
import { DENSE_STEP_WASM } from '../backend/wasm/dense_step.wasm.js';
import { heapModule } from '../backend/heap-module.js';

/**
 * The arithmetic of the fast step (fast-step.ts) on one batch, on flat buffers: a chain of dense
 * layers and one head layer, forward, the masked losses and their gradient, backward, and Adam,
 * described by plain numbers (`EngineSpec`) so that a worker thread can run the same arithmetic
 * on its half of a batch. On the wasm backend the buffers are one block of its heap, registered
 * under tensor ids, and large products are direct calls of the backend's own fused product
 * (XNNPACK); the element-wise work runs in a small SIMD module (src/backend/wasm/dense_step.wat).
 * On the cpu backend (and for small products) it is plain loops over a Float32Array.
 */

/** Products with at most this many multiply-adds run as JavaScript loops (a wasm call costs more). */
const SMALL_PRODUCT = 48 * 1024;

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear';
export type LossKind = 'mse' | 'bce' | 'ce';

/** One task of the objective (training order): where its columns are and how its loss is computed. */
export interface TaskSlot {
  kind: LossKind;
  /** First column of its outputs in the heads' output Z, and their number. */
  z: number;
  units: number;
  /** Its label (and mask) column in the packed labels. */
  label: number;
  weight: number;
}

/** What the engine computes, in plain numbers (a worker receives it as it is). */
export interface EngineSpec {
  features: number;
  /** Packed label columns. */
  labels: number;
  /** Rows of a batch (shorter batches are padded). */
  batch: number;
  /** The mask holds sample weights: a task's count is its entries with weight > 0. */
  weighted: boolean;
  /** Sizes of the parts of the flat parameter vector (the model's trainable variables, in order). */
  sizes: number[];
  /** The trunk's layers; W and b index `sizes`. */
  layers: Array<{ inputs: number; units: number; activation: Activation; W: number; b: number }>;
  /** The head layer (linear; each task's activation is part of its loss). */
  head: { inputs: number; units: number; W: number; b: number };
  tasks: TaskSlot[];
}

/** One buffer in the engine's memory: a float offset, a size, and (wasm) its registered id. */
interface Buf {
  at: number;
  size: number;
  id: number;
}

/** One dense layer's buffers. */
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

/** What the engine reads of the wasm backend. */
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

/** The rows of a step each of two threads takes: the main thread the first half (rounded up), the worker the rest. */
export function halves(size: number): { main: number; worker: number } {
  const main = Math.ceil(size / 2);
  return { main, worker: size - main };
}

/** Per task, the count of labelled entries (over its label columns) of the rows `perm[start .. start + size)` (weights > 0 when weighted). */
export function labelCounts(
  spec: EngineSpec,
  mask: Float32Array,
  perm: Int32Array,
  start: number,
  size: number,
  out: Float64Array,
): void {
  const L = spec.labels;
  spec.tasks.forEach((task, t) => {
    // Every label column of the task (one for a class index, one per output otherwise).
    const width = task.kind === 'ce' ? 1 : task.units;
    let den = 0;
    for (let i = 0; i < size; i++) {
      const row = perm[start + i]! * L + task.label;
      for (let k = 0; k < width; k++) {
        const m = mask[row + k]!;
        den += spec.weighted ? (m > 0 ? 1 : 0) : m;
      }
    }
    out[t] = den;
  });
}

/** The engine of one thread: owns its buffers (free them with `dispose`). */
export class DenseEngine {
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
  /** Flat parameters, gradients and moments, in the spec's `sizes` order. */
  private readonly P: Buf;
  private readonly G: Buf;
  private readonly M: Buf;
  private readonly V: Buf;
  /** Another thread's gradients, copied in to be added to G (two-thread steps). */
  private readonly G2: Buf;
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
  private readonly features: number;
  private readonly labels: number;
  private readonly batch: number;
  /** Sum of the parameter sizes. */
  readonly total: number;

  constructor(spec: EngineSpec) {
    this.features = spec.features;
    this.labels = spec.labels;
    this.tasks = spec.tasks;
    this.batch = spec.batch;
    const sizes = spec.sizes;
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    this.total = total;
    const B = this.batch;
    const widths = [this.features, ...spec.layers.map((l) => l.units)];
    const Zw = spec.head.units;
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
    this.G2 = mk(total);
    const slot = (p: Buf, i: number): Buf => {
      const b: Buf = { at: p.at + offsets[i]!, size: sizes[i]!, id: 0 };
      bufs.push(b);
      return b;
    };
    const layerOf = (
      l: { inputs: number; units: number; W: number; b: number },
      activation: Activation,
    ): Layer => ({
      inputs: l.inputs,
      units: l.units,
      activation,
      W: slot(this.P, l.W),
      b: slot(this.P, l.b),
      gW: slot(this.G, l.W),
      gb: slot(this.G, l.b),
      WT: mk(l.inputs * l.units),
    });
    this.layers = spec.layers.map((l) => layerOf(l, l.activation));
    this.head = layerOf(spec.head, 'linear');
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

  /** A view of the flat parameters (valid until the next call into the engine). */
  params(): Float32Array {
    return this.view().subarray(this.P.at, this.P.at + this.P.size);
  }
  /** A view of the flat gradients (valid until the next call into the engine). */
  grads(): Float32Array {
    return this.view().subarray(this.G.at, this.G.at + this.G.size);
  }
  /** Views of Adam's flat moments (valid until the next call into the engine). */
  moments(): { m: Float32Array; v: Float32Array } {
    const h = this.view();
    return {
      m: h.subarray(this.M.at, this.M.at + this.M.size),
      v: h.subarray(this.V.at, this.V.at + this.V.size),
    };
  }

  /**
   * Copies the rows `perm[start .. start + size)` of the data in; a batch shorter than the
   * engine's is padded with rows of zeros and no label (no loss, no gradient), so that every
   * product has the same shapes.
   */
  gather(
    x: Float32Array,
    y: Float32Array,
    mask: Float32Array,
    perm: Int32Array,
    start: number,
    size: number,
  ): void {
    const F = this.features;
    const L = this.labels;
    const { Yb, Mb } = this;
    const h = this.view();
    const X = this.A[0]!;
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
  }

  /**
   * Forward, the losses and backward on the gathered rows: writes the gradients of
   * `sum_t weight_t * num_t / max(1, dens[t])` (dens: the whole batch's label counts, which may
   * hold rows another engine gathered) and each task's `num` (masked loss sum of these rows).
   */
  forwardBackward(dens: ArrayLike<number>, nums: Float64Array): void {
    const B = this.batch;
    const L = this.labels;
    const { Yb, Mb } = this;
    let h = this.view();
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
    for (let t = 0; t < T; t++) {
      const task = this.tasks[t]!;
      const coef = task.weight / Math.max(dens[t]!, 1);
      let num = 0;
      for (let i = 0; i < B; i++) {
        const zi = z0 + i * Zw + task.z;
        const di = d0 + i * Zw + task.z;
        if (task.kind === 'ce') {
          const m = Mb[i * L + task.label]!;
          const yv = Yb[i * L + task.label]!;
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
          continue;
        }
        // Element-wise losses: one label column per output (multilabel, several regression outputs).
        for (let k = 0; k < task.units; k++) {
          const m = Mb[i * L + task.label + k]!;
          const yv = Yb[i * L + task.label + k]!;
          if (task.kind === 'mse') {
            const e = h[zi + k]! - yv;
            num += m * e * e;
            h[di + k] = coef * m * 2 * e;
          } else {
            const p = 1 / (1 + Math.exp(-h[zi + k]!));
            const q = p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
            num += m * -(yv * Math.log(q) + (1 - yv) * Math.log(1 - q));
            h[di + k] = q === p ? coef * m * (p - yv) : 0;
            if (Number.isNaN(p)) h[di + k] = NaN;
          }
        }
      }
      nums[t] = num;
    }
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
  }

  /**
   * G += `other` (another thread's gradients of the same parameters, e.g. a SharedArrayBuffer's):
   * on wasm copied next to G and added by the SIMD module.
   */
  addGradients(other: Float32Array): void {
    const h = this.view();
    const { G, G2 } = this;
    if (this.simd) {
      h.set(other.subarray(0, G.size), G2.at);
      this.simd.accumulate(G.at * 4, G2.at * 4, Math.ceil(G.size / 4) * 4);
      return;
    }
    for (let k = 0; k < G.size; k++) h[G.at + k] = h[G.at + k]! + other[k]!;
  }

  /**
   * Adam on the flat parameters with the gradients now in G (AdamW: the decoupled decay first, as
   * fit's update knobs apply it). Returns a probe: NaN unless every gradient value was finite.
   */
  adam(
    iteration: number,
    o: { learningRate: number; beta1: number; beta2: number; epsilon: number },
    decay: number,
  ): number {
    const h = this.view();
    const lr = o.learningRate;
    const b1 = o.beta1;
    const b2 = o.beta2;
    const c1 = 1 - b1 ** iteration;
    const c2 = 1 - b2 ** iteration;
    const eps = o.epsilon;
    const keep = 1 - lr * decay;
    const { P, G, M, V } = this;
    if (this.simd) {
      // P, G, M and V are padded to a multiple of 4 with zeros (no step there).
      const n = Math.ceil(P.size / 4) * 4;
      return this.simd.adam(
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
    }
    let probe = 0;
    for (let k = 0; k < P.size; k++) {
      const g = h[G.at + k]!;
      probe += g * 0;
      const m = b1 * h[M.at + k]! + (1 - b1) * g;
      const v = b2 * h[V.at + k]! + (1 - b2) * g * g;
      h[M.at + k] = m;
      h[V.at + k] = v;
      const p = decay ? h[P.at + k]! * keep : h[P.at + k]!;
      h[P.at + k] = p - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
    }
    return probe;
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
  accumulate(dst: I, src: I, n: I): void;
}
const denseModule = heapModule<DenseSimd>(DENSE_STEP_WASM);

/** The SIMD module bound to the wasm backend's memory, or undefined (a shared memory, no SIMD). */
function denseSimd(backend: unknown): DenseSimd | undefined {
  return denseModule(backend) ?? undefined;
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
