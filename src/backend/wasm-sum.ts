import type * as tf from '@tensorflow/tfjs';
import { wasmKernelPatch, type WasmBackend } from './kernel-patch.js';

/**
 * The wasm backend's `Sum` kernel reduces only the innermost axis: to sum over the leading axis it
 * first transposes the whole input, then adds one element at a time, about 3.5 ns per element.
 * That is the gradient of every bias (a sum of the batch's rows), 0.34 ms of a 5 ms training
 * step of a 64-256-128 network. This wraps the kernel so that a float32 sum over leading axes
 * (axes 0..k-1 in that order, keeping the rest) adds the rows into the output on the wasm heap, in the order
 * the original adds them (row 0 first, each partial sum rounded to float32), so results are
 * bit-identical; every other sum goes to the original kernel. `restoreWasmSum()` undoes it.
 */
const sumPatch = wasmKernelPatch('Sum', (sum) => (args) => {
  const { inputs, backend, attrs } = args as unknown as {
    inputs: { x: tf.TensorInfo };
    backend: WasmBackend;
    attrs: { axis: number | number[]; keepDims: boolean };
  };
  const { x } = inputs;
  const rank = x.shape.length;
  // Axes in the order given: the original adds in that order (it transposes them innermost as listed).
  const axes = (Array.isArray(attrs.axis) ? attrs.axis : [attrs.axis]).map((a) =>
    a < 0 ? a + rank : a,
  );
  const k = axes.length;
  if (x.dtype !== 'float32' || k === 0 || k >= rank || axes.some((a, i) => a !== i))
    return sum.kernelFunc(args);
  const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const width = x.shape.slice(k).reduce((a, b) => a * b, 1);
  const shape = attrs.keepDims
    ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)]
    : x.shape.slice(k);
  const out = backend.makeOutput(shape, 'float32');
  const to = backend.typedArrayFromHeap(out) as Float32Array;
  const from = backend.typedArrayFromHeap(x) as Float32Array;
  to.fill(0);
  // Four rows per pass over the output; Math.fround rounds each partial sum as float32 addition does.
  const f = Math.fround;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const a = r * width;
    const b = a + width;
    const c = b + width;
    const d = c + width;
    for (let j = 0; j < width; j++)
      to[j] = f(f(f(f(to[j]! + from[a + j]!) + from[b + j]!) + from[c + j]!) + from[d + j]!);
  }
  for (; r < rows; r++) {
    const a = r * width;
    for (let j = 0; j < width; j++) to[j] = to[j]! + from[a + j]!;
  }
  return out;
});

/** Installs the wrapper; returns false when the wasm kernels are not registered (another backend). */
export const patchWasmSum = (): boolean => sumPatch.patch();
/** Puts the original wasm `Sum` kernel back. */
export const restoreWasmSum = (): void => sumPatch.restore();
/** Whether the wrapper is installed. */
export const wasmSumPatched = (): boolean => sumPatch.patched();
