import type * as tf from '@tensorflow/tfjs';
import { wasmKernelPatch, type WasmBackend } from './kernel-patch.js';

/** Side of the square blocks the matrix is transposed in (keeps reads and writes in cache). */
const BLOCK = 16;

/**
 * The wasm backend's `Transpose` kernel moves one element at a time through an N-dimensional
 * index computation, about 4.5 ns per element: 0.3 ms for a 256 x 256 matrix. Every dense
 * layer's backward pass transposes matrices of that size (see wasm-matmul.ts), so this wraps the
 * kernel so that float32 matrices (rank 2, or a leading 1) are transposed in cache-sized blocks straight
 * between the heap views, about 3x faster; other permutations go to the original kernel.
 * Results are identical; `restoreWasmTranspose()` undoes it.
 */
const transposePatch = wasmKernelPatch('Transpose', (transpose) => (args) => {
  const {
    inputs: { x },
    backend,
    attrs: { perm },
  } = args as unknown as {
    inputs: { x: tf.TensorInfo };
    backend: WasmBackend;
    attrs: { perm: number[] };
  };
  const shape = x.shape;
  const matrix =
    (shape.length === 2 && perm[0] === 1 && perm[1] === 0) ||
    (shape.length === 3 && shape[0] === 1 && perm[0] === 0 && perm[1] === 2 && perm[2] === 1);
  if (!matrix || x.dtype !== 'float32') return transpose.kernelFunc(args);
  const rows = shape[shape.length - 2]!;
  const columns = shape[shape.length - 1]!;
  const out = backend.makeOutput(
    shape.length === 2 ? [columns, rows] : [1, columns, rows],
    x.dtype,
  );
  const from = backend.typedArrayFromHeap(x) as Float32Array;
  const to = backend.typedArrayFromHeap(out) as Float32Array;
  for (let i0 = 0; i0 < rows; i0 += BLOCK) {
    const iEnd = Math.min(i0 + BLOCK, rows);
    for (let j0 = 0; j0 < columns; j0 += BLOCK) {
      const jEnd = Math.min(j0 + BLOCK, columns);
      for (let i = i0; i < iEnd; i++) {
        const row = i * columns;
        for (let j = j0; j < jEnd; j++) to[j * rows + i] = from[row + j]!;
      }
    }
  }
  return out;
});

/** Installs the wrapper; returns false when the wasm kernels are not registered (another backend). */
export const patchWasmTranspose = (): boolean => transposePatch.patch();
/** Puts the original wasm `Transpose` kernel back. */
export const restoreWasmTranspose = (): void => transposePatch.restore();
/** Whether the wrapper is installed. */
export const wasmTransposePatched = (): boolean => transposePatch.patched();
