import * as tf from '@tensorflow/tfjs';
import { type CpuBackend, type WasmBackend, wasmKernelsVeto } from './kernel-patch.js';
import { heapModule } from './heap-module.js';
import { EXPERT_MIX_WASM } from './wasm/expert_mix.wasm.js';

/**
 * The mixture of an expert bank (train/expert-bank.ts) as two kernels: G softmax gates over the
 * same E experts, every gate's mixture of every row in one pass forward and one backward, where
 * tfjs's ops take a broadcast product, a sum, a reshape and a concat per gate and their gradients.
 *
 *   MtgraphExpertMix      (p [B, G*E], s [E*B, d]; E)        -> out [B, G*d]
 *                         out[b, g*d + k] = sum_e p[b, g*E + e] s[e*B + b, k]
 *   MtgraphExpertMixGrad  (p, s, dout [B, G*d]; E, relu)     -> ds [E*B, d], dl [B, G*E], db [E*d]
 *                         ds[e*B + b, k] = sum_g p[b, g*E + e] dout[b, g*d + k]
 *                                          (times [s > 0] when relu: s was relu's output, so ds is
 *                                          the gradient before the relu)
 *                         dl = the gradient of the gates' logits: with dp[b, g*E + e] =
 *                              sum_k dout[b, g*d + k] s[e*B + b, k], dl = p (dp - sum_e p dp) per gate
 *                              (p is each gate's softmax over its E columns)
 *                         db[e*d + k] = sum_b ds[e*B + b, k] (the experts' last bias gradient)
 *
 * p holds the gates' softmax weights side by side (gate g's at columns g*E .. g*E+E-1); s the
 * experts' outputs one expert after the other (expert e's rows at e*B, contiguous, as ds), out
 * the gates' mixtures side by side (gate g's columns at g*d, as dout: the layout of the tower
 * bank's heads, bank-head-kernel.ts). On wasm the kernels read and write the
 * backend's heap in place: a small SIMD module (src/backend/wasm/expert_mix.wat) that imports the
 * backend's memory, when d is a multiple of 4, else the same arithmetic in JavaScript on heap
 * views, as on the cpu backend. Browser-safe.
 */
export const EXPERT_MIX_KERNEL = 'MtgraphExpertMix';
export const EXPERT_MIX_GRAD_KERNEL = 'MtgraphExpertMixGrad';
/**
 * MtgraphExpertJoin (h [B, E*u], dh0..dh{E-1} [B, u]; relu) -> dz [B, E*u], db [E*u]: the experts'
 * gradients of their first layer's output joined side by side (expert e's at columns e*u), before
 * the relu (0 where h <= 0) when `relu`, and their column sums (the first layer's bias gradient):
 * one pass where tfjs's ops take a concat, a step, a product and a sum.
 */
export const EXPERT_JOIN_KERNEL = 'MtgraphExpertJoin';

type F32 = Float32Array;

interface Shapes {
  B: number;
  G: number;
  E: number;
  d: number;
}

function shapesOf(p: tf.TensorInfo, s: tf.TensorInfo, E: number): Shapes {
  const [B, GE] = p.shape as [number, number];
  const [EB, d] = s.shape as [number, number];
  const G = GE / E;
  if (
    p.shape.length !== 2 ||
    s.shape.length !== 2 ||
    !Number.isInteger(G) ||
    EB !== E * B ||
    p.dtype !== 'float32' ||
    s.dtype !== 'float32'
  )
    throw new Error(
      `${EXPERT_MIX_KERNEL}: p [${p.shape.join(', ')}] and s [${s.shape.join(', ')}] are not G gates over ${E} experts (expected p [B, G*${E}], s [${E}*B, d], float32).`,
    );
  return { B, G, E, d: d! };
}

/** out[b, g*d + k] = sum_e p[b, g*E + e] s[e*B + b, k]. */
export function mixForward(p: F32, s: F32, out: F32, { B, G, E, d }: Shapes): void {
  const GE = G * E;
  for (let g = 0; g < G; g++) {
    for (let b = 0; b < B; b++) {
      const o = (b * G + g) * d;
      const pr = b * GE + g * E;
      let w = p[pr]!;
      let sr = b * d;
      for (let k = 0; k < d; k++) out[o + k] = w * s[sr + k]!;
      for (let e = 1; e < E; e++) {
        w = p[pr + e]!;
        sr = (e * B + b) * d;
        for (let k = 0; k < d; k++) out[o + k] = out[o + k]! + w * s[sr + k]!;
      }
    }
  }
}

