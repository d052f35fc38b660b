import * as tf from '@tensorflow/tfjs';
import { envVar } from '../platform/index.js';
import {
  numberedInfos,
  numberedInputs,
  type CpuBackend,
  type WasmBackend,
  wasmKernelsVeto,
} from './kernel-patch.js';
import { type HeapMemory, heapModule } from './heap-module.js';
import { LAPLACIAN_WASM } from './wasm/laplacian.wasm.js';

/**
 * The graph-Laplacian penalty of coupled weights as ONE kernel: its value and its gradient in one
 * pass over the weights where they live, without laying them out as a matrix, without a matrix
 * product (wasm's packs the wide operand, ~1 ms a step for 8 towers of 256-128) and without
 * cutting the gradient back.
 *
 * Row i of the penalty is a task's weights, in `pieces` tensors (a kernel and a bias), every row
 * with the same shapes. With L (rows x rows, dense, row-major, strength included):
 *
 *   value = sum_i <x_i, sum_j L_ij x_j>        gradient g_i = 2 sum_j L_ij x_j
 *
 * Inputs `x0..x{rows*pieces-1}` (row r's piece p is `x{r*pieces+p}`, float32); attributes `rows`
 * and `L`. Outputs: the value (a float32 scalar), then one gradient per input, in its shape.
 *
 * On wasm the arithmetic is a small SIMD module (src/backend/wasm/laplacian.wat) that imports
 * tfjs-backend-wasm's own memory, so it reads the weights and writes the gradients in place; where
 * that memory cannot be imported (a shared memory) the same arithmetic runs in JavaScript on heap
 * views, as it does on the cpu backend. Only L's non-zero entries are visited.
 */
export const LAPLACIAN_KERNEL = 'MtgraphLaplacian';

type Info = tf.TensorInfo;

/** Per row of L, its non-zero entries [column, value]. */
function nonZeros(L: ArrayLike<number>, rows: number): Array<Array<[number, number]>> {
  return Array.from({ length: rows }, (_, i) => {
    const entries: Array<[number, number]> = [];
    for (let j = 0; j < rows; j++) if (L[i * rows + j] !== 0) entries.push([j, L[i * rows + j]!]);
    return entries;
  });
}

/** The arithmetic in JavaScript, for one piece of every row: writes g_i, returns the value. */
function laplacianJs(
  xs: readonly Float32Array[],
  gs: readonly Float32Array[],
  entries: ReadonlyArray<ReadonlyArray<[number, number]>>,
): number {
  let value = 0;
  const n = xs[0]!.length;
  entries.forEach((row, i) => {
    const g = gs[i]!;
    const xi = xs[i]!;
    g.fill(0);
    for (const [j, v] of row) {
      const xj = xs[j]!;
      for (let c = 0; c < n; c++) g[c] = g[c]! + v * xj[c]!;
    }
    for (let c = 0; c < n; c++) {
      value += xi[c]! * g[c]!;
      g[c] = 2 * g[c]!;
    }
  });
  return value;
}

interface Attrs {
  rows: number;
  L: ArrayLike<number>;
}

/** The kernel's inputs in order, checked against its attributes: rows, pieces per row and L's non-zero entries. */
function argsOf(inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined) {
  const xs = numberedInfos(inputs);
  const { rows, L } = attrs as unknown as Attrs;
  const pieces = check(xs, rows, L);
  return { xs, rows, pieces, entries: nonZeros(L, rows) };
}

function check(xs: readonly Info[], rows: number, L: ArrayLike<number>): number {
  const pieces = xs.length / rows;
  if (!Number.isInteger(pieces) || pieces < 1 || L.length !== rows * rows)
    throw new Error(
      `${LAPLACIAN_KERNEL}: ${xs.length} inputs and an L of ${L.length} entries do not make ${rows} rows.`,
    );
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < pieces; p++) {
      const x = xs[r * pieces + p]!;
      if (x.dtype !== 'float32' || x.shape.join('x') !== xs[p]!.shape.join('x'))
        throw new Error(
          `${LAPLACIAN_KERNEL}: row ${r} piece ${p} is ${x.dtype} [${x.shape.join(', ')}]; every row needs float32 pieces of row 0's shapes.`,
        );
    }
  }
  return pieces;
}

/** What the wasm kernel uses of the wasm backend beyond WasmBackend: its Emscripten module. */
interface WasmModuleHost {
  wasm: {
    asm: { memory: HeapMemory };
    _malloc(bytes: number): number;
    _free(at: number): void;
    HEAP32: Int32Array;
    HEAPF32: Float32Array;
  };
}

type LaplacianFn = (plan: number, rows: number, n: number) => number;
const laplacianModule = heapModule<{ laplacian: LaplacianFn }>(LAPLACIAN_WASM);

