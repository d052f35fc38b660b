import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  patchWasmMatMul,
  restoreWasmMatMul,
  wasmMatMulPatched,
  patchWasmSlice,
  restoreWasmSlice,
  wasmSlicePatched,
  patchWasmGather,
  restoreWasmGather,
  wasmGatherPatched,
  patchWasmTranspose,
  restoreWasmTranspose,
  wasmTransposePatched,
  patchWasmSum,
  restoreWasmSum,
  wasmSumPatched,
  patchWasmConcat,
  restoreWasmConcat,
  wasmConcatPatched,
  patchWasmSplit,
  restoreWasmSplit,
  wasmSplitPatched,
} from '../../src/backend/index.js';

let wasm = false;
beforeAll(async () => {
  const report = await initBackend();
  wasm = report.backend === 'wasm';
});

/** Every transpose combination, rank 2 and batched rank 3, and the gradients of a dense-like product. */
function products(): number[][] {
  return tf.tidy(() => {
    const out: number[][] = [];
    const a2 = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
    const b2 = tf.randomNormal([7, 3], 0, 1, 'float32', 2);
    const a3 = tf.randomNormal([2, 5, 7], 0, 1, 'float32', 3);
    const b3 = tf.randomNormal([2, 7, 3], 0, 1, 'float32', 4);
    for (const [a, b] of [
      [a2, b2],
      [a3, b3],
    ] as const) {
      const perm = a.rank === 2 ? [1, 0] : [0, 2, 1];
      out.push(Array.from(tf.matMul(a, b).dataSync()));
      out.push(Array.from(tf.matMul(tf.transpose(a, perm), b, true, false).dataSync()));
      out.push(Array.from(tf.matMul(a, tf.transpose(b, perm), false, true).dataSync()));
      out.push(
        Array.from(tf.matMul(tf.transpose(a, perm), tf.transpose(b, perm), true, true).dataSync()),
      );
    }
    // Aᵀ B with few columns in B (a head's kernel gradient): computed as (Bᵀ A)ᵀ.
    for (const shape of [
      [40, 30, 2],
      [2, 40, 30, 3],
    ]) {
      const a = tf.randomNormal(shape.slice(0, -1), 0, 1, 'float32', 9);
      const b = tf.randomNormal([...shape.slice(0, -2), shape.at(-1)!], 0, 1, 'float32', 10);
      out.push(Array.from(tf.matMul(a, b, true, false).dataSync()));
    }
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 5);
    const w = tf.randomNormal([4, 3], 0, 1, 'float32', 6);
    const grads = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q))))([
      x,
      w,
    ]);
    for (const g of grads) out.push(Array.from(g.dataSync()));
    return out;
  });
}

/** Slices of every kind the wrapper handles (contiguous, matrix rows, columns, blocks) and some it passes on (rank 3, int32, bool). */
function slices(): number[][] {
  return tf.tidy(() => {
    const m = tf.randomNormal([9, 7], 0, 1, 'float32', 1);
    const c = tf.randomNormal([4, 5, 6], 0, 1, 'float32', 2);
    const ints = tf.tensor2d(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [2, 3],
      'int32',
    );
    const bools = tf.tensor2d(
      [
        [true, false, true],
        [false, true, true],
      ],
      [2, 3],
      'bool',
    );
    const cases: tf.Tensor[] = [
      tf.slice(m, [0, 0], [-1, -1]),
      tf.slice(m, [2, 0], [3, -1]),
      tf.slice(m, [0, 3], [-1, 1]),
      tf.slice(m, [1, 2], [4, 3]),
      tf.slice(m, [8, 6], [1, 1]),
      tf.slice(c, [1, 0, 0], [2, -1, -1]),
      tf.slice(c, [0, 1, 2], [2, 3, 2]),
      tf.slice(ints, [0, 1], [-1, 2]),
      tf.cast(tf.slice(bools, [1, 0], [1, 2]), 'float32'),
      tf.slice(tf.range(0, 10), [3], [4]),
      ...tf.split(m, [2, 4, 1], 1),
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.slice(x, [1, 1], [5, 2]))))(m),
    ];
    return cases.map((t) => Array.from(t.dataSync()));
  });
}

