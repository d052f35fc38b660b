import * as tf from '@tensorflow/tfjs';
import { copyRuns, HEAP_TYPES, wasmKernelPatch, type WasmBackend } from './kernel-patch.js';

/**
 * The wasm backend's `Concat` kernel (tfjs-backend-wasm 4.22) joins tensors along an inner axis by
 * making a new view of the heap for every row of every input: stacking 8 experts of `[512, 1, 32]`
 * into `[512, 8, 32]` (what every MMoE / PLE gate does) makes 4,096 views and takes ~0.8 ms. This
 * wraps the kernel so that numeric tensors are copied run by run within the heap; strings go to
 * the original kernel. Results are identical; `restoreWasmConcat()` undoes it.
 */
const concatPatch = wasmKernelPatch('Concat', (concat) => (args) => {
  const { inputs, backend, attrs } = args as unknown as {
    inputs: tf.TensorInfo[];
    backend: WasmBackend;
    attrs: { axis: number };
  };
  const kept = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (kept.length < 2 || !kept.every((t) => HEAP_TYPES.has(t.dtype) && t.dtype === kept[0]!.dtype))
    return concat.kernelFunc(args);
  const axis = tf.util.parseAxisParam(attrs.axis, inputs[0]!.shape)[0]!;
  tf.backend_util.assertParamsConsistent(
    inputs.map((t) => t.shape),
    axis,
  );
  const shape = tf.backend_util.computeOutShape(
    inputs.map((t) => t.shape),
    axis,
  );
  const out = backend.makeOutput(shape, kept[0]!.dtype);
  const outer = tf.util.sizeFromShape(shape.slice(0, axis));
  const widths = kept.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
  const total = widths.reduce((a, b) => a + b, 0);
  const to = backend.typedArrayFromHeap(out);
  let offset = 0;
  kept.forEach((t, i) => {
    copyRuns(backend.typedArrayFromHeap(t), to, outer, widths[i]!, 0, widths[i]!, offset, total);
    offset += widths[i]!;
  });
  return out;
});

/** Installs the wrapper; returns false when the wasm kernels are not registered (another backend). */
export const patchWasmConcat = (): boolean => concatPatch.patch();
/** Puts the original wasm `Concat` kernel back. */
export const restoreWasmConcat = (): void => concatPatch.restore();
/** Whether the wrapper is installed. */
export const wasmConcatPatched = (): boolean => concatPatch.patched();