/** The SIMD function on the wasm backend's heap, or null (a shared memory, no SIMD). */
function simdFor(backend: unknown): LaplacianFn | null {
  return laplacianModule(backend)?.laplacian ?? null;
}

const wasmKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WasmBackend & WasmModuleHost;
  const { xs, rows, pieces, entries } = argsOf(inputs as tf.NamedTensorInfoMap, attrs);
  // Every output first: allocating may grow the heap, which detaches earlier views of it.
  const value = b.makeOutput([], 'float32');
  const gs = xs.map((x) => b.makeOutput([...x.shape], 'float32'));
  const view = (t: Info) => b.typedArrayFromHeap(t) as Float32Array;
  const simd = simdFor(b);
  let total = 0;
  if (simd) {
    const words = rows * 3 + 2 * entries.reduce((s, e) => s + e.length, 0);
    const plan = b.wasm._malloc(words * 4);
    try {
      for (let p = 0; p < pieces; p++) {
        const address = (t: Info) => view(t).byteOffset;
        const i32 = b.wasm.HEAP32;
        const f32 = b.wasm.HEAPF32;
        let w = plan >> 2;
        entries.forEach((row, i) => {
          i32[w++] = address(gs[i * pieces + p]!);
          i32[w++] = address(xs[i * pieces + p]!);
          i32[w++] = row.length;
          for (const [j, v] of row) {
            i32[w++] = address(xs[j * pieces + p]!);
            f32[w++] = v;
          }
        });
        total += simd(
          plan,
          rows,
          xs[p]!.shape.reduce((s, d) => s * d, 1),
        );
      }
    } finally {
      b.wasm._free(plan);
    }
  } else {
    for (let p = 0; p < pieces; p++) {
      const piece = (ts: Info[]) =>
        Array.from({ length: rows }, (_, r) => view(ts[r * pieces + p]!));
      total += laplacianJs(piece(xs), piece(gs), entries);
    }
  }
  view(value)[0] = total;
  return [value, ...gs];
};

const cpuKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CpuBackend;
  const { xs, rows, pieces, entries } = argsOf(inputs as tf.NamedTensorInfoMap, attrs);
  const values = xs.map((x) => b.readSync(x.dataId) as Float32Array);
  const gs = values.map((v) => new Float32Array(v.length));
  let total = 0;
  for (let p = 0; p < pieces; p++) {
    const piece = (arrays: Float32Array[]) =>
      Array.from({ length: rows }, (_, r) => arrays[r * pieces + p]!);
    total += laplacianJs(piece(values), piece(gs), entries);
  }
  return [
    b.makeTensorInfo([], 'float32', Float32Array.of(total)),
    ...gs.map((g, k) => b.makeTensorInfo([...xs[k]!.shape], 'float32', g)),
  ];
};

for (const [backendName, kernelFunc] of [
  ['wasm', wasmKernel],
  ['cpu', cpuKernel],
] as const) {
  if (backendName === 'wasm' && wasmKernelsVeto() !== undefined) continue;
  if (!tf.getKernel(LAPLACIAN_KERNEL, backendName))
    tf.registerKernel({ kernelName: LAPLACIAN_KERNEL, backendName, kernelFunc });
}

/** Whether the one-kernel penalty runs on the current backend (`MTGRAPH_LAPLACIAN_KERNEL=off`: never). */
export function laplacianKernelAvailable(): boolean {
  return (
    envVar('MTGRAPH_LAPLACIAN_KERNEL') !== 'off' &&
    tf.getKernel(LAPLACIAN_KERNEL, tf.getBackend()) !== undefined
  );
}

/**
 * How the kernel computes on the current backend: 'wasm-simd' (the SIMD module on the heap),
 * 'javascript' (cpu, or a wasm heap the module cannot import), or undefined (no kernel: the
 * penalty uses tensor operations).
 */
export function laplacianKernelImplementation(): 'wasm-simd' | 'javascript' | undefined {
  if (!laplacianKernelAvailable()) return undefined;
  const backend = tf.backend() as unknown as Partial<WasmModuleHost>;
  if (tf.getBackend() === 'wasm' && backend.wasm && simdFor(backend)) return 'wasm-simd';
  return 'javascript';
}

/**
 * `[value, ...gradients]` of the penalty of `rows` rows of weights (`xs`: row r's piece p at
 * `r * pieces + p`) under L (rows x rows, strength included): one `MtgraphLaplacian` kernel call.
 * Not differentiable itself: the gradients are its outputs (use them in a tf.customGrad).
 */
export function laplacianKernel(
  xs: readonly tf.Tensor[],
  rows: number,
  L: Float32Array,
): [tf.Scalar, ...tf.Tensor[]] {
  return tf.engine().runKernel(LAPLACIAN_KERNEL, numberedInputs(xs), {
    rows,
    L,
  } as unknown as tf.NamedAttrMap) as unknown as [tf.Scalar, ...tf.Tensor[]];
}