/** Row gathers the wrapper handles (float32, int32, bool, vectors, rank 3, repeated indices) and gathers it passes on (other axes). */
function gathers(): number[][] {
  return tf.tidy(() => {
    const m = tf.randomNormal([9, 7], 0, 1, 'float32', 1);
    const c = tf.randomNormal([4, 3, 2], 0, 1, 'float32', 2);
    const idx = tf.tensor1d([8, 0, 3, 3, 5], 'int32');
    const cases: tf.Tensor[] = [
      tf.gather(m, idx),
      tf.gather(m, idx, -2),
      tf.gather(c, tf.tensor1d([3, 1], 'int32')),
      tf.gather(tf.range(0, 10), idx),
      tf.gather(
        tf.tensor2d(
          [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          [3, 2],
          'int32',
        ),
        tf.tensor1d([2, 0], 'int32'),
      ),
      tf.cast(
        tf.gather(tf.tensor1d([true, false, true], 'bool'), tf.tensor1d([1, 2], 'int32')),
        'float32',
      ),
      tf.gather(
        m,
        tf.tensor2d(
          [
            [1, 2],
            [4, 4],
          ],
          [2, 2],
          'int32',
        ),
      ),
      // Rows longer than 8: copied within the heap (float32, int32, bool).
      tf.gather(tf.randomNormal([9, 20], 0, 1, 'float32', 3), idx),
      tf.gather(tf.randomNormal([5, 3, 4], 0, 1, 'float32', 4), tf.tensor1d([4, 4, 0], 'int32')),
      tf.gather(tf.range(0, 60, 1, 'int32').reshape([5, 12]), tf.tensor1d([3, 1, 3], 'int32')),
      tf.cast(
        tf.gather(
          tf.greater(tf.randomNormal([4, 16], 0, 1, 'float32', 5), 0),
          tf.tensor1d([2, 0], 'int32'),
        ),
        'float32',
      ),
      tf.gather(m, tf.tensor1d([6, 0, 2], 'int32'), 1), // another axis: the original kernel
    ];
    return cases.map((t) => [...t.shape, ...Array.from(t.dataSync())]);
  });
}

/** Matrices the wrapper transposes (sizes around the block side, a leading 1) and permutations it passes on. */
function transposes(): number[][] {
  return tf.tidy(() => {
    const cases: tf.Tensor[] = [];
    for (const [r, c] of [
      [1, 1],
      [3, 5],
      [16, 16],
      [17, 33],
      [40, 7],
      [64, 1],
    ] as const)
      cases.push(tf.transpose(tf.randomNormal([r, c], 0, 1, 'float32', r * 100 + c)));
    cases.push(tf.transpose(tf.randomNormal([1, 19, 21], 0, 1, 'float32', 5), [0, 2, 1]));
    cases.push(tf.transpose(tf.randomNormal([2, 3, 4], 0, 1, 'float32', 6), [2, 0, 1])); // another permutation: the original kernel
    cases.push(
      tf.transpose(
        tf.tensor2d(
          [
            [1, 2, 3],
            [4, 5, 6],
          ],
          [2, 3],
          'int32',
        ),
      ),
    ); // int32: the original kernel
    cases.push(
      tf.matMul(
        tf.randomNormal([20, 18], 0, 1, 'float32', 7),
        tf.randomNormal([20, 9], 0, 1, 'float32', 8),
        true,
        false,
      ),
    );
    return cases.map((t) => [...t.shape, ...Array.from(t.dataSync())]);
  });
}

/** Sums the wrapper handles (leading axes of rank 2 and 3, keepDims, the bias gradient of a dense layer) and sums it passes on. */
function sums(): number[][] {
  return tf.tidy(() => {
    const m = tf.randomNormal([257, 33], 0, 1, 'float32', 1);
    const c = tf.randomNormal([6, 5, 7], 0, 1, 'float32', 2);
    const cases: tf.Tensor[] = [
      tf.sum(m, 0),
      tf.sum(m, -2, true),
      tf.sum(c, 0),
      tf.sum(c, [1, 0]),
      tf.sum(c, [0, 1], true),
      tf.sum(tf.slice(m, [0, 0], [3, -1]), 0),
      tf.grad((b: tf.Tensor) => tf.sum(tf.square(tf.add(m, b))))(tf.ones([33])), // the bias gradient: a sum over the batch
      tf.sum(m, 1),
      tf.sum(c, [0, 2]),
      tf.sum(m),
      tf.sum(
        tf.tensor2d(
          [
            [1, 2],
            [3, 4],
          ],
          [2, 2],
          'int32',
        ),
        0,
      ), // the original kernel
    ];
    return cases.map((t) => [...t.shape, ...Array.from(t.dataSync())]);
  });
}

/** Concatenations along every axis (rank 1-3, short and long runs, an empty input, int32, bool) and one the wrapper passes on (a single input). */
function concats(): number[][] {
  return tf.tidy(() => {
    const a = tf.randomNormal([4, 3, 5], 0, 1, 'float32', 1);
    const b = tf.randomNormal([4, 2, 5], 0, 1, 'float32', 2);
    const experts = Array.from({ length: 8 }, (_, e) =>
      tf.randomNormal([6, 1, 12], 0, 1, 'float32', 10 + e),
    );
    const cases: tf.Tensor[] = [
      tf.concat([a, b], 1),
      tf.concat([a, a], 0),
      tf.concat([a, tf.randomNormal([4, 3, 2], 0, 1, 'float32', 3)], 2),
      tf.concat(experts, 1),
      tf.concat([tf.range(0, 5), tf.range(5, 12)]),
      tf.concat([tf.zeros([4, 0]), tf.ones([4, 3]), tf.fill([4, 2], 7)], 1),
      tf.concat(
        [
          tf.tensor2d([[1, 2]], [1, 2], 'int32'),
          tf.tensor2d([[3, 4, 5, 6, 7, 8, 9, 10, 11]], [1, 9], 'int32'),
        ],
        1,
      ),
      tf.cast(tf.concat([tf.greater(a, 0), tf.greater(b, 0)], 1), 'float32'),
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.concat([x, tf.mul(x, 2)], 1))))(b), // its gradient is a split
      tf.concat([a]),
    ];
    return cases.map((t) => [...t.shape, ...Array.from(t.dataSync())]);
  });
}

