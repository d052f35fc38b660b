import * as tf from '@tensorflow/tfjs';
import {
  numberedInfos,
  numberedInputs,
  type CpuBackend,
  type WasmBackend,
  wasmKernelsVeto,
} from './kernel-patch.js';

/**
 * Two copying kernels for the backends whose tensors JavaScript reads in place (wasm: the heap;
 * cpu: typed arrays), so that code laying many tensors end to end and cutting them back makes one
 * kernel call and one tensor each way instead of a reshape per tensor plus a concat (or a slice
 * and a reshape per piece): the graph-Laplacian penalty does both every training step, and its
 * ~100 extra tensors per step cost garbage-collection time. Not differentiable: use them where
 * the gradient is given otherwise (tf.customGrad).
 *
 * - `MtgraphFlatConcat`: inputs `x0..x{n-1}` (any shapes, one dtype), attribute `shape` (whose
 *   size is the sum of theirs): their values end to end, in that shape.
 * - `MtgraphFlatSplit`: input `x`, attribute `shapes`: one output per shape, taking x's values in
 *   order (the sizes add up to x's).
 */
export const FLAT_CONCAT = 'MtgraphFlatConcat';
export const FLAT_SPLIT = 'MtgraphFlatSplit';

type Info = tf.TensorInfo;
type Values = Float32Array | Int32Array | Uint8Array;

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const arrayFor = (dtype: tf.DataType, n: number): Values =>
  dtype === 'int32'
    ? new Int32Array(n)
    : dtype === 'bool'
      ? new Uint8Array(n)
      : new Float32Array(n);

const kernels: Array<{ backendName: string; concat: tf.KernelFunc; split: tf.KernelFunc }> = [
  {
    backendName: 'wasm',
    concat: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackend;
      const xs = numberedInfos(inputs as tf.NamedTensorInfoMap);
      const out = b.makeOutput([...(attrs!.shape as number[])], xs[0]!.dtype);
      const to = b.typedArrayFromHeap(out);
      let at = 0;
      for (const x of xs) {
        const from = b.typedArrayFromHeap(x);
        to.set(from as Float32Array, at);
        at += from.length;
      }
      return out;
    },
    split: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackend;
      const x = (inputs as { x: Info }).x;
      // Every output first: allocating may grow the heap, which detaches earlier views of it.
      const outs = (attrs!.shapes as number[][]).map((shape) => b.makeOutput([...shape], x.dtype));
      const from = b.typedArrayFromHeap(x);
      let at = 0;
      for (const out of outs) {
        const to = b.typedArrayFromHeap(out);
        to.set(from.subarray(at, at + to.length) as Float32Array);
        at += to.length;
      }
      return outs;
    },
  },
  {
    backendName: 'cpu',
    concat: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuBackend;
      const xs = numberedInfos(inputs as tf.NamedTensorInfoMap);
      const shape = [...(attrs!.shape as number[])];
      const values = arrayFor(xs[0]!.dtype, size(shape));
      let at = 0;
      for (const x of xs) {
        const from = b.readSync(x.dataId);
        values.set(from as Float32Array, at);
        at += from.length;
      }
      return b.makeTensorInfo(shape, xs[0]!.dtype, values);
    },
    split: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuBackend;
      const x = (inputs as { x: Info }).x;
      const from = b.readSync(x.dataId);
      let at = 0;
      return (attrs!.shapes as number[][]).map((shape) => {
        const n = size(shape);
        const values = from.slice(at, at + n);
        at += n;
        return b.makeTensorInfo([...shape], x.dtype, values);
      });
    },
  },
];
for (const k of kernels) {
  if (k.backendName === 'wasm' && wasmKernelsVeto() !== undefined) continue;
  if (!tf.getKernel(FLAT_CONCAT, k.backendName))
    tf.registerKernel({
      kernelName: FLAT_CONCAT,
      backendName: k.backendName,
      kernelFunc: k.concat,
    });
  if (!tf.getKernel(FLAT_SPLIT, k.backendName))
    tf.registerKernel({ kernelName: FLAT_SPLIT, backendName: k.backendName, kernelFunc: k.split });
}

/** Tensors laid end to end in `shape` (`MtgraphFlatConcat`, or reshapes and a concat where the backend lacks it). Not differentiable. */
export function flatConcat(xs: readonly tf.Tensor[], shape: number[]): tf.Tensor {
  const total = xs.reduce((n, x) => n + x.size, 0);
  if (total !== size(shape))
    throw new Error(
      `flatConcat: cannot lay ${total} values into a shape of ${size(shape)} ([${shape.join(', ')}]).`,
    );
  if (tf.getKernel(FLAT_CONCAT, tf.getBackend())) {
    return tf.engine().runKernel(FLAT_CONCAT, numberedInputs(xs), {
      shape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.reshape(tf.concat(xs.map((x) => tf.reshape(x, [-1]))), shape);
}

/** x's values cut into tensors of `shapes`, in order (`MtgraphFlatSplit`, or slices and reshapes where the backend lacks it). Not differentiable. */
export function flatSplit(x: tf.Tensor, shapes: number[][]): tf.Tensor[] {
  const total = shapes.reduce((n, s) => n + size(s), 0);
  if (total !== x.size)
    throw new Error(`flatSplit: cannot cut ${x.size} values into shapes of ${total} in all.`);
  if (tf.getKernel(FLAT_SPLIT, tf.getBackend())) {
    return tf
      .engine()
      .runKernel(FLAT_SPLIT, { x }, { shapes } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  }
  const flat = tf.reshape(x, [-1]);
  let at = 0;
  return shapes.map((shape) => {
    const n = size(shape);
    const piece = tf.reshape(tf.slice(flat, at, n), shape);
    at += n;
    return piece;
  });
}