/** The gradients of mixForward (see the file's comment); dp is scratch of E numbers. */
export function mixBackward(
  p: F32,
  s: F32,
  dout: F32,
  ds: F32,
  dl: F32,
  db: F32,
  { B, G, E, d }: Shapes,
  relu: boolean,
): void {
  const GE = G * E;
  db.fill(0);
  const dp = new Float32Array(E);
  for (let b = 0; b < B; b++) {
    // The gates' logits: dp = <dout, s> per expert, then the softmax's gradient.
    for (let g = 0; g < G; g++) {
      const o = (b * G + g) * d;
      const pr = b * GE + g * E;
      let dot = 0;
      for (let e = 0; e < E; e++) {
        const sr = (e * B + b) * d;
        let acc = 0;
        for (let k = 0; k < d; k++) acc += dout[o + k]! * s[sr + k]!;
        dp[e] = acc;
        dot += p[pr + e]! * acc;
      }
      for (let e = 0; e < E; e++) dl[pr + e] = p[pr + e]! * (dp[e]! - dot);
    }
    // The experts: ds = sum_g p dout (masked by the relu), and the bias gradient.
    for (let e = 0; e < E; e++) {
      const sr = (e * B + b) * d;
      const br = e * d;
      let w = p[b * GE + e]!;
      let o = b * G * d;
      for (let k = 0; k < d; k++) ds[sr + k] = w * dout[o + k]!;
      for (let g = 1; g < G; g++) {
        w = p[b * GE + g * E + e]!;
        o = (b * G + g) * d;
        for (let k = 0; k < d; k++) ds[sr + k] = ds[sr + k]! + w * dout[o + k]!;
      }
      for (let k = 0; k < d; k++) {
        const v = relu && !(s[sr + k]! > 0) ? 0 : ds[sr + k]!;
        ds[sr + k] = v;
        db[br + k] = db[br + k]! + v;
      }
    }
  }
}

type Kernel = tf.KernelFunc;

/** dz[b, e*u + k] = dh_e[b, k] (masked by h > 0 when relu), db = column sums of dz. */
export function joinColumns(
  h: F32,
  dh: readonly F32[],
  dz: F32,
  db: F32,
  B: number,
  u: number,
  relu: boolean,
): void {
  const W = dh.length * u;
  db.fill(0);
  dh.forEach((part, e) => {
    for (let b = 0; b < B; b++) {
      const row = b * W + e * u;
      for (let k = 0; k < u; k++) {
        const v = relu && !(h[row + k]! > 0) ? 0 : part[b * u + k]!;
        dz[row + k] = v;
        db[e * u + k] = db[e * u + k]! + v;
      }
    }
  });
}

function joinShapes(inputs: tf.NamedTensorInfoMap, count: number) {
  const h = inputs.h!;
  const parts = Array.from({ length: count }, (_, e) => inputs[`dh${e}`]!);
  const [B, W] = h.shape as [number, number];
  const u = W / count;
  if (
    h.shape.length !== 2 ||
    !Number.isInteger(u) ||
    parts.some((p) => p.shape[0] !== B || p.shape[1] !== u)
  )
    throw new Error(
      `${EXPERT_JOIN_KERNEL}: h [${h.shape.join(', ')}] and ${count} parts [${parts[0]?.shape.join(', ')}] do not join (expected parts [B, W / ${count}]).`,
    );
  return { h, parts, B, u, W };
}