/** Splits along every axis (equal parts, sizes, runs short and long, int32) and their gradient (a concat). */
function splits(): number[][] {
  return tf.tidy(() => {
    const x = tf.randomNormal([6, 8, 12], 0, 1, 'float32', 1);
    const cases: tf.Tensor[] = [
      ...tf.split(x, 8, 1),
      ...tf.split(x, [2, 3, 1], 0),
      ...tf.split(x, [3, 9], 2),
      ...tf.split(tf.range(0, 20), 4),
      ...tf.split(tf.range(0, 24, 1, 'int32').reshape([2, 12]), [10, 2], 1),
      tf.grad((y: tf.Tensor) => tf.sum(tf.mul(tf.split(y, 4, 1)[1]!, 3)))(x),
    ];
    return cases.map((t) => [...t.shape, ...Array.from(t.dataSync())]);
  });
}

/** Each replacement of a wasm kernel: its switches and the results it must reproduce. */
const KERNELS = [
  {
    name: 'BatchMatMul (transposed operands)',
    patch: patchWasmMatMul,
    restore: restoreWasmMatMul,
    patched: wasmMatMulPatched,
    cases: products,
    exact: false,
  },
  {
    name: 'Slice (in place)',
    patch: patchWasmSlice,
    restore: restoreWasmSlice,
    patched: wasmSlicePatched,
    cases: slices,
    exact: true,
  },
  {
    name: 'GatherV2 (rows)',
    patch: patchWasmGather,
    restore: restoreWasmGather,
    patched: wasmGatherPatched,
    cases: gathers,
    exact: true,
  },
  {
    name: 'Transpose (blocked)',
    patch: patchWasmTranspose,
    restore: restoreWasmTranspose,
    patched: wasmTransposePatched,
    cases: transposes,
    exact: true,
  },
  {
    name: 'Sum (leading axes)',
    patch: patchWasmSum,
    restore: restoreWasmSum,
    patched: wasmSumPatched,
    cases: sums,
    exact: true,
  },
  {
    name: 'Concat (runs)',
    patch: patchWasmConcat,
    restore: restoreWasmConcat,
    patched: wasmConcatPatched,
    cases: concats,
    exact: true,
  },
  {
    name: 'SplitV (runs)',
    patch: patchWasmSplit,
    restore: restoreWasmSplit,
    patched: wasmSplitPatched,
    cases: splits,
    exact: true,
  },
];

