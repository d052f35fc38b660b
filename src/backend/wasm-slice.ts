import * as tf from '@tensorflow/tfjs';
import { HEAP_TYPES, wasmKernelPatch, type WasmBackend } from './kernel-patch.js';

/**
 * The wasm backend's `Slice` kernel (tfjs-backend-wasm 4.22) copies its whole input out of the
 * wasm heap (`readSync`) before taking the slice, so a slice costs as much as copying the tensor
 * it is cut from: taking the 139 columns of a `[1024, 139]` output costs 139 copies of it. This
 * wraps the kernel so that contiguous slices, and slices of matrices, read the input in place (a
 * view of the heap) and copy only what they return; other slices go to the original kernel.
 * Results are identical; `restoreWasmSlice()` undoes it.
 */
const slicePatch = wasmKernelPatch('Slice', (slice) => (args) => {
  const { inputs, backend, attrs } = args as unknown as {
    inputs: { x: tf.TensorInfo };
    backend: WasmBackend;
    attrs: { begin: number | number[]; size?: number | number[] };
  };
  const x = inputs.x;
  if (!HEAP_TYPES.has(x.dtype)) return slice.kernelFunc(args);
  const [begin, size] = tf.slice_util.parseSliceParams(
    x as unknown as tf.Tensor,
    attrs.begin,
    attrs.size,
  ) as [number[], number[]];
  const contiguous = tf.slice_util.isSliceContinous(x.shape, begin, size);
  if (!contiguous && x.shape.length !== 2) return slice.kernelFunc(args);
  const out = backend.makeOutput(size, x.dtype);
  const from = backend.typedArrayFromHeap(x);
  const to = backend.typedArrayFromHeap(out);
  if (contiguous) {
    const offset = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    to.set(from.subarray(offset, offset + to.length));
    return out;
  }
  const [rows, columns] = size as [number, number];
  const stride = x.shape[1]!;
  let src = begin[0]! * stride + begin[1]!;
  if (columns === 1) {
    for (let i = 0; i < rows; i++, src += stride) to[i] = from[src]!;
  } else {
    for (let i = 0, dst = 0; i < rows; i++, src += stride, dst += columns)
      to.set(from.subarray(src, src + columns), dst);
  }
  return out;
});

/** Installs the wrapper; returns false when the wasm kernels are not registered (another backend). */
export const patchWasmSlice = (): boolean => slicePatch.patch();
/** Puts the original wasm `Slice` kernel back. */
export const restoreWasmSlice = (): void => slicePatch.restore();
/** Whether the wrapper is installed. */
export const wasmSlicePatched = (): boolean => slicePatch.patched();
