import * as tf from '@tensorflow/tfjs';
import { EPSILON } from './loss-registry.js';
import type { TaskSlot } from './dense-engine.js';
import { heapModule } from '../backend/heap-module.js';
import { BANK_HEAD_WASM } from '../backend/wasm/bank_head.wasm.js';
import { DENSE_STEP_WASM } from '../backend/wasm/dense_step.wasm.js';
import { LAPLACIAN_WASM } from '../backend/wasm/laplacian.wasm.js';

/**
 * The arithmetic of the fast tower step (tower-step.ts) on one batch, on flat buffers: T towers of
 * one dense layer (relu or linear, u units each) on the input, each with a one-unit head, their
 * masked losses, the graph-Laplacian penalty between the towers' layers and between the heads, and
 * Adam — without the tfjs engine. The towers' weights are stacked:
 *
 *   K [F, T*u]  every tower's kernel side by side (tower t's columns t*u .. t*u+u-1)
 *   b [T*u]     their biases          w [T*u]  the heads' kernels         c [T]  the heads' biases
 *
 * laid end to end in that order (b right after K, so that K and b are F + 1 rows of T*u numbers).
 * A step is one [B, F] x [F, T*u] product with bias and activation (XNNPACK's fused product, the
 * routine tfjs's `_FusedMatMul` kernel calls, on wasm), the heads forward and backward as two SIMD
 * passes (src/backend/wasm/bank_head.wat, the tower bank's own), one [F, B] x [B, T*u] product for
 * the kernels' gradient, the penalty's gradient as one SIMD pass per row of K, b, w and c
 * (src/backend/wasm/laplacian.wat, on the towers' strided rows) and one Adam pass over everything
 * (src/backend/wasm/dense_step.wat). On the cpu backend (and for small products) plain loops.
 */

/** Products with at most this many multiply-adds run as JavaScript loops (a wasm call costs more). */
const SMALL_PRODUCT = 48 * 1024;
/**
 * A batch with at most 1/SPARSE_RATIO of its (row, task) entries labelled is computed pair by pair
 * (`sparse`); above it, every tower on every row with the wide products (`dense`).
 */
const SPARSE_RATIO = 8;

/** Per row of a Laplacian, its non-zero entries [column, value] (strength included, float32). */
export type LaplacianRows = ReadonlyArray<ReadonlyArray<readonly [number, number]>>;

/** What the tower engine computes, in plain numbers. */
export interface TowerSpec {
  features: number;
  /** Packed label columns. */
  labels: number;
  /** Rows of a batch (shorter batches are padded). */
  batch: number;
  /** The mask holds sample weights: a task's count is its entries with weight > 0. */
  weighted: boolean;
  towers: number;
  units: number;
  activation: 'relu' | 'linear';
  /** Per task (training order): its tower is its Z column `z` (units 1). */
  tasks: TaskSlot[];
  /** The l2 regulariser of the towers' kernels (0: none). */
  l2: number;
  /** The Laplacian among the towers' layers, and among the heads (rows of towers; empty: none). */
  towerLaplacian: LaplacianRows;
  headLaplacian: LaplacianRows;
}

interface Buf {
  at: number;
  size: number;
  id: number;
}

