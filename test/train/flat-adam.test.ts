import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { FlatAdam } from '../../src/train/flat-adam.js';
import { APPLY_STEP_KERNEL } from '../../src/train/adam-kernel.js';
import {
  ADAM_UPDATE_KERNEL,
  configureAdamUpdateKernel,
} from '../../src/backend/adam-update-kernel.js';
import { ADAM_UPDATE_WASM } from '../../src/backend/wasm/adam_update.wasm.js';
import { compileWat, wasmDir } from '../../scripts/build-wasm.js';

beforeAll(async () => {
  await initBackend();
});

/** Three variables of different shapes, and seeded gradients for step k. */
function setup(prefix: string) {
  const vars = [
    tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 1), true, `${prefix}/k`),
    tf.variable(tf.randomNormal([3], 0, 1, 'float32', 2), true, `${prefix}/b`),
    tf.variable(tf.randomNormal([2, 2, 2], 0, 1, 'float32', 3), true, `${prefix}/c`),
  ];
  const grads = (k: number): tf.NamedTensorMap =>
    Object.fromEntries(
      vars.map((v, i) => [v.name, tf.randomNormal(v.shape, 0, 1 + k, 'float32', 10 * k + i + 1)]),
    );
  return { vars, grads };
}

const values = (vars: tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));

