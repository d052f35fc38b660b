import * as tf from '@tensorflow/tfjs';
import { envVar } from '../platform/index.js';
import { type WasmBackend, wasmKernelsVeto } from './kernel-patch.js';
import { heapModule } from './heap-module.js';
import { ADAM_UPDATE_WASM } from './wasm/adam_update.wasm.js';

/**
 * A whole FlatAdam step (train/flat-adam.ts) as ONE kernel on wasm: for each variable, its
 * gradient read in place, the two moments' part, the step and the new weights in one SIMD pass
 * (src/backend/wasm/adam_update.wat), where FlatAdam's tensor operations make a dozen passes over
 * the flat vectors (a concat of the gradients, the moments' products and sums, the bias
 * corrections, the square root, the division) and one more kernel adds the step. The arithmetic is
 * FlatAdam's, operation for operation, each rounded to float32: the same weights and moments, bit
 * for bit.
 *
 * Inputs: `m`, `v` (the flat moments), `acc1`, `acc2` (beta1^t, beta2^t, scalars), `p0..p{n-1}`
 * (the variables, in the flat layout's order), `g0..g{n-1}` (their gradients). Attributes: `count`
 * (n), `beta1`, `beta2`, `learningRate`, `epsilon`. Outputs: the n new variables, the new `m` and
 * `v`, then a `[1]` flag: 1 when every step value (so every gradient value) was finite.
 *
 * Only on wasm (other backends keep FlatAdam's tensor operations); MTGRAPH_FUSED_ADAM=off or
 * `configureAdamUpdateKernel('off')` turn it off.
 */
export const ADAM_UPDATE_KERNEL = 'MtgraphAdamUpdate';

type N = number;
interface Simd {
  update(
    p: N,
    g: N,
    m: N,
    v: N,
    pOut: N,
    mOut: N,
    vOut: N,
    n: N,
    b1: N,
    nb1: N,
    b2: N,
    nb2: N,
    c1: N,
    c2: N,
    eps: N,
    nlr: N,
  ): number;
}

/** The SIMD module on the wasm backend's heap, or null (not wasm, a shared memory, no SIMD). */
const simdFor = heapModule<Simd>(ADAM_UPDATE_WASM);

type Info = tf.TensorInfo;
const f32 = Math.fround;

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackend;
  const simd = simdFor(backend);
  if (!simd) throw new Error(`${ADAM_UPDATE_KERNEL}: the SIMD module does not load here.`);
  const { m, v, acc1, acc2 } = inputs as { m: Info; v: Info; acc1: Info; acc2: Info };
  const { count, beta1, beta2, learningRate, epsilon } = attrs as {
    count: number;
    beta1: number;
    beta2: number;
    learningRate: number;
    epsilon: number;
  };
  const params = Array.from({ length: count }, (_, k) => inputs[`p${k}`] as Info);
  const grads = Array.from({ length: count }, (_, k) => inputs[`g${k}`] as Info);
  // Every output first: allocating may grow the heap, which detaches earlier views of it.
  const out = params.map((p) => b.makeOutput([...p.shape], 'float32'));
  const mOut = b.makeOutput([...m.shape], 'float32');
  const vOut = b.makeOutput([...v.shape], 'float32');
  const flag = b.makeOutput([1], 'float32');
  const view = (t: Info) => b.typedArrayFromHeap(t) as Float32Array; // float32 tensors only
  const at = (t: Info) => view(t).byteOffset;
  // As FlatAdam's operations: 1 - acc in float32, the scalars as float32 tensors.
  const c1 = f32(1 - view(acc1)[0]!);
  const c2 = f32(1 - view(acc2)[0]!);
  const [mAt, vAt, mOutAt, vOutAt] = [at(m), at(v), at(mOut), at(vOut)];
  let offset = 0;
  let probe = 0;
  for (let k = 0; k < count; k++) {
    const n = view(params[k]!).length;
    const o = offset * 4;
    probe += simd.update(
      at(params[k]!),
      at(grads[k]!),
      mAt + o,
      vAt + o,
      at(out[k]!),
      mOutAt + o,
      vOutAt + o,
      n,
      f32(beta1),
      f32(1 - beta1),
      f32(beta2),
      f32(1 - beta2),
      c1,
      c2,
      f32(epsilon),
      f32(-learningRate),
    );
    offset += n;
  }
  if (offset !== view(m).length)
    throw new Error(
      `${ADAM_UPDATE_KERNEL}: the variables hold ${offset} values, the moments ${view(m).length}.`,
    );
  view(flag)[0] = Number.isFinite(probe) ? 1 : 0;
  return [...out, mOut, vOut, flag];
};

if (wasmKernelsVeto() === undefined && !tf.getKernel(ADAM_UPDATE_KERNEL, 'wasm'))
  tf.registerKernel({
    kernelName: ADAM_UPDATE_KERNEL,
    backendName: 'wasm',
    kernelFunc: wasmKernel,
  });

let setting: 'on' | 'off' | undefined;

/** Turns the one-kernel Adam update on or off; undefined goes back to MTGRAPH_FUSED_ADAM (default on). */
export function configureAdamUpdateKernel(value: 'on' | 'off' | undefined): void {
  setting = value;
}

/** Whether FlatAdam's step runs as the one kernel: on wasm, where its SIMD module loads, unless turned off. */
export function adamUpdateKernelAvailable(): boolean {
  if ((setting ?? (envVar('MTGRAPH_FUSED_ADAM') === 'off' ? 'off' : 'on')) === 'off') return false;
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(ADAM_UPDATE_KERNEL, 'wasm')) return false;
  return simdFor(tf.backend()) !== null;
}