afterAll(() => {
  if (wasm) for (const k of KERNELS) k.patch();
});

describe.each(KERNELS)('wasm $name replacement', (kernel) => {
  it('gives the same results as the original kernel and leaks nothing', () => {
    if (!wasm) return;
    expect(kernel.patched()).toBe(true);
    const before = tf.memory().numTensors;
    const patched = kernel.cases();
    expect(tf.memory().numTensors).toBe(before);
    kernel.restore();
    expect(kernel.patched()).toBe(false);
    const original = kernel.cases();
    kernel.patch();
    expect(patched).toHaveLength(original.length);
    if (kernel.exact) expect(patched).toEqual(original);
    else
      patched.forEach((values, i) =>
        values.forEach((v, j) => expect(v).toBeCloseTo(original[i]![j]!, 4)),
      );
  });
});

describe('wasm replacements, details', () => {
  it('the transposed forms of a product equal the plain product', () => {
    if (!wasm) return;
    const patched = products();
    for (const base of [0, 4])
      for (const k of [1, 2, 3])
        patched[base + k]!.forEach((v, j) => expect(v).toBeCloseTo(patched[base]![j]!, 4));
  });

  it('a product with few output columns, Aᵀ B, equals the product of the explicit transpose', () => {
    if (!wasm) return;
    const [narrow, batched] = products().slice(8, 10);
    const expected = tf.tidy(() => [
      Array.from(
        tf
          .matMul(
            tf.transpose(tf.randomNormal([40, 30], 0, 1, 'float32', 9)),
            tf.randomNormal([40, 2], 0, 1, 'float32', 10),
          )
          .dataSync(),
      ),
      Array.from(
        tf
          .matMul(
            tf.transpose(tf.randomNormal([2, 40, 30], 0, 1, 'float32', 9), [0, 2, 1]),
            tf.randomNormal([2, 40, 3], 0, 1, 'float32', 10),
          )
          .dataSync(),
      ),
    ]);
    expect(narrow).toHaveLength(60);
    expect(batched).toHaveLength(180);
    narrow!.forEach((v, j) => expect(v).toBeCloseTo(expected[0]![j]!, 4));
    batched!.forEach((v, j) => expect(v).toBeCloseTo(expected[1]![j]!, 4));
  });

  it('slices keep their shapes: a column, a block', () => {
    if (!wasm) return;
    const patched = slices();
    expect(patched[2]).toHaveLength(9);
    expect(patched[3]).toHaveLength(12);
  });

  it('a row gather refuses an index out of range', () => {
    if (!wasm) return;
    expect(() => tf.tidy(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([3], 'int32')))).toThrow(
      /not in \[0, 2\]/,
    );
  });

  it('a transposed matrix has the swapped shape', () => {
    if (!wasm) return;
    expect(transposes()[1]!.slice(0, 2)).toEqual([5, 3]);
  });
});