describe('FlatAdam', () => {
  it("takes exactly tf.train.adam's steps, element for element, and leaks nothing", () => {
    const a = setup('flat-a');
    const b = setup('flat-b');
    const flat = new FlatAdam(0.05);
    const reference = tf.train.adam(0.05);
    flat.applyGradients(tf.tidy(() => a.grads(0))); // creates the moments
    reference.applyGradients(tf.tidy(() => b.grads(0)) as never);
    const before = tf.memory().numTensors;
    for (let k = 1; k < 6; k++) {
      const ga = a.grads(k);
      const gb = b.grads(k);
      flat.applyGradients(ga);
      reference.applyGradients(gb as never);
      tf.dispose([...Object.values(ga), ...Object.values(gb)]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(values(a.vars)).toEqual(values(b.vars));
    expect(values(a.vars)[0]).not.toEqual(
      Array.from(tf.tidy(() => tf.randomNormal([4, 3], 0, 1, 'float32', 1).dataSync())),
    );
    flat.dispose();
    reference.dispose();
    tf.dispose([...a.vars, ...b.vars]);
  });

  it.each(['wasm', 'cpu'])(
    'on %s, the end of the step is one kernel, with the same results as tf.train.adam',
    async (backend) => {
      const previous = tf.getBackend();
      if (!(await tf.setBackend(backend))) return;
      try {
        const a = setup(`fused-${backend}-a`);
        const b = setup(`fused-${backend}-b`);
        const flat = new FlatAdam(0.03);
        const reference = tf.train.adam(0.03);
        const profile = await tf.profile(() => {
          for (let k = 0; k < 4; k++) {
            flat.applyGradients(tf.tidy(() => a.grads(k)));
            reference.applyGradients(tf.tidy(() => b.grads(k)) as never);
          }
        });
        // On wasm the whole step is one kernel (adam-update-kernel.ts), on cpu the end of it.
        expect(profile.kernelNames).toContain(
          backend === 'wasm' ? ADAM_UPDATE_KERNEL : APPLY_STEP_KERNEL,
        );
        expect(values(a.vars)).toEqual(values(b.vars));
        flat.dispose();
        reference.dispose();
        tf.dispose([...a.vars, ...b.vars]);
      } finally {
        await tf.setBackend(previous);
      }
    },
  );

  it('restores from getWeights into a fresh optimizer and continues with the same steps', async () => {
    const a = setup('flat-c');
    const b = setup('flat-d');
    const first = new FlatAdam(0.02);
    for (let k = 0; k < 3; k++) first.applyGradients(tf.tidy(() => a.grads(k)));
    b.vars.forEach((v, i) => v.assign(a.vars[i]!));
    const saved = (await first.getWeights()).map((w) => ({
      name: w.name,
      tensor: tf.clone(w.tensor),
    }));
    expect(saved.map((w) => w.name)).toEqual(['iter', 'flat/m', 'flat/v']);
    const second = new FlatAdam(0.02);
    await second.setWeights(saved);
    for (let k = 3; k < 6; k++) {
      first.applyGradients(tf.tidy(() => a.grads(k)));
      second.applyGradients(tf.tidy(() => b.grads(k)));
    }
    expect(values(b.vars)).toEqual(values(a.vars));
    tf.dispose(saved.map((w) => w.tensor));
    first.dispose();
    second.dispose();
    tf.dispose([...a.vars, ...b.vars]);
  });

  it('refuses a step over other variables than the first', () => {
    const a = setup('flat-e');
    const adam = new FlatAdam(0.01);
    adam.applyGradients(tf.tidy(() => a.grads(0)));
    const g = tf.tidy(() => a.grads(1));
    expect(() => adam.applyGradients({ [a.vars[0]!.name]: g[a.vars[0]!.name]! })).toThrow(
      /same variables in the same order/,
    );
    tf.dispose(Object.values(g));
    adam.dispose();
    tf.dispose(a.vars);
  });

  it('applyGradientsChecked says whether every gradient value was finite', () => {
    const a = setup('flat-f');
    const adam = new FlatAdam(0.01);
    const flags = [0, NaN, Infinity, -Infinity].map((bad, k) =>
      tf.tidy(() => {
        const g = a.grads(k);
        const name = a.vars[2]!.name;
        g[name] = tf.where(
          tf.equal(tf.range(0, 8).reshape([2, 2, 2]), 5),
          tf.fill([2, 2, 2], bad === 0 ? 1 : bad),
          g[name]!,
        );
        return adam.applyGradientsChecked(g).dataSync()[0];
      }),
    );
    expect(flags).toEqual([1, 0, 0, 0]);
    adam.dispose();
    tf.dispose(a.vars);
  });

  it('the committed adam_update binary is the compiled adam_update.wat (run `npm run build:wasm` after editing it)', async () => {
    const binary = await compileWat(path.join(wasmDir, 'adam_update.wat'));
    expect(Buffer.from(binary).toString('base64')).toBe(ADAM_UPDATE_WASM);
  });

  it('on wasm, the one-kernel step gives the tensor operations’ weights and moments bit for bit (sizes not a multiple of 4), and flags a NaN; no tensor left', async () => {
    if (tf.getBackend() !== 'wasm') return;
    const run = (kernel: 'on' | 'off', prefix: string) => {
      configureAdamUpdateKernel(kernel);
      try {
        const s = setup(prefix);
        const flat = new FlatAdam(0.04, 0.8, 0.99, 1e-6);
        const flags: number[] = [];
        let before = 0;
        for (let k = 0; k < 5; k++)
          tf.tidy(() => {
            if (k === 1) before = tf.memory().numTensors; // the moments made by the first step
            const g = s.grads(k);
            if (k === 4) g[`${prefix}/b`] = tf.tensor1d([1, Number.NaN, 2]);
            flags.push(flat.applyGradientsChecked(g).dataSync()[0]!);
          });
        expect(tf.memory().numTensors).toBe(before);
        const state = flat.flatState()!;
        const moments = [Array.from(state.m), Array.from(state.v)];
        const result = { weights: values(s.vars), flags, moments };
        tf.dispose(s.vars);
        return { result, flat };
      } finally {
        configureAdamUpdateKernel(undefined);
      }
    };
    const on = run('on', 'kernel-on');
    const off = run('off', 'kernel-off');
    expect(on.result.weights).toEqual(off.result.weights);
    expect(on.result.moments).toEqual(off.result.moments);
    expect(on.result.flags).toEqual([1, 1, 1, 1, 0]);
    expect(off.result.flags).toEqual([1, 1, 1, 1, 0]);
    on.flat.dispose();
    off.flat.dispose();
  });
});
