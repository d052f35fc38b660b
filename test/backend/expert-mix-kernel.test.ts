import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/index.js';
import { expertJoin, expertMix, expertMixGrad } from '../../src/backend/expert-mix-kernel.js';
import { EXPERT_MIX_WASM } from '../../src/backend/wasm/expert_mix.wasm.js';
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

describe('expert-mix kernels', () => {
  it('the committed wasm binary is the compiled expert_mix.wat (run `npm run build:wasm` after editing it)', async () => {
    const binary = await compileWat(path.join(wasmDir, 'expert_mix.wat'));
    expect(Buffer.from(binary).toString('base64')).toBe(EXPERT_MIX_WASM);
  });

  // d = 8: the SIMD module on wasm; d = 3: the JavaScript loop (also on wasm).
  for (const name of ['wasm', 'cpu'])
    for (const d of [8, 3])
      it(`on ${name}, rows of ${d}: the mixtures and their gradients (softmax logits, experts before the relu, bias) equal tfjs's ops, no tensor left`, async () => {
        if (name === 'wasm' && backend !== 'wasm') return;
        await tf.setBackend(name);
        const before = tf.memory().numTensors;
        const [B, G, E] = [6, 4, 3];
        tf.tidy(() => {
          const logits = tf.randomNormal([B, G * E], 0, 1, 'float32', 1) as tf.Tensor2D;
          const s = tf.relu(tf.randomNormal([E * B, d], 0, 1, 'float32', 2)) as tf.Tensor2D;
          const dy = tf.randomNormal([B, G * d], 0, 1, 'float32', 3) as tf.Tensor2D;
          const softmax = (l: tf.Tensor) =>
            tf.reshape(tf.softmax(tf.reshape(l, [B, G, E])), [B, G * E]);
          // out[b, g*d + k] = sum_e p[b, g*E + e] s[e*B + b, k], by tfjs's ops.
          const reference = (l: tf.Tensor, ss: tf.Tensor) => {
            const p = tf.reshape(softmax(l), [B, G, E]);
            const experts = tf.transpose(tf.reshape(ss, [E, B, d]), [1, 0, 2]); // [B, E, d]
            return tf.reshape(tf.matMul(p, experts), [B, G * d]);
          };
          const p = softmax(logits) as tf.Tensor2D;
          close(expertMix(p, s, E), reference(logits, s));
          const g = tf.grads((l: tf.Tensor, ss: tf.Tensor) => tf.sum(tf.mul(reference(l, ss), dy)))(
            [logits, s],
          );
          for (const relu of [false, true]) {
            const [ds, dl, db] = expertMixGrad(p, s, dy, E, relu);
            const expected = relu ? tf.mul(g[1]!, tf.cast(tf.greater(s, 0), 'float32')) : g[1]!;
            close(ds, expected);
            close(dl, g[0]!);
            close(db, tf.reshape(tf.sum(tf.reshape(expected, [E, B, d]), 1), [E * d]));
          }
        });
        expect(tf.memory().numTensors).toBe(before);
      });

  for (const name of ['wasm', 'cpu'])
    for (const u of [8, 3])
      it(`on ${name}, blocks of ${u}: the join equals a concat, the relu's mask and a column sum`, async () => {
        if (name === 'wasm' && backend !== 'wasm') return;
        await tf.setBackend(name);
        const before = tf.memory().numTensors;
        const [B, E] = [5, 3];
        tf.tidy(() => {
          const h = tf.relu(tf.randomNormal([B, E * u], 0, 1, 'float32', 5)) as tf.Tensor2D;
          const parts = [6, 7, 8].map(
            (s) => tf.randomNormal([B, u], 0, 1, 'float32', s) as tf.Tensor2D,
          );
          for (const relu of [false, true]) {
            const [dz, db] = expertJoin(h, parts, relu);
            const joined = tf.concat(parts, 1);
            const expected = relu ? tf.mul(joined, tf.cast(tf.greater(h, 0), 'float32')) : joined;
            close(dz, expected);
            close(db, tf.sum(expected, 0));
          }
        });
        expect(tf.memory().numTensors).toBe(before);
      });
});
