import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, patchWasmMatMul, restoreWasmMatMul, wasmMatMulPatched } from '../../src/index.js';

let wasm = false;
beforeAll(async () => {
  const report = await initBackend();
  wasm = report.backend === 'wasm';
});
afterAll(() => {
  if (wasm) patchWasmMatMul();
});

/** Every transpose combination, rank 2 and batched rank 3, and the gradients of a dense-like product. */
function products(): number[][] {
  return tf.tidy(() => {
    const out: number[][] = [];
    const a2 = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
    const b2 = tf.randomNormal([7, 3], 0, 1, 'float32', 2);
    const a3 = tf.randomNormal([2, 5, 7], 0, 1, 'float32', 3);
    const b3 = tf.randomNormal([2, 7, 3], 0, 1, 'float32', 4);
    for (const [a, b] of [[a2, b2], [a3, b3]] as const) {
      const perm = a.rank === 2 ? [1, 0] : [0, 2, 1];
      out.push(Array.from(tf.matMul(a, b).dataSync()));
      out.push(Array.from(tf.matMul(tf.transpose(a, perm), b, true, false).dataSync()));
      out.push(Array.from(tf.matMul(a, tf.transpose(b, perm), false, true).dataSync()));
      out.push(Array.from(tf.matMul(tf.transpose(a, perm), tf.transpose(b, perm), true, true).dataSync()));
    }
    const x = tf.randomNormal([6, 4], 0, 1, 'float32', 5);
    const w = tf.randomNormal([4, 3], 0, 1, 'float32', 6);
    const grads = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(tf.matMul(p, q))))([x, w]);
    for (const g of grads) out.push(Array.from(g.dataSync()));
    return out;
  });
}

describe('wasm transposed matMul patch', () => {
  it('gives the same products and gradients as the original kernel, and leaks nothing', () => {
    if (!wasm) return;
    expect(wasmMatMulPatched()).toBe(true);
    const before = tf.memory().numTensors;
    const patched = products();
    expect(tf.memory().numTensors).toBe(before);
    restoreWasmMatMul();
    expect(wasmMatMulPatched()).toBe(false);
    const original = products();
    patchWasmMatMul();
    expect(patched).toHaveLength(original.length);
    patched.forEach((values, i) => values.forEach((v, j) => expect(v).toBeCloseTo(original[i]![j]!, 4)));
    // The transposed forms equal the plain product.
    for (const base of [0, 4]) for (const k of [1, 2, 3]) patched[base + k]!.forEach((v, j) => expect(v).toBeCloseTo(patched[base]![j]!, 4));
  });
});
