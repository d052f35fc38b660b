import * as tf from '@tensorflow/tfjs';
import { type CpuBackend, type WasmBackend, wasmKernelsVeto } from './kernel-patch.js';
import { heapModule } from './heap-module.js';
import { BANK_HEAD_WASM } from './wasm/bank_head.wasm.js';

/**
 * The heads of a tower bank (train/tower-bank.ts) as two kernels: T one-unit heads, head t reading
 * columns `t*u .. t*u+u-1` of the bank's hidden layer H `[B, T*u]` (block-diagonal: one dot
 * product per row and head), in one pass over H forward and one backward, where tfjs's ops take
 * five or six passes (a broadcast product, a reshape, a sum, and their gradients).
 *
 *   MtgraphBankHead      (h [B, T*u], w [T*u], c [T]; u)        -> out [B, T]
 *                        out[b, t] = c[t] + sum_k h[b, t*u+k] w[t*u+k]
 *   MtgraphBankHeadGrad  (h, w, dy [B, T]; u, relu)             -> dh [B, T*u], dw [T*u], dc [T], db [T*u]
 *                        dh = dy[b, t] w[j] (times [h > 0] when relu: H was relu's output, so dh is
 *                        the gradient before the relu), dw = sum_b dy h, dc = sum_b dy, db = sum_b dh
 *                        (the hidden layer's bias gradient, folded into the same pass)
 *
 * On wasm both read and write the backend's heap in place (no copy): a small SIMD module
 * (src/backend/wasm/bank_head.wat) that imports the backend's memory, when u is a multiple of 4,
 * else the same arithmetic in JavaScript on heap views, as on the cpu backend. Browser-safe.
 */
export const BANK_HEAD_KERNEL = 'MtgraphBankHead';
export const BANK_HEAD_GRAD_KERNEL = 'MtgraphBankHeadGrad';

type F32 = Float32Array;

function headForward(h: F32, w: F32, c: F32, out: F32, B: number, T: number, u: number): void {
  const W = T * u;
  for (let b = 0; b < B; b++) {
    const row = b * W;
    const o = b * T;
    for (let t = 0; t < T; t++) {
      const j0 = t * u;
      let s = c[t]!;
      for (let k = 0; k < u; k++) s += h[row + j0 + k]! * w[j0 + k]!;
      out[o + t] = s;
    }
  }
}

function headBackward(
  h: F32,
  w: F32,
  dy: F32,
  dh: F32,
  dw: F32,
  dc: F32,
  db: F32,
  B: number,
  T: number,
  u: number,
  relu: boolean,
): void {
  const W = T * u;
  dw.fill(0);
  dc.fill(0);
  db.fill(0);
  for (let b = 0; b < B; b++) {
    const row = b * W;
    const o = b * T;
    for (let t = 0; t < T; t++) {
      const g = dy[o + t]!;
      dc[t] = dc[t]! + g;
      const j0 = t * u;
      for (let k = 0; k < u; k++) {
        const j = j0 + k;
        const hv = h[row + j]!;
        dw[j] = dw[j]! + g * hv;
        const d = relu && !(hv > 0) ? 0 : g * w[j]!;
        dh[row + j] = d;
        db[j] = db[j]! + d;
      }
    }
  }
}

interface Shapes {
  B: number;
  T: number;
  u: number;
}

function shapesOf(h: tf.TensorInfo, w: tf.TensorInfo, u: number): Shapes {
  const [B, W] = h.shape as [number, number];
  const T = W / u;
  if (h.shape.length !== 2 || !Number.isInteger(T) || w.shape[0] !== W || h.dtype !== 'float32')
    throw new Error(
      `${BANK_HEAD_KERNEL}: h [${h.shape.join(', ')}] (${h.dtype}) and w [${w.shape.join(', ')}] do not make heads of ${u} columns.`,
    );
  return { B: B!, T, u };
}

type Kernel = tf.KernelFunc;

type I = number;
interface Simd {
  forward(h: I, w: I, c: I, out: I, B: I, T: I, u: I): void;
  backward(h: I, w: I, dy: I, dh: I, dw: I, dc: I, db: I, B: I, T: I, u: I, relu: I): void;
}

/** The SIMD module on the wasm backend's heap, or null (not wasm, a shared memory, no SIMD). */
const simdFor = heapModule<Simd>(BANK_HEAD_WASM);

const wasmForward: Kernel = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackend;
  const { h, w, c } = inputs as { h: tf.TensorInfo; w: tf.TensorInfo; c: tf.TensorInfo };
  const { B, T, u } = shapesOf(h, w, (attrs as { u: number }).u);
  const out = b.makeOutput([B, T], 'float32');
  const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as F32;
  const simd = u % 4 === 0 ? simdFor(backend) : null;
  if (simd) {
    const at = (t: tf.TensorInfo) => view(t).byteOffset;
    simd.forward(at(h), at(w), at(c), at(out), B, T, u);
    return out;
  }
  headForward(view(h), view(w), view(c), view(out), B, T, u);
  return out;
};