const wasmJoin: Kernel = ({ inputs, backend, attrs }) => {
  const w = backend as unknown as WasmBackend;
  const { count, relu } = attrs as { count: number; relu: boolean };
  const { h, parts, B, u, W } = joinShapes(inputs as tf.NamedTensorInfoMap, count);
  // Every output first: allocating may grow the heap, which detaches earlier views of it.
  const dz = w.makeOutput([B, W], 'float32');
  const db = w.makeOutput([W], 'float32');
  const view = (t: tf.TensorInfo) => w.typedArrayFromHeap(t) as F32;
  const simd = u % 4 === 0 ? simdFor(backend) : null;
  if (simd) {
    view(db).fill(0);
    const at = (t: tf.TensorInfo) => view(t).byteOffset;
    parts.forEach((part, e) =>
      simd.join(
        at(dz) + e * u * 4,
        at(part),
        at(h) + e * u * 4,
        B,
        u,
        W,
        at(db) + e * u * 4,
        relu ? 1 : 0,
      ),
    );
    return [dz, db];
  }
  joinColumns(view(h), parts.map(view), view(dz), view(db), B, u, relu);
  return [dz, db];
};

const cpuJoin: Kernel = ({ inputs, backend, attrs }) => {
  const c = backend as unknown as CpuBackend;
  const { count, relu } = attrs as { count: number; relu: boolean };
  const { h, parts, B, u, W } = joinShapes(inputs as tf.NamedTensorInfoMap, count);
  const read = (t: tf.TensorInfo) => c.readSync(t.dataId) as F32;
  const dz = new Float32Array(B * W);
  const db = new Float32Array(W);
  joinColumns(read(h), parts.map(read), dz, db, B, u, relu);
  return [c.makeTensorInfo([B, W], 'float32', dz), c.makeTensorInfo([W], 'float32', db)];
};

type I = number;
interface Simd {
  join(dz: I, dh: I, h: I, B: I, u: I, stride: I, db: I, relu: I): void;
  forward(p: I, s: I, out: I, B: I, G: I, E: I, d: I): void;
  backward(p: I, s: I, dout: I, ds: I, dl: I, db: I, B: I, G: I, E: I, d: I, relu: I): void;
}

/** The SIMD module on the wasm backend's heap, or null (not wasm, a shared memory, no SIMD). */
const simdFor = heapModule<Simd>(EXPERT_MIX_WASM);

const wasmForward: Kernel = ({ inputs, backend, attrs }) => {
  const w = backend as unknown as WasmBackend;
  const { p, s } = inputs as { p: tf.TensorInfo; s: tf.TensorInfo };
  const shapes = shapesOf(p, s, (attrs as { E: number }).E);
  const out = w.makeOutput([shapes.B, shapes.G * shapes.d], 'float32');
  const view = (t: tf.TensorInfo) => w.typedArrayFromHeap(t) as F32;
  const simd = shapes.d % 4 === 0 ? simdFor(backend) : null;
  if (simd) {
    const at = (t: tf.TensorInfo) => view(t).byteOffset;
    const { B, G, E, d } = shapes;
    simd.forward(at(p), at(s), at(out), B, G, E, d);
    return out;
  }
  mixForward(view(p), view(s), view(out), shapes);
  return out;
};

const wasmBackward: Kernel = ({ inputs, backend, attrs }) => {
  const w = backend as unknown as WasmBackend;
  const { p, s, dout } = inputs as { p: tf.TensorInfo; s: tf.TensorInfo; dout: tf.TensorInfo };
  const { E, relu } = attrs as { E: number; relu: boolean };
  const shapes = shapesOf(p, s, E);
  // Every output first: allocating may grow the heap, which detaches earlier views of it.
  const ds = w.makeOutput(s.shape, 'float32');
  const dl = w.makeOutput(p.shape, 'float32');
  const db = w.makeOutput([E * shapes.d], 'float32');
  const view = (t: tf.TensorInfo) => w.typedArrayFromHeap(t) as F32;
  const simd = shapes.d % 4 === 0 ? simdFor(backend) : null;
  if (simd) {
    view(db).fill(0);
    const at = (t: tf.TensorInfo) => view(t).byteOffset;
    const { B, G, d } = shapes;
    simd.backward(at(p), at(s), at(dout), at(ds), at(dl), at(db), B, G, E, d, relu ? 1 : 0);
    return [ds, dl, db];
  }
  mixBackward(view(p), view(s), view(dout), view(ds), view(dl), view(db), shapes, relu);
  return [ds, dl, db];
};

