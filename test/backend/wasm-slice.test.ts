import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, patchWasmSlice, restoreWasmSlice, wasmSlicePatched } from '../../src/index.js';

let wasm = false;
beforeAll(async () => {
  const report = await initBackend();
  wasm = report.backend === 'wasm';
});
afterAll(() => {
  if (wasm) patchWasmSlice();
});

/** Slices of every kind the wrapper handles (contiguous, matrix rows, columns, blocks) and some it passes on (rank 3, int32, bool). */
function slices(): number[][] {
  return tf.tidy(() => {
    const m = tf.randomNormal([9, 7], 0, 1, 'float32', 1);
    const c = tf.randomNormal([4, 5, 6], 0, 1, 'float32', 2);
    const ints = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');
    const bools = tf.tensor2d([[true, false, true], [false, true, true]], [2, 3], 'bool');
    const cases: tf.Tensor[] = [
      tf.slice(m, [0, 0], [-1, -1]), tf.slice(m, [2, 0], [3, -1]), tf.slice(m, [0, 3], [-1, 1]), tf.slice(m, [1, 2], [4, 3]),
      tf.slice(m, [8, 6], [1, 1]), tf.slice(c, [1, 0, 0], [2, -1, -1]), tf.slice(c, [0, 1, 2], [2, 3, 2]),
      tf.slice(ints, [0, 1], [-1, 2]), tf.cast(tf.slice(bools, [1, 0], [1, 2]), 'float32'), tf.slice(tf.range(0, 10), [3], [4]),
      ...tf.split(m, [2, 4, 1], 1),
      tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.slice(x, [1, 1], [5, 2]))))(m),
    ];
    return cases.map((t) => Array.from(t.dataSync()));
  });
}

describe('wasm in-place slice patch', () => {
  it('gives the same slices and gradients as the original kernel, and leaks nothing', () => {
    if (!wasm) return;
    expect(wasmSlicePatched()).toBe(true);
    const before = tf.memory().numTensors;
    const patched = slices();
    expect(tf.memory().numTensors).toBe(before);
    restoreWasmSlice();
    expect(wasmSlicePatched()).toBe(false);
    const original = slices();
    patchWasmSlice();
    expect(patched).toEqual(original);
    expect(patched[2]).toHaveLength(9); // a column
    expect(patched[3]).toHaveLength(12); // a block
  });
});
