import * as tf from '@tensorflow/tfjs';
import { envVar } from '../platform/index.js';
import { type CpuBackend, type WasmBackend, wasmKernelsVeto } from '../backend/kernel-patch.js';

/**
 * The end of a FlatAdam step as ONE kernel, for the backends whose tensors JavaScript can read in
 * place (wasm: the heap; cpu: typed arrays): adds each variable's part of the flat step to it and
 * says whether every gradient value was finite. With tensor operations that is a slice, a reshape
 * and an add per variable plus five operations for the flag, about 25 kernel calls per training
 * step; the element-wise Adam arithmetic itself stays in tensor operations (wasm runs them with
 * SIMD, much faster than JavaScript can divide and take square roots). Each sum is rounded to
 * float32, as the Add kernel rounds it, so the new weights are bit-identical.
 *
 * Inputs: `step` (flat), `p0..p{n-1}` (the variables, in the flat layout's order). Outputs: the
 * n new variables (their own shapes), then a `[1]` flag: 1 when every gradient value was finite
 * (see applyStep). Attribute: `count` (n).
 */
export const APPLY_STEP_KERNEL = 'MtgraphApplyStep';

/**
 * Writes `out[k] = step part k + params[k]` (a Float32Array store rounds the sum to float32, as
 * the Add kernel does) and returns 1 when every step value is finite: exactly when every gradient
 * value is, since a NaN or infinite gradient makes its step NaN (inf / inf in Adam's ratio).
 */
function applyStep(
  step: Float32Array,
  params: readonly Float32Array[],
  out: readonly Float32Array[],
): number {
  let at = 0;
  let probe = 0;
  for (let k = 0; k < params.length; k++) {
    const p = params[k]!;
    const o = out[k]!;
    for (let i = 0; i < p.length; i++, at++) {
      const s = step[at]!;
      probe += s * 0;
      o[i] = s + p[i]!;
    }
  }
  return Number.isFinite(probe) ? 1 : 0;
}

type Info = tf.TensorInfo;

const paramsOf = (inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) =>
  Array.from({ length: attrs.count as number }, (_, k) => inputs[`p${k}`]!);

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackend;
  const { step } = inputs as { step: Info };
  const params = paramsOf(inputs as tf.NamedTensorInfoMap, attrs!);
  // Every output first: allocating may grow the heap, which detaches earlier views of it.
  const out = params.map((p) => b.makeOutput([...p.shape], 'float32'));
  const flag = b.makeOutput([1], 'float32');
  const view = (t: Info) => b.typedArrayFromHeap(t) as Float32Array; // float32 tensors only
  view(flag)[0] = applyStep(view(step), params.map(view), out.map(view));
  return [...out, flag];
};

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CpuBackend;
  const { step } = inputs as { step: Info };
  const params = paramsOf(inputs as tf.NamedTensorInfoMap, attrs!);
  const out = params.map((p) => new Float32Array(p.shape.reduce((s, d) => s * d, 1)));
  const read = (t: Info) => b.readSync(t.dataId) as Float32Array; // float32 tensors only
  const ok = applyStep(read(step), params.map(read), out);
  return [
    ...out.map((values, k) => b.makeTensorInfo([...params[k]!.shape], 'float32', values)),
    b.makeTensorInfo([1], 'float32', Float32Array.of(ok)),
  ];
};

for (const [backendName, kernelFunc] of [
  ['wasm', wasmKernel],
  ['cpu', cpuKernel],
] as const) {
  if (backendName === 'wasm' && wasmKernelsVeto() !== undefined) continue;
  if (!tf.getKernel(APPLY_STEP_KERNEL, backendName))
    tf.registerKernel({ kernelName: APPLY_STEP_KERNEL, backendName, kernelFunc });
}

/** Whether the one-kernel end of step runs on the current backend (`MTGRAPH_FUSED_ADAM=off`: never). */
export function applyStepKernelAvailable(): boolean {
  return (
    envVar('MTGRAPH_FUSED_ADAM') !== 'off' &&
    tf.getKernel(APPLY_STEP_KERNEL, tf.getBackend()) !== undefined
  );
}