const cpuForward: Kernel = ({ inputs, backend, attrs }) => {
  const c = backend as unknown as CpuBackend;
  const { p, s } = inputs as { p: tf.TensorInfo; s: tf.TensorInfo };
  const shapes = shapesOf(p, s, (attrs as { E: number }).E);
  const read = (t: tf.TensorInfo) => c.readSync(t.dataId) as F32;
  const out = new Float32Array(shapes.G * shapes.B * shapes.d);
  mixForward(read(p), read(s), out, shapes);
  return c.makeTensorInfo([shapes.B, shapes.G * shapes.d], 'float32', out);
};

const cpuBackward: Kernel = ({ inputs, backend, attrs }) => {
  const c = backend as unknown as CpuBackend;
  const { p, s, dout } = inputs as { p: tf.TensorInfo; s: tf.TensorInfo; dout: tf.TensorInfo };
  const { E, relu } = attrs as { E: number; relu: boolean };
  const shapes = shapesOf(p, s, E);
  const read = (t: tf.TensorInfo) => c.readSync(t.dataId) as F32;
  const ds = new Float32Array(s.shape[0]! * shapes.d);
  const dl = new Float32Array(p.shape[0]! * p.shape[1]!);
  const db = new Float32Array(E * shapes.d);
  mixBackward(read(p), read(s), read(dout), ds, dl, db, shapes, relu);
  return [
    c.makeTensorInfo(s.shape, 'float32', ds),
    c.makeTensorInfo(p.shape, 'float32', dl),
    c.makeTensorInfo([E * shapes.d], 'float32', db),
  ];
};

for (const [backendName, forward, backward, join] of [
  ['wasm', wasmForward, wasmBackward, wasmJoin],
  ['cpu', cpuForward, cpuBackward, cpuJoin],
] as const) {
  // On a tfjs version the heap layout was not tested with, the wasm kernels stand aside.
  if (backendName === 'wasm' && wasmKernelsVeto() !== undefined) continue;
  if (!tf.getKernel(EXPERT_MIX_KERNEL, backendName))
    tf.registerKernel({ kernelName: EXPERT_MIX_KERNEL, backendName, kernelFunc: forward });
  if (!tf.getKernel(EXPERT_MIX_GRAD_KERNEL, backendName))
    tf.registerKernel({ kernelName: EXPERT_MIX_GRAD_KERNEL, backendName, kernelFunc: backward });
  if (!tf.getKernel(EXPERT_JOIN_KERNEL, backendName))
    tf.registerKernel({ kernelName: EXPERT_JOIN_KERNEL, backendName, kernelFunc: join });
}

/** Whether the expert-mix kernels run on the current backend. */
export function expertMixKernelAvailable(): boolean {
  return tf.getKernel(EXPERT_MIX_GRAD_KERNEL, tf.getBackend()) !== undefined;
}

/** `out [B, G*d]`: every gate's mixture of the E experts (see the file's comment). Not differentiable itself. */
export function expertMix(p: tf.Tensor2D, s: tf.Tensor2D, E: number): tf.Tensor2D {
  return tf.engine().runKernel(EXPERT_MIX_KERNEL, { p, s }, { E }) as tf.Tensor2D;
}

/** `[ds, dl, db]` of expertMix for the gradient dout (ds before the relu when `relu`; dl of the gates' logits). */
export function expertMixGrad(
  p: tf.Tensor2D,
  s: tf.Tensor2D,
  dout: tf.Tensor2D,
  E: number,
  relu: boolean,
): [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D] {
  return tf.engine().runKernel(EXPERT_MIX_GRAD_KERNEL, { p, s, dout }, { E, relu }) as unknown as [
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor1D,
  ];
}

/** `[dz [B, E*u], db [E*u]]`: the E parts `[B, u]` side by side, before the relu of h when `relu`, and their column sums. */
export function expertJoin(
  h: tf.Tensor2D,
  parts: readonly tf.Tensor2D[],
  relu: boolean,
): [tf.Tensor2D, tf.Tensor1D] {
  const inputs: tf.NamedTensorMap = { h };
  parts.forEach((p, e) => {
    inputs[`dh${e}`] = p;
  });
  return tf
    .engine()
    .runKernel(EXPERT_JOIN_KERNEL, inputs, { count: parts.length, relu }) as unknown as [
    tf.Tensor2D,
    tf.Tensor1D,
  ];
}
