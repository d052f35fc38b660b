import * as tf from '@tensorflow/tfjs';
import { copyRuns, HEAP_TYPES, wasmKernelPatch, type WasmBackend } from './kernel-patch.js';

/**
 * The wasm backend's `SplitV` kernel (tfjs-backend-wasm 4.22) takes each piece with a slice that
 * first copies the whole input out of the heap: splitting `[512, 8, 32]` into its 8 experts (the
 * gradient of every MMoE / PLE gate's stack) copies the input 8 times, ~0.5 ms. This wraps the
 * kernel so that each piece of a numeric tensor is copied run by run within the heap; strings go
 * to the original kernel. Results are identical; `restoreWasmSplit()` undoes it.
 */
const splitPatch = wasmKernelPatch('SplitV', (split) => (args) => {
  const { inputs, backend, attrs } = args as unknown as {
    inputs: { x: tf.TensorInfo };
    backend: WasmBackend;
    attrs: { numOrSizeSplits: number | number[]; axis: number };
  };
  const x = inputs.x;
  if (!HEAP_TYPES.has(x.dtype)) return split.kernelFunc(args);
  const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(
    x as unknown as tf.Tensor,
    attrs.numOrSizeSplits,
    axis,
  ) as number[];
  const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
  const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
  const total = x.shape[axis]! * inner;
  // Every output first: allocating may grow the heap, which detaches earlier views of it.
  const outs = sizes.map((s) =>
    backend.makeOutput(
      x.shape.map((d, i) => (i === axis ? s : d)),
      x.dtype,
    ),
  );
  const from = backend.typedArrayFromHeap(x);
  let offset = 0;
  outs.forEach((out, i) => {
    const width = sizes[i]! * inner;
    if (width > 0 && outer > 0)
      copyRuns(from, backend.typedArrayFromHeap(out), outer, width, offset, total, 0, width);
    offset += width;
  });
  return outs;
});

/** Installs the wrapper; returns false when the wasm kernels are not registered (another backend). */
export const patchWasmSplit = (): boolean => splitPatch.patch();
/** Puts the original wasm `SplitV` kernel back. */
export const restoreWasmSplit = (): void => splitPatch.restore();
/** Whether the wrapper is installed. */
export const wasmSplitPatched = (): boolean => splitPatch.patched();
