import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, patchWasmTranspose, restoreWasmTranspose, wasmTransposePatched } from '../../src/index.js';

let wasm = false;
beforeAll(async () => {
  const report = await initBackend();
  wasm = report.backend === 'wasm';
});
afterAll(() => {
  if (wasm) patchWasmTranspose();
});

/** Matrices the wrapper transposes (sizes around the block side, a leading 1) and permutations it passes on. */
function transposes(): number[][] {
  return tf.tidy(() => {
    const cases: tf.Tensor[] = [];
    for (const [r, c] of [[1, 1], [3, 5], [16, 16], [17, 33], [40, 7], [64, 1]] as const) cases.push(tf.transpose(tf.randomNormal([r, c], 0, 1, 'float32', r * 100 + c)));
    cases.push(tf.transpose(tf.randomNormal([1, 19, 21], 0, 1, 'float32', 5), [0, 2, 1]));
    cases.push(tf.transpose(tf.randomNormal([2, 3, 4], 0, 1, 'float32', 6), [2, 0, 1])); // another permutation: the original kernel
    cases.push(tf.transpose(tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32'))); // int32: the original kernel
    cases.push(tf.matMul(tf.randomNormal([20, 18], 0, 1, 'float32', 7), tf.randomNormal([20, 9], 0, 1, 'float32', 8), true, false));
    return cases.map((t) => [...t.shape, ...Array.from(t.dataSync())]);
  });
}

describe('wasm blocked transpose patch', () => {
  it('gives the same results as the original kernel and leaks nothing', () => {
    if (!wasm) return;
    expect(wasmTransposePatched()).toBe(true);
    const before = tf.memory().numTensors;
    const patched = transposes();
    expect(tf.memory().numTensors).toBe(before);
    restoreWasmTranspose();
    expect(wasmTransposePatched()).toBe(false);
    const original = transposes();
    patchWasmTranspose();
    expect(patched).toEqual(original);
    expect(patched[1]!.slice(0, 2)).toEqual([5, 3]);
  });
});
