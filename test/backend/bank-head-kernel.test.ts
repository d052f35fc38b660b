import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/index.js';
import { bankHead, bankHeadGrad } from '../../src/backend/bank-head-kernel.js';
import { BANK_HEAD_WASM } from '../../src/backend/wasm/bank_head.wasm.js';
import { compileWat, wasmDir } from '../../scripts/build-wasm.js';

let backend = '';
beforeAll(async () => {
  backend = (await initBackend()).backend;
});
afterEach(async () => {
  await tf.setBackend(backend);
});

const close = (a: tf.Tensor, b: tf.Tensor) => {
  expect(a.shape).toEqual(b.shape);
  const p = a.dataSync();
  const q = b.dataSync();
  let d = 0;
  for (let i = 0; i < p.length; i++) d = Math.max(d, Math.abs(p[i]! - q[i]!));
  expect(d).toBeLessThan(1e-4);
};

describe('bank-head kernels', () => {
  it('the committed wasm binary is the compiled bank_head.wat (run `npm run build:wasm` after editing it)', async () => {
    const binary = await compileWat(path.join(wasmDir, 'bank_head.wat'));
    expect(Buffer.from(binary).toString('base64')).toBe(BANK_HEAD_WASM);
  });

  // u = 8: the SIMD module on wasm; u = 3: the JavaScript loop (also on wasm).
  for (const name of ['wasm', 'cpu'])
    for (const u of [8, 3])
      it(`on ${name}, heads of ${u} columns: the heads and their gradients equal tfjs's ops, no tensor left`, async () => {
        if (name === 'wasm' && backend !== 'wasm') return;
        await tf.setBackend(name);
        const before = tf.memory().numTensors;
        const [B, T] = [7, 5];
        tf.tidy(() => {
          const h = tf.relu(tf.randomNormal([B, T * u], 0, 1, 'float32', 1)) as tf.Tensor2D;
          const w = tf.randomNormal([T * u], 0, 1, 'float32', 2) as tf.Tensor1D;
          const c = tf.randomNormal([T], 0, 1, 'float32', 3) as tf.Tensor1D;
          const dy = tf.randomNormal([B, T], 0, 1, 'float32', 4) as tf.Tensor2D;
          const reference = (hh: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor) =>
            tf.add(tf.sum(tf.reshape(tf.mul(hh, ww), [B, T, u]), 2), cc);
          close(bankHead(h, w, c, u), reference(h, w, c));
          // Gradients of sum(dy * out) by tfjs; dh before the relu is dh * [h > 0].
          const g = tf.grads((hh: tf.Tensor, ww: tf.Tensor, cc: tf.Tensor) =>
            tf.sum(tf.mul(reference(hh, ww, cc), dy)),
          )([h, w, c]);
          for (const relu of [false, true]) {
            const [dh, dw, dc, db] = bankHeadGrad(h, w, dy, u, relu);
            const expected = relu ? tf.mul(g[0]!, tf.cast(tf.greater(h, 0), 'float32')) : g[0]!;
            close(dh, expected);
            close(dw, g[1]!);
            close(dc, g[2]!);
            close(db, tf.sum(expected, 0));
          }
        });
        expect(tf.memory().numTensors).toBe(before);
      });
});