const wasmBackward: Kernel = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackend;
  const { h, w, dy } = inputs as { h: tf.TensorInfo; w: tf.TensorInfo; dy: tf.TensorInfo };
  const { u, relu } = attrs as { u: number; relu: boolean };
  const { B, T } = shapesOf(h, w, u);
  // Every output first: allocating may grow the heap, which detaches earlier views of it.
  const dh = b.makeOutput([B, T * u], 'float32');
  const dw = b.makeOutput([T * u], 'float32');
  const dc = b.makeOutput([T], 'float32');
  const db = b.makeOutput([T * u], 'float32');
  const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t) as F32;
  const simd = u % 4 === 0 ? simdFor(backend) : null;
  if (simd) {
    for (const t of [dw, dc, db]) view(t).fill(0);
    const at = (t: tf.TensorInfo) => view(t).byteOffset;
    simd.backward(at(h), at(w), at(dy), at(dh), at(dw), at(dc), at(db), B, T, u, relu ? 1 : 0);
    return [dh, dw, dc, db];
  }
  headBackward(view(h), view(w), view(dy), view(dh), view(dw), view(dc), view(db), B, T, u, relu);
  return [dh, dw, dc, db];
};

const cpuForward: Kernel = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CpuBackend;
  const { h, w, c } = inputs as { h: tf.TensorInfo; w: tf.TensorInfo; c: tf.TensorInfo };
  const { B, T, u } = shapesOf(h, w, (attrs as { u: number }).u);
  const read = (t: tf.TensorInfo) => b.readSync(t.dataId) as F32;
  const out = new Float32Array(B * T);
  headForward(read(h), read(w), read(c), out, B, T, u);
  return b.makeTensorInfo([B, T], 'float32', out);
};

const cpuBackward: Kernel = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CpuBackend;
  const { h, w, dy } = inputs as { h: tf.TensorInfo; w: tf.TensorInfo; dy: tf.TensorInfo };
  const { u, relu } = attrs as { u: number; relu: boolean };
  const { B, T } = shapesOf(h, w, u);
  const read = (t: tf.TensorInfo) => b.readSync(t.dataId) as F32;
  const dh = new Float32Array(B * T * u);
  const dw = new Float32Array(T * u);
  const dc = new Float32Array(T);
  const db = new Float32Array(T * u);
  headBackward(read(h), read(w), read(dy), dh, dw, dc, db, B, T, u, relu);
  return [
    b.makeTensorInfo([B, T * u], 'float32', dh),
    b.makeTensorInfo([T * u], 'float32', dw),
    b.makeTensorInfo([T], 'float32', dc),
    b.makeTensorInfo([T * u], 'float32', db),
  ];
};

for (const [backendName, forward, backward] of [
  ['wasm', wasmForward, wasmBackward],
  ['cpu', cpuForward, cpuBackward],
] as const) {
  // On a tfjs version the heap layout was not tested with, the wasm kernels stand aside.
  if (backendName === 'wasm' && wasmKernelsVeto() !== undefined) continue;
  if (!tf.getKernel(BANK_HEAD_KERNEL, backendName))
    tf.registerKernel({ kernelName: BANK_HEAD_KERNEL, backendName, kernelFunc: forward });
  if (!tf.getKernel(BANK_HEAD_GRAD_KERNEL, backendName))
    tf.registerKernel({ kernelName: BANK_HEAD_GRAD_KERNEL, backendName, kernelFunc: backward });
}

/** Whether the bank-head kernels run on the current backend. */
export function bankHeadKernelAvailable(): boolean {
  return tf.getKernel(BANK_HEAD_GRAD_KERNEL, tf.getBackend()) !== undefined;
}

/** `out [B, T]` of T one-unit heads of `u` columns each on h (see the file's comment). Not differentiable itself. */
export function bankHead(h: tf.Tensor2D, w: tf.Tensor1D, c: tf.Tensor1D, u: number): tf.Tensor2D {
  return tf.engine().runKernel(BANK_HEAD_KERNEL, { h, w, c }, { u }) as tf.Tensor2D;
}

/** `[dh, dw, dc, db]` of bankHead for the gradient dy (dh before the relu when `relu`). */
export function bankHeadGrad(
  h: tf.Tensor2D,
  w: tf.Tensor1D,
  dy: tf.Tensor2D,
  u: number,
  relu: boolean,
): [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  return tf.engine().runKernel(BANK_HEAD_GRAD_KERNEL, { h, w, dy }, { u, relu }) as unknown as [
    tf.Tensor2D,
    tf.Tensor1D,
    tf.Tensor1D,
    tf.Tensor1D,
  ];
}
