import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, patchWasmGather, restoreWasmGather, wasmGatherPatched } from '../../src/index.js';

let wasm = false;
beforeAll(async () => {
  const report = await initBackend();
  wasm = report.backend === 'wasm';
});
afterAll(() => {
  if (wasm) patchWasmGather();
});

/** Row gathers the wrapper handles (float32, int32, bool, vectors, rank 3, repeated indices) and gathers it passes on (other axes). */
function gathers(): number[][] {
  return tf.tidy(() => {
    const m = tf.randomNormal([9, 7], 0, 1, 'float32', 1);
    const c = tf.randomNormal([4, 3, 2], 0, 1, 'float32', 2);
    const idx = tf.tensor1d([8, 0, 3, 3, 5], 'int32');
    const cases: tf.Tensor[] = [
      tf.gather(m, idx), tf.gather(m, idx, -2), tf.gather(c, tf.tensor1d([3, 1], 'int32')), tf.gather(tf.range(0, 10), idx),
      tf.gather(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32'), tf.tensor1d([2, 0], 'int32')),
      tf.cast(tf.gather(tf.tensor1d([true, false, true], 'bool'), tf.tensor1d([1, 2], 'int32')), 'float32'),
      tf.gather(m, tf.tensor2d([[1, 2], [4, 4]], [2, 2], 'int32')),
      tf.gather(m, tf.tensor1d([6, 0, 2], 'int32'), 1), // another axis: the original kernel
    ];
    return cases.map((t) => [...t.shape, ...Array.from(t.dataSync())]);
  });
}

describe('wasm row gather patch', () => {
  it('gives the same gathers as the original kernel, leaks nothing, and refuses an index out of range', () => {
    if (!wasm) return;
    expect(wasmGatherPatched()).toBe(true);
    const before = tf.memory().numTensors;
    const patched = gathers();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => tf.tidy(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([3], 'int32')))).toThrow(/not in \[0, 2\]/);
    restoreWasmGather();
    expect(wasmGatherPatched()).toBe(false);
    const original = gathers();
    patchWasmGather();
    expect(patched).toEqual(original);
  });
});
