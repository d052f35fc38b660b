import * as tf from '@tensorflow/tfjs';
import { type CpuBackend, type WasmBackend, wasmKernelsVeto } from './kernel-patch.js';
import { heapModule } from './heap-module.js';
import { SEGMENT_SUM_WASM } from './wasm/segment_sum.wasm.js';

/**
 * `UnsortedSegmentSum` (x [n, ...inner], segmentIds [n] int32; numSegments) -> out [numSegments,
 * ...inner], `out[s] = sum of x[i] over the rows i with segmentIds[i] = s` (rows whose id is out
 * of range add nothing). It is the scatter-add behind the gradient of a gather, so an Embedding
 * table trains with it:
 *
 * - tfjs-backend-wasm 4.22 has no such kernel (an Embedding cannot train there): this registers
 *   one, a small SIMD module (src/backend/wasm/segment_sum.wat) on the backend's own heap, with
 *   the same loop in JavaScript where the module cannot be bound (a shared memory, no SIMD);
 * - tfjs-backend-cpu's kernel builds a mask, a product and a sum over all n rows for each of the
 *   numSegments segments (O(numSegments × n × inner): seconds per step for a table of thousands
 *   of rows); this replaces it by the one pass over the rows (O(n × inner)), summing in the same
 *   row order in float64 as tfjs's does, so the values are the same. `restoreCpuSegmentSum()`
 *   puts tfjs's kernel back.
 *
 * Both stand aside on a tfjs-core version they were not tested with (kernel-patch.ts). Browser-safe.
 */
export const SEGMENT_SUM_KERNEL = 'UnsortedSegmentSum';

/** The shared arithmetic: out (zeroed) += rows of x by id. */
function segmentSum(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  out: Float32Array | Float64Array | Int32Array,
  width: number,
  segments: number,
): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(id >= 0 && id < segments)) continue;
    const src = i * width;
    const dst = id * width;
    for (let k = 0; k < width; k++) out[dst + k] = out[dst + k]! + x[src + k]!;
  }
}

interface Shapes {
  n: number;
  width: number;
  outShape: number[];
}

function shapesOf(x: tf.TensorInfo, ids: tf.TensorInfo, segments: number): Shapes {
  const rank = ids.shape.length;
  const prefix = x.shape.slice(0, rank);
  if (
    rank < 1 ||
    prefix.length !== rank ||
    prefix.some((d, i) => d !== ids.shape[i]) ||
    !(Number.isInteger(segments) && segments >= 0)
  )
    throw new Error(
      `${SEGMENT_SUM_KERNEL}: segmentIds [${ids.shape.join(', ')}] must be a prefix of x [${x.shape.join(', ')}], numSegments a whole number (got ${segments}).`,
    );
  const n = prefix.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(rank);
  return { n, width: inner.reduce((a, b) => a * b, 1), outShape: [segments, ...inner] };
}

interface Simd {
  sum(x: number, ids: number, out: number, n: number, width: number, segments: number): void;
}

/** The SIMD module on the wasm backend's heap, or null (not wasm, a shared memory, no SIMD). */
const simdFor = heapModule<Simd>(SEGMENT_SUM_WASM);

type Inputs = { x: tf.TensorInfo; segmentIds: tf.TensorInfo };

const wasmSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackend;
  const { x, segmentIds } = inputs as Inputs;
  const segments = (attrs as { numSegments: number }).numSegments;
  const { n, width, outShape } = shapesOf(x, segmentIds, segments);
  if (segmentIds.dtype !== 'int32' || (x.dtype !== 'float32' && x.dtype !== 'int32'))
    throw new Error(
      `${SEGMENT_SUM_KERNEL}: expected float32 or int32 x and int32 segmentIds (got ${x.dtype}, ${segmentIds.dtype}).`,
    );
  // The output first: allocating may grow the heap, which detaches earlier views of it.
  const out = b.makeOutput(outShape, x.dtype);
  const to = b.typedArrayFromHeap(out) as Float32Array | Int32Array;
  to.fill(0);
  const simd = x.dtype === 'float32' ? simdFor(backend) : null;
  const from = b.typedArrayFromHeap(x);
  const ids = b.typedArrayFromHeap(segmentIds) as Int32Array;
  if (simd && n > 0 && width > 0) {
    simd.sum(from.byteOffset, ids.byteOffset, to.byteOffset, n, width, segments);
    return out;
  }
  segmentSum(from, ids, to, width, segments);
  return out;
};

const cpuSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CpuBackend;
  const { x, segmentIds } = inputs as Inputs;
  const segments = (attrs as { numSegments: number }).numSegments;
  const { width, outShape } = shapesOf(x, segmentIds, segments);
  const ids = b.readSync(segmentIds.dataId) as Int32Array;
  if (x.dtype === 'int32') {
    const out = new Int32Array(segments * width);
    segmentSum(b.readSync(x.dataId), ids, out, width, segments);
    return b.makeTensorInfo(outShape, 'int32', out);
  }
  // Summed in float64 and rounded once, as tfjs's own cpu kernel (its Sum) does: the same values.
  const sums = new Float64Array(segments * width);
  segmentSum(b.readSync(x.dataId), ids, sums, width, segments);
  return b.makeTensorInfo(outShape, 'float32', Float32Array.from(sums));
};

let cpuOriginal: tf.KernelConfig | undefined;

/** Installs the kernels (wasm: when absent; cpu: in place of tfjs's); false when tfjs is not the tested version. */
export function installSegmentSum(): boolean {
  if (wasmKernelsVeto() !== undefined) return false;
  if (!tf.getKernel(SEGMENT_SUM_KERNEL, 'wasm'))
    tf.registerKernel({
      kernelName: SEGMENT_SUM_KERNEL,
      backendName: 'wasm',
      kernelFunc: wasmSegmentSum,
    });
  const cpu = tf.getKernel(SEGMENT_SUM_KERNEL, 'cpu');
  if (!cpuOriginal && cpu && cpu.kernelFunc !== cpuSegmentSum) {
    cpuOriginal = cpu;
    tf.unregisterKernel(SEGMENT_SUM_KERNEL, 'cpu');
    tf.registerKernel({ ...cpu, kernelFunc: cpuSegmentSum });
  }
  return true;
}

/** Puts tfjs's own cpu kernel back (tests compare against it). */
export function restoreCpuSegmentSum(): void {
  if (!cpuOriginal) return;
  tf.unregisterKernel(SEGMENT_SUM_KERNEL, 'cpu');
  tf.registerKernel(cpuOriginal);
  cpuOriginal = undefined;
}

/** Whether mtgraph's cpu kernel is the one registered. */
export function cpuSegmentSumPatched(): boolean {
  return cpuOriginal !== undefined;
}

installSegmentSum();
