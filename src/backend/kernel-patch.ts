import * as tf from '@tensorflow/tfjs';

/**
 * The @tensorflow/tfjs-core version mtgraph's wasm kernels (the replacements and its own kernels)
 * were written and tested against: they read tfjs-backend-wasm's internals (its heap, its kernel
 * functions), which another version may lay out differently.
 */
export const TESTED_TFJS_CORE = '4.22.0';

/**
 * Why mtgraph's wasm kernels stand aside on the running tfjs (`found`, default the loaded
 * tfjs-core's version), or undefined when they run. On another version the replacements are not
 * installed and mtgraph's own kernels have no wasm variant: tfjs's own kernels run (slower, same
 * results).
 */
export function wasmKernelsVeto(found: string | undefined = tf.version_core): string | undefined {
  if (found === TESTED_TFJS_CORE) return undefined;
  return `mtgraph's wasm kernels stand aside: they were tested with @tensorflow/tfjs-core ${TESTED_TFJS_CORE} (found ${found ?? 'an unknown version'}), so tfjs's own kernels run`;
}

/** A replacement of one registered wasm kernel that can be installed and undone. */
export interface KernelPatch {
  /** Installs the replacement; false when the kernel is not registered (another backend) or tfjs is not the tested version. */
  patch(): boolean;
  /** Puts the original kernel back. */
  restore(): void;
  /** Whether the replacement is installed. */
  patched(): boolean;
}

/**
 * Replaces the wasm kernel `name` by `wrap(original)`, which may call the original for the cases
 * it does not handle. Used for the kernels whose tfjs-backend-wasm 4.22 implementation does work
 * the result does not need (see the files that call it); results stay identical.
 */
export function wasmKernelPatch(
  name: string,
  wrap: (original: tf.KernelConfig) => tf.KernelFunc,
): KernelPatch {
  let original: tf.KernelConfig | undefined;
  return {
    patch() {
      if (original) return true;
      if (wasmKernelsVeto() !== undefined) return false;
      const kernel = tf.getKernel(name, 'wasm');
      if (!kernel) return false;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel({ ...kernel, kernelFunc: wrap(kernel) });
      original = kernel;
      return true;
    },
    restore() {
      if (!original) return;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel(original);
      original = undefined;
    },
    patched: () => original !== undefined,
  };
}

/**
 * A kernel's variable number of inputs as named inputs `x0..x{n-1}` (tfjs kernels take a map), and
 * back in order inside the kernel. Used by mtgraph's own kernels (flat-kernels, laplacian-kernel).
 */
export function numberedInputs(xs: readonly tf.Tensor[]): tf.NamedTensorMap {
  const inputs: tf.NamedTensorMap = {};
  xs.forEach((x, i) => {
    inputs[`x${i}`] = x;
  });
  return inputs;
}

/** The inputs `x0..x{n-1}` of numberedInputs, in order. */
export function numberedInfos(inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  return Object.keys(inputs)
    .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    .map((k) => inputs[k]!);
}

/** What the replacements use of the wasm backend. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  incRef(dataId: object): void;
  disposeData(dataId: object): void;
}

/** What kernels written in JavaScript use of the cpu backend. */
export interface CpuBackend {
  readSync(dataId: object): Float32Array | Int32Array | Uint8Array;
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values: Float32Array | Int32Array | Uint8Array,
  ): tf.TensorInfo;
}

/** dtypes whose values live in the wasm heap (typedArrayFromHeap works on them). */
export const HEAP_TYPES: ReadonlySet<string> = new Set(['float32', 'int32', 'bool']);

/**
 * Copies `count` runs of `length` elements within the wasm heap: run r from element
 * `fromStart + r * fromStride` of `from` to element `toStart + r * toStride` of `to` (both views
 * of the one heap, same element type). Short float32 runs are copied element by element (a loop
 * of its own, so that it only ever sees Float32Arrays and stays fast), others with one
 * `copyWithin` per run (no view per run).
 */
export function copyRuns(
  from: Float32Array | Int32Array | Uint8Array,
  to: Float32Array | Int32Array | Uint8Array,
  count: number,
  length: number,
  fromStart: number,
  fromStride: number,
  toStart: number,
  toStride: number,
): void {
  if (length <= 16 && from instanceof Float32Array && to instanceof Float32Array) {
    copyShortFloat32(from, to, count, length, fromStart, fromStride, toStart, toStride);
    return;
  }
  const unit = from.BYTES_PER_ELEMENT;
  const heap = new (from.constructor as Float32ArrayConstructor)(from.buffer);
  const src = from.byteOffset / unit + fromStart;
  const dst = to.byteOffset / unit + toStart;
  for (let r = 0; r < count; r++)
    heap.copyWithin(dst + r * toStride, src + r * fromStride, src + r * fromStride + length);
}

function copyShortFloat32(
  from: Float32Array,
  to: Float32Array,
  count: number,
  length: number,
  fromStart: number,
  fromStride: number,
  toStart: number,
  toStride: number,
): void {
  for (let r = 0; r < count; r++) {
    const a = fromStart + r * fromStride;
    const b = toStart + r * toStride;
    for (let k = 0; k < length; k++) to[b + k] = from[a + k]!;
  }
}
