import type * as tf from '@tensorflow/tfjs';
import { HEAP_TYPES, wasmKernelPatch, type WasmBackend } from './kernel-patch.js';

/**
 * The wasm backend's `GatherV2` kernel spends about 20 ns per element (0.4 ms to gather 256 rows
 * of 64 features), which made gathering each training batch from the shuffled rows 15 % of a
 * training step. This wraps the kernel so that a gather of whole rows (axis 0, no batch
 * dimensions) copies each row as one block from the wasm heap; everything else goes to the
 * original kernel. Results are identical; `restoreWasmGather()` undoes it.
 */
const gatherPatch = wasmKernelPatch('GatherV2', (gather) => (args) => {
  const { inputs, backend, attrs } = args as unknown as {
    inputs: { x: tf.TensorInfo; indices: tf.TensorInfo };
    backend: WasmBackend;
    attrs: { axis: number; batchDims: number };
  };
  const { x, indices } = inputs;
  const axis = attrs.axis < 0 ? attrs.axis + x.shape.length : attrs.axis;
  if (
    axis !== 0 ||
    (attrs.batchDims ?? 0) !== 0 ||
    x.shape.length < 1 ||
    !HEAP_TYPES.has(x.dtype) ||
    indices.dtype !== 'int32'
  )
    return gather.kernelFunc(args);
  const rows = x.shape[0]!;
  const index = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < index.length; i++) {
    const r = index[i]!;
    if (!(r >= 0 && r < rows))
      throw new Error(`GatherV2: the index value ${r} is not in [0, ${rows - 1}]`);
  }
  const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const from = backend.typedArrayFromHeap(x);
  const to = backend.typedArrayFromHeap(out);
  if (width <= 8) {
    // Short rows: element by element.
    for (let i = 0, dst = 0; i < index.length; i++) {
      const src = index[i]! * width;
      for (let k = 0; k < width; k++, dst++) to[dst] = from[src + k]!;
    }
  } else {
    // Input and output live in the one wasm heap: copy each row within it (no view per row).
    const unit = from.BYTES_PER_ELEMENT;
    const heap = new (from.constructor as Float32ArrayConstructor)(from.buffer);
    const base = from.byteOffset / unit;
    const dst = to.byteOffset / unit;
    for (let i = 0; i < index.length; i++) {
      const src = base + index[i]! * width;
      heap.copyWithin(dst + i * width, src, src + width);
    }
  }
  return out;
});

/** Installs the wrapper; returns false when the wasm kernels are not registered (another backend). */
export const patchWasmGather = (): boolean => gatherPatch.patch();
/** Puts the original wasm `GatherV2` kernel back. */
export const restoreWasmGather = (): void => gatherPatch.restore();
/** Whether the wrapper is installed. */
export const wasmGatherPatched = (): boolean => gatherPatch.patched();