interface WasmLike {
  wasm: {
    HEAPF32: Float32Array;
    HEAP32: Int32Array;
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

type I = number;
interface Simd {
  forward(h: I, w: I, c: I, out: I, B: I, T: I, u: I): void;
  backward(h: I, w: I, dy: I, dh: I, dw: I, dc: I, db: I, B: I, T: I, u: I, relu: I): void;
  adam(p: I, g: I, m: I, v: I, n: I, b1: I, b2: I, c1: I, c2: I, lr: I, eps: I, keep: I): number;
  laplacian(plan: I, rows: I, n: I): number;
  transpose(src: I, dst: I, R: I, C: I): void;
}
const bankModule = heapModule<Pick<Simd, 'forward' | 'backward'>>(BANK_HEAD_WASM);
const denseModule = heapModule<Pick<Simd, 'adam' | 'transpose'>>(DENSE_STEP_WASM);
const laplacianModule = heapModule<Pick<Simd, 'laplacian'>>(LAPLACIAN_WASM);

/** The three SIMD modules on the backend's heap, or undefined when one cannot be bound. */
function simdOf(backend: unknown): Simd | undefined {
  const bank = bankModule(backend);
  const dense = denseModule(backend);
  const lap = laplacianModule(backend);
  if (!bank || !dense || !lap) return undefined;
  return {
    forward: bank.forward,
    backward: bank.backward,
    adam: dense.adam,
    transpose: dense.transpose,
    laplacian: lap.laplacian,
  };
}

/**
 * One penalty row set on strided rows: `rows` rows of `n` numbers each; row r of tower i is at
 * `base + r * stride + i * n`. `plan`: laplacian.wat's plan (byte addresses) per row r, when on wasm.
 */
interface PenaltyPart {
  base: number;
  rows: number;
  stride: number;
  n: number;
  L: LaplacianRows;
  /** Rows of L with entries (the towers the plans list). */
  coupled: number;
  plans: number[];
}

/** The engine of one run: owns its buffers (free them with `dispose`). */
export class TowerEngine {
  private readonly wasm: WasmLike | undefined;
  private heap: Float32Array;
  private readonly base: number;
  private readonly ids: number[] = [];
  private readonly matMul: ((...args: unknown[]) => void) | undefined;
  private readonly transposeKernel: ((...args: unknown[]) => void) | undefined;
  private readonly simd: Simd | undefined;
  private readonly F: number;
  private readonly T: number;
  private readonly u: number;
  private readonly B: number;
  private readonly relu: boolean;
  private readonly l2: number;
  private readonly tasks: TaskSlot[];
  private readonly labels: number;
  /** Parameters, gradients, the penalty's gradient and Adam's moments: `total` numbers each (padded to 4). */
  private readonly P: Buf;
  private readonly G: Buf;
  private readonly PG: Buf;
  private readonly M: Buf;
  private readonly V: Buf;
  /** Views into P and G. */
  private readonly K: Buf;
  private readonly bias: Buf;
  private readonly w: Buf;
  private readonly c: Buf;
  private readonly dK: Buf;
  private readonly db: Buf;
  private readonly dw: Buf;
  private readonly dc: Buf;
  /** The batch X [B, F], its transpose, the towers' outputs H [B, T*u] and gradient, Z [B, T] and dZ. */
  private readonly X: Buf;
  private readonly XT: Buf;
  private readonly H: Buf;
  private readonly dH: Buf;
  private readonly Z: Buf;
  private readonly dZ: Buf;
  private readonly Yb: Float32Array;
  private readonly Mb: Float32Array;
  /** One row's tower output and its gradient (the sparse path). */
  private readonly hidden: Float32Array;
  private readonly hiddenGradient: Float32Array;
  /** The batch's labelled (row, task slot) pairs (`pairs` of them), each label column's task slot, and each task's loss coefficient. */
  private readonly pairRow: Int32Array;
  private readonly pairSlot: Int32Array;
  private pairs = 0;
  private readonly slotOf: Int32Array;
  private readonly coefs: Float64Array;
  private readonly weighted: boolean;
  private readonly parts: PenaltyPart[] = [];
  /** Numbers of the stacked parameters: K, b, w, c end to end (before padding). */
  readonly total: number;

  constructor(spec: TowerSpec) {
    const { features: F, towers: T, units: u, batch: B } = spec;
    this.F = F;
    this.T = T;
    this.u = u;
    this.B = B;
    this.relu = spec.activation === 'relu';
    this.l2 = spec.units > 0 ? spec.l2 : 0;
    this.tasks = spec.tasks;
    this.labels = spec.labels;
    // u = 0: no tower layer, the heads read the input (K [F, T], c [T]).
    const Tu = T * u;
    const Kw = u > 0 ? Tu : T;
    this.total = F * Kw + 2 * Tu + T;
    const padded = Math.ceil(this.total / 4) * 4;
    let used = 0;
    const bufs: Buf[] = [];
    const mk = (size: number): Buf => {
      const b: Buf = { at: used, size, id: 0 };
      used += Math.ceil(size / 4) * 4;
      bufs.push(b);
      return b;
    };
    const inside = (p: Buf, offset: number, size: number): Buf => {
      const b: Buf = { at: p.at + offset, size, id: 0 };
      bufs.push(b);
      return b;
    };
    this.P = mk(padded);
    this.G = mk(padded);
    this.PG = mk(padded);
    this.M = mk(padded);
    this.V = mk(padded);
    this.K = inside(this.P, 0, F * Kw);
    this.bias = inside(this.P, F * Kw, Tu);
    this.w = inside(this.P, F * Kw + Tu, Tu);
    this.c = inside(this.P, F * Kw + 2 * Tu, T);
    this.dK = inside(this.G, 0, F * Kw);
    this.db = inside(this.G, F * Kw, Tu);
    this.dw = inside(this.G, F * Kw + Tu, Tu);
    this.dc = inside(this.G, F * Kw + 2 * Tu, T);
    this.X = mk(B * F);
    this.XT = mk(B * F);
    this.H = mk(B * Tu);
    this.dH = mk(B * Tu);
    this.Z = mk(B * T);
    this.dZ = mk(B * T);
    this.Yb = new Float32Array(B * spec.labels);
    this.Mb = new Float32Array(B * spec.labels);
    this.hidden = new Float32Array(u);
    this.hiddenGradient = new Float32Array(u);
    this.pairRow = new Int32Array(B * spec.labels);
    this.pairSlot = new Int32Array(B * spec.labels);
    this.slotOf = new Int32Array(spec.labels).fill(-1);
    spec.tasks.forEach((task, s) => {
      this.slotOf[task.label] = s;
    });
    this.coefs = new Float64Array(spec.tasks.length);
    this.weighted = spec.weighted;
    // The penalty: the towers' layer as F + 1 rows (K's, then b) of u numbers per tower; the heads
    // as one row of u (w) and one of 1 (c).
    const penalties: Array<Omit<PenaltyPart, 'plans' | 'coupled'>> = [];
    if (spec.towerLaplacian.some((r) => r.length > 0))
      penalties.push({ base: 0, rows: F + 1, stride: Tu, n: u, L: spec.towerLaplacian });
    if (spec.headLaplacian.some((r) => r.length > 0) && u === 0) {
      // The heads on the input: K's F rows and c, each of T numbers, one per head.
      penalties.push({ base: 0, rows: F + 1, stride: T, n: 1, L: spec.headLaplacian });
    } else if (spec.headLaplacian.some((r) => r.length > 0)) {
      penalties.push({ base: F * Tu + Tu, rows: 1, stride: Tu, n: u, L: spec.headLaplacian });
      penalties.push({ base: F * Tu + 2 * Tu, rows: 1, stride: T, n: 1, L: spec.headLaplacian });
    }
    const be = tf.backend() as unknown as WasmLike;
    const simd = tf.getBackend() === 'wasm' && be.wasm ? simdOf(be) : undefined;
    // laplacian.wat's plans (4-byte words): per row r, per coupled tower: g, x, count, (x_j, L_ij)*.
    const planWords = (L: LaplacianRows) =>
      L.reduce((s, row) => s + (row.length > 0 ? 3 + 2 * row.length : 0), 0);
    const planBufs = penalties.map((p) =>
      simd ? Array.from({ length: p.rows }, () => mk(planWords(p.L))) : [],
    );
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
      this.simd = simd;
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
      this.transposeKernel = be.wasm.cwrap('Transpose', null, [
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
      this.transposeKernel = undefined;
    }
    penalties.forEach((p, k) => {
      const plans = planBufs[k]!.map((b) => b.at);
      const coupled = p.L.reduce((s, row) => s + (row.length > 0 ? 1 : 0), 0);
      this.parts.push({ ...p, coupled, plans });
      if (!this.simd) return;
      const i32 = new Int32Array(this.heap.buffer);
      const f32 = this.heap;
      for (let r = 0; r < p.rows; r++) {
        let word = plans[r]!;
        // Byte address of tower i's part of row r in P (x) or PG (g).
        const x = (i: number) => (this.P.at + p.base + r * p.stride + i * p.n) * 4;
        const g = (i: number) => (this.PG.at + p.base + r * p.stride + i * p.n) * 4;
        p.L.forEach((row, i) => {
          if (row.length === 0) return;
          i32[word++] = g(i);
          i32[word++] = x(i);
          i32[word++] = row.length;
          for (const [j, v] of row) {
            i32[word++] = x(j);
            f32[word++] = v;
          }
        });
      }
    });
  }

  /** A view of the stacked parameters K, b, w, c (valid until the next call into the engine). */
  params(): Float32Array {
    return this.view().subarray(this.P.at, this.P.at + this.total);
  }
  /** Views of Adam's moments, in the parameters' layout. */
  moments(): { m: Float32Array; v: Float32Array } {
    const h = this.view();
    return {
      m: h.subarray(this.M.at, this.M.at + this.total),
      v: h.subarray(this.V.at, this.V.at + this.total),
    };
  }

  /**
   * Copies the rows `perm[start .. start + size)` in (a short batch is padded with unlabelled rows
   * of zeros), lists their labelled (row, task) pairs and writes each task's label count into
   * `dens` (entries with weight > 0 when weighted).
   */
  gather(
    x: Float32Array,
    y: Float32Array,
    mask: Float32Array,
    perm: Int32Array,
    start: number,
    size: number,
    dens: Float64Array,
  ): void {
    const { F, B, Yb, Mb, slotOf, pairRow, pairSlot } = this;
    const L = this.labels;
    const h = this.view();
    const X = this.X.at;
    if (size < B) {
      h.fill(0, X + size * F, X + B * F);
      Yb.fill(0, size * L);
      Mb.fill(0, size * L);
    }
    dens.fill(0);
    let n = 0;
    const weighted = this.weighted;
    for (let i = 0; i < size; i++) {
      const r = perm[start + i]!;
      h.set(x.subarray(r * F, r * F + F), X + i * F);
      Yb.set(y.subarray(r * L, r * L + L), i * L);
      Mb.set(mask.subarray(r * L, r * L + L), i * L);
      for (let c = 0; c < L; c++) {
        const m = Mb[i * L + c]!;
        if (m === 0) continue;
        const slot = slotOf[c]!;
        pairRow[n] = i;
        pairSlot[n++] = slot;
        dens[slot] = dens[slot]! + (weighted ? (m > 0 ? 1 : 0) : m);
      }
    }
    this.pairs = n;
  }

  /**
   * Forward, the losses, the penalty and backward on the gathered rows: writes the gradient of
   * `sum_t weight_t * num_t / max(1, dens[t]) + penalty` and each task's `num`; returns the penalty.
   */
  forwardBackward(dens: ArrayLike<number>, nums: Float64Array): number {
    if (this.pairs * SPARSE_RATIO <= this.B * this.T) this.sparse(dens, nums);
    else this.dense(dens, nums);
    // The penalty's gradient (at the step's weights), added to the losses'.
    let value = 0;
    if (this.parts.length > 0) {
      value = this.penalty();
      const g = this.view();
      const G = this.G.at;
      const PG = this.PG.at;
      for (let k = 0; k < this.total; k++) g[G + k] = g[G + k]! + g[PG + k]!;
    }
    if (this.l2 > 0) value += this.weightDecay();
    return value;
  }

  /** The towers' kernels' l2 regulariser: adds `2 l2 K` to their gradient, returns `l2 sum(K²)` (summed per tower, as each layer's regulariser). */
  private weightDecay(): number {
    const { F, T, u, l2 } = this;
    const h = this.view();
    const Tu = T * u;
    const K0 = this.K.at;
    const dK0 = this.dK.at;
    let value = 0;
    for (let t = 0; t < T; t++) {
      let sum = 0;
      for (let f = 0; f < F; f++) {
        const row = f * Tu + t * u;
        for (let k = 0; k < u; k++) {
          const x = h[K0 + row + k]!;
          sum += Math.fround(l2 * Math.fround(x * x));
          h[dK0 + row + k] = h[dK0 + row + k]! + Math.fround(2 * x) * l2;
        }
      }
      value += Math.fround(sum);
    }
    return value;
  }

  /**
   * The losses' gradient from the labelled (row, task) pairs only, in JavaScript: where a row has
   * no label for a task (School: every row but its own school's), its output gets no gradient, so
   * it is not computed. A pair costs its tower's layer, head and their gradients (2 F u
   * multiply-adds) instead of every tower for every row (2 F T u, as the dense products).
   */
  private sparse(dens: ArrayLike<number>, nums: Float64Array): void {
    const { F, T, u, Yb, Mb, pairRow, pairSlot, hidden, relu } = this;
    const dh = this.hiddenGradient;
    const L = this.labels;
    const Tu = T * u;
    const h = this.view();
    h.fill(0, this.G.at, this.G.at + this.total);
    const X0 = this.X.at;
    const K0 = this.K.at;
    const b0 = this.bias.at;
    const w0 = this.w.at;
    const c0 = this.c.at;
    const dK0 = this.dK.at;
    const db0 = this.db.at;
    const dw0 = this.dw.at;
    const dc0 = this.dc.at;
    const S = this.tasks.length;
    const coefs = this.coefs;
    for (let s = 0; s < S; s++) {
      coefs[s] = this.tasks[s]!.weight / Math.max(dens[s]!, 1);
      nums[s] = 0;
    }
    for (let p = 0; p < this.pairs; p++) {
      const i = pairRow[p]!;
      const s = pairSlot[p]!;
      const task = this.tasks[s]!;
      const t = task.z;
      const tu = t * u;
      const m = Mb[i * L + task.label]!;
      const xi = X0 + i * F;
      if (u === 0) {
        // No tower layer: the head on the input, z = x K[:, t] + c[t], and its gradient.
        let z = 0;
        for (let f = 0; f < F; f++) z = Math.fround(z + h[xi + f]! * h[K0 + f * T + t]!);
        z = Math.fround(z + h[c0 + t]!);
        const dz = this.pairLoss(task.kind, z, Yb[i * L + task.label]!, m, coefs[s]!, nums, s);
        h[dc0 + t] = h[dc0 + t]! + dz;
        for (let f = 0; f < F; f++) h[dK0 + f * T + t] = h[dK0 + f * T + t]! + h[xi + f]! * dz;
        continue;
      }
      // The tower's layer and the head on row i (each sum rounded to float32 as it goes).
      for (let k = 0; k < u; k++) hidden[k] = h[b0 + tu + k]!;
      for (let f = 0; f < F; f++) {
        const xf = h[xi + f]!;
        const row = K0 + f * Tu + tu;
        for (let k = 0; k < u; k++) hidden[k] = hidden[k]! + xf * h[row + k]!;
      }
      let z = 0;
      for (let k = 0; k < u; k++) {
        if (relu && hidden[k]! < 0) hidden[k] = 0;
        z = Math.fround(z + hidden[k]! * h[w0 + tu + k]!);
      }
      z = Math.fround(z + h[c0 + t]!);
      const dz = this.pairLoss(task.kind, z, Yb[i * L + task.label]!, m, coefs[s]!, nums, s);
      // Backward: the head, the activation, the bias, then this tower's columns of the kernel.
      h[dc0 + t] = h[dc0 + t]! + dz;
      for (let k = 0; k < u; k++) {
        const j = tu + k;
        const hv = hidden[k]!;
        h[dw0 + j] = h[dw0 + j]! + dz * hv;
        const d = relu && !(hv > 0) ? 0 : dz * h[w0 + j]!;
        dh[k] = d;
        h[db0 + j] = h[db0 + j]! + dh[k]!;
      }
      for (let f = 0; f < F; f++) {
        const xf = h[xi + f]!;
        if (xf === 0) continue;
        const row = dK0 + f * Tu + tu;
        for (let k = 0; k < u; k++) h[row + k] = h[row + k]! + xf * dh[k]!;
      }
    }
  }

  /** One labelled pair's loss (added to `nums[s]`) and its gradient on z (`coef`: the task's weight over its count), rounded to float32. */
  private pairLoss(
    kind: TaskSlot['kind'],
    z: number,
    yv: number,
    m: number,
    coef: number,
    nums: Float64Array,
    s: number,
  ): number {
    if (kind === 'mse') {
      const e = z - yv;
      nums[s] = nums[s]! + m * e * e;
      return Math.fround(coef * m * 2 * e);
    }
    const p = 1 / (1 + Math.exp(-z));
    const q = p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
    nums[s] = nums[s]! + m * -(yv * Math.log(q) + (1 - yv) * Math.log(1 - q));
    return Number.isNaN(p) ? NaN : q === p ? Math.fround(coef * m * (p - yv)) : 0;
  }

  /** The losses' gradient with every tower on every row: two wide products and the heads' SIMD passes. */
  private dense(dens: ArrayLike<number>, nums: Float64Array): void {
    const { F, T, u, B } = this;
    const Tu = T * u;
    if (u === 0) {
      // No tower layer: Z = X K + c, dK = Xᵀ dZ, dc = dZ's column sums.
      this.product(this.X, this.K, this.Z, B, F, T, this.c);
      this.losses(this.view(), dens, nums);
      this.transposeInto(this.X, this.XT, B, F);
      this.product(this.XT, this.dZ, this.dK, F, B, T);
      const h = this.view();
      h.fill(0, this.dc.at, this.dc.at + T);
      for (let i = 0; i < B; i++)
        for (let t = 0; t < T; t++)
          h[this.dc.at + t] = h[this.dc.at + t]! + h[this.dZ.at + i * T + t]!;
      return;
    }
    // Forward: H = act(X K + b), Z = the heads.
    this.product(this.X, this.K, this.H, B, F, Tu, this.bias, this.relu);
    const simd = this.simd && u % 4 === 0 ? this.simd : undefined;
    if (simd) {
      this.view();
      simd.forward(this.H.at * 4, this.w.at * 4, this.c.at * 4, this.Z.at * 4, B, T, u);
    } else this.headsJs();
    const h = this.view();
    // The losses and their gradient on Z.
    this.losses(h, dens, nums);
    // Backward: the heads (dw, dc, and dH with the activation's gradient and db), then dK = Xᵀ dH.
    h.fill(0, this.db.at, this.db.at + 2 * Tu + T);
    if (simd) {
      simd.backward(
        this.H.at * 4,
        this.w.at * 4,
        this.dZ.at * 4,
        this.dH.at * 4,
        this.dw.at * 4,
        this.dc.at * 4,
        this.db.at * 4,
        B,
        T,
        u,
        this.relu ? 1 : 0,
      );
    } else this.headsBackJs();
    this.transposeInto(this.X, this.XT, B, F);
    this.product(this.XT, this.dH, this.dK, F, B, Tu);
  }

  /** Adam over every stacked parameter (AdamW: the decoupled decay first). Returns NaN unless every gradient was finite. */
  adam(
    iteration: number,
    o: { learningRate: number; beta1: number; beta2: number; epsilon: number },
    decay: number,
  ): number {
    const lr = o.learningRate;
    const b1 = o.beta1;
    const b2 = o.beta2;
    const c1 = 1 - b1 ** iteration;
    const c2 = 1 - b2 ** iteration;
    const eps = o.epsilon;
    const keep = 1 - lr * decay;
    const { P, G, M, V } = this;
    if (this.simd) {
      this.view();
      return this.simd.adam(
        P.at * 4,
        G.at * 4,
        M.at * 4,
        V.at * 4,
        P.size,
        b1,
        b2,
        c1,
        c2,
        lr,
        eps,
        keep,
      );
    }
    const h = this.view();
    let probe = 0;
    for (let k = 0; k < this.total; k++) {
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

  /** Frees the buffers (and, on wasm, the ids registered for them). */
  dispose(): void {
    if (!this.wasm) return;
    for (const id of this.ids) this.wasm.wasm.tfjs.disposeData(id);
    this.wasm.wasm._free(this.base);
  }

  /** The masked losses of Z into nums, their gradient (coefficients included) into dZ. */
  private losses(h: Float32Array, dens: ArrayLike<number>, nums: Float64Array): void {
    const { T, B, Yb, Mb } = this;
    const L = this.labels;
    const z0 = this.Z.at;
    const d0 = this.dZ.at;
    h.fill(0, d0, d0 + B * T);
    this.tasks.forEach((task, t) => {
      const coef = task.weight / Math.max(dens[t]!, 1);
      let num = 0;
      for (let i = 0; i < B; i++) {
        const zi = z0 + i * T + task.z;
        const di = d0 + i * T + task.z;
        const m = Mb[i * L + task.label]!;
        const yv = Yb[i * L + task.label]!;
        if (task.kind === 'mse') {
          const e = h[zi]! - yv;
          num += m * e * e;
          h[di] = coef * m * 2 * e;
        } else {
          const p = 1 / (1 + Math.exp(-h[zi]!));
          const q = p < EPSILON ? EPSILON : p > 1 - EPSILON ? 1 - EPSILON : p;
          num += m * -(yv * Math.log(q) + (1 - yv) * Math.log(1 - q));
          h[di] = q === p ? coef * m * (p - yv) : 0;
          if (Number.isNaN(p)) h[di] = NaN;
        }
      }
      nums[t] = num;
    });
  }

  /** Value of the penalty; its gradient (2 L x per row) into PG. */
  private penalty(): number {
    let value = 0;
    for (const p of this.parts) {
      if (this.simd) {
        this.view();
        for (let r = 0; r < p.rows; r++)
          value += this.simd.laplacian(p.plans[r]! * 4, p.coupled, p.n);
        continue;
      }
      const h = this.view();
      for (let r = 0; r < p.rows; r++) {
        const at = (i: number) => p.base + r * p.stride + i * p.n;
        p.L.forEach((row, i) => {
          if (row.length === 0) return;
          const g = this.PG.at + at(i);
          const x = this.P.at + at(i);
          for (let k = 0; k < p.n; k++) {
            // Rounded to float32 at every addition, as the kernel's JavaScript arithmetic.
            let a = 0;
            for (const [j, v] of row) a = Math.fround(a + v * h[this.P.at + at(j) + k]!);
            value += h[x + k]! * a;
            h[g + k] = 2 * a;
          }
        });
      }
    }
    return value;
  }

  /** Z[b, t] = c[t] + sum_k H[b, t*u+k] w[t*u+k], in JavaScript. */
  private headsJs(): void {
    const { T, u, B } = this;
    const h = this.view();
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        let s = 0;
        const hr = this.H.at + b * T * u + t * u;
        for (let k = 0; k < u; k++) s += h[hr + k]! * h[this.w.at + t * u + k]!;
        h[this.Z.at + b * T + t] = h[this.c.at + t]! + s;
      }
    }
  }

  /** The heads' backward in JavaScript (bank_head.wat's `backward`). */
  private headsBackJs(): void {
    const { T, u, B } = this;
    const h = this.view();
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const g = h[this.dZ.at + b * T + t]!;
        h[this.dc.at + t] = h[this.dc.at + t]! + g;
        for (let k = 0; k < u; k++) {
          const j = t * u + k;
          const hv = h[this.H.at + b * T * u + j]!;
          h[this.dw.at + j] = h[this.dw.at + j]! + g * hv;
          const d = this.relu && !(hv > 0) ? 0 : g * h[this.w.at + j]!;
          h[this.dH.at + b * T * u + j] = d;
          h[this.db.at + j] = h[this.db.at + j]! + d;
        }
      }
    }
  }

  /** The heap view (wasm memory may have grown since the last call). */
  private view(): Float32Array {
    if (this.wasm && this.heap.buffer !== this.wasm.wasm.HEAPF32.buffer)
      this.heap = this.wasm.wasm.HEAPF32;
    return this.heap;
  }

  /**
   * C[M, N] = act(A[M, K] · B[K, N] + bias), as DenseEngine's product: B's and the bias's ids are
   * registered anew before XNNPACK's product, which caches a packed operator per right operand id.
   */
  private product(
    A: Buf,
    B: Buf,
    C: Buf,
    M: number,
    K: number,
    N: number,
    bias?: Buf,
    relu = false,
  ): void {
    if (this.matMul && M * K * N > SMALL_PRODUCT) {
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
        relu ? 1 : 0,
        bias?.id ?? 0,
        0,
        0,
        C.id,
      );
      this.view();
      return;
    }
    const h = this.view();
    for (let i = 0; i < M; i++) {
      const c = C.at + i * N;
      if (bias) for (let j = 0; j < N; j++) h[c + j] = h[bias.at + j]!;
      else h.fill(0, c, c + N);
      for (let p = 0; p < K; p++) {
        const a = h[A.at + i * K + p]!;
        if (a === 0) continue;
        const b = B.at + p * N;
        for (let j = 0; j < N; j++) h[c + j] = h[c + j]! + a * h[b + j]!;
      }
      if (relu) for (let j = c; j < c + N; j++) h[j] = h[j]! < 0 ? 0 : h[j]!;
    }
  }

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
    if (this.transposeKernel) {
      this.transposeKernel(In.id, shape2(R, C), 2, 0, Out.id, PERM, 2);
      this.view();
      return;
    }
    const h = this.view();
    for (let r = 0; r < R; r++)
      for (let c = 0; c < C; c++) h[Out.at + c * R + r] = h[In.at + r * C + c]!;
  }
}

const PERM = new Uint8Array(new Int32Array([1, 0]).buffer);
function shape2(a: number, b: number): Uint8Array {
  return new Uint8Array(new Int32Array([a, b]).buffer);
}
function shape3(a: number, b: number): Uint8Array {
  return new Uint8Array(new Int32Array([1, a, b]).buffer);
}
