import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fit } from '../../src/train/index.js';
import { scheduledRate } from '../../src/train/schedule.js';
import { withUpdateKnobs } from '../../src/train/optimizer-knobs.js';
import { plateauStep, initialPlateau } from '../../src/train/plateau.js';
import { FlatAdam } from '../../src/train/flat-adam.js';
import { OptionsError } from '../../src/errors.js';
import { cpu, features, fixtureModel, weightsOf, type FixtureOptions } from './fixture.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'mtgraph-knobs-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const TWO: FixtureOptions = {
  features: 3,
  trunk: [6],
  tasks: { click: { kind: 'binary' }, price: { kind: 'regression' } },
  edges: [['click', 'price', 0.5]],
};
const x = features(40, 3, 5);
const DATA = {
  x,
  y: { click: x.map((v) => (v[0]! > 0 ? 1 : 0)), price: x.map((v) => v[1]! * 2 - v[2]!) },
};

describe('learning-rate schedules', () => {
  it('each kind matches its formula by hand', () => {
    // cosine over 10 epochs from 0.1 to 0: at t = 5, (1 + cos(pi/2)) / 2 = 0.5.
    expect(scheduledRate(0.1, { kind: 'cosine' }, 5, 10)).toBeCloseTo(0.05, 12);
    expect(scheduledRate(0.1, { kind: 'cosine', minLearningRate: 0.02 }, 10, 10)).toBeCloseTo(
      0.02,
      12,
    );
    expect(scheduledRate(0.1, { kind: 'cosine', epochs: 4 }, 1, 10)).toBeCloseTo(
      (0.1 * (1 + Math.cos(Math.PI / 4))) / 2,
      12,
    );
    // step: factor 0.5 every 3 epochs.
    expect(scheduledRate(0.1, { kind: 'step', every: 3, factor: 0.5 }, 2.9, 10)).toBeCloseTo(
      0.1,
      12,
    );
    expect(scheduledRate(0.1, { kind: 'step', every: 3, factor: 0.5 }, 6, 10)).toBeCloseTo(
      0.025,
      12,
    );
    // exponential: rate ^ t.
    expect(scheduledRate(0.1, { kind: 'exponential', rate: 0.9 }, 2.5, 10)).toBeCloseTo(
      0.1 * 0.9 ** 2.5,
      12,
    );
    // warmup-cosine: linear over 2 epochs, then cosine over the 8 left.
    const w = { kind: 'warmup-cosine' as const, warmup: 2 };
    expect(scheduledRate(0.1, w, 0.5, 10)).toBeCloseTo(0.025, 12);
    expect(scheduledRate(0.1, w, 2, 10)).toBeCloseTo(0.1, 12);
    expect(scheduledRate(0.1, w, 6, 10)).toBeCloseTo(0.05, 12);
  });

  it('fit changes the rate every step and records each epoch last step rate', async () => {
    const model = fixtureModel(TWO);
    const seen: number[] = [];
    const h = await fit(model, DATA, {
      epochs: 3,
      batchSize: 10,
      metrics: false,
      optimizer: {
        name: 'sgd',
        learningRate: 0.1,
        schedule: { kind: 'step', every: 1, factor: 0.5 },
      },
      onEpochEnd: (_e, logs) => {
        seen.push(logs.learningRate!);
      },
    });
    // 4 steps per epoch; the last step of epoch e is at t = e + 3/4: 0.1 * 0.5^e.
    expect(h.learningRate).toEqual([0.1, 0.05, 0.025].map((v) => expect.closeTo(v, 10)));
    expect(seen).toEqual(h.learningRate);
    model.dispose();
  });

  it('an unknown kind or a bad value is an OptionsError with the path', async () => {
    const model = fixtureModel(TWO);
    const bad = (schedule: unknown) =>
      fit(model, DATA, { epochs: 1, optimizer: { name: 'adam', schedule } as never });
    await expect(bad({ kind: 'linear' })).rejects.toThrow(/unknown schedule kind/);
    await expect(bad({ kind: 'step', every: 2, factor: 2 })).rejects.toThrow(
      /schedule\.factor must be in \(0, 1\]/,
    );
    await expect(
      fit(model, DATA, { epochs: 1, optimizer: { name: 'adam', weightDecay: 0.1 } }),
    ).rejects.toThrow(OptionsError);
    model.dispose();
  });
});

describe('reduceLrOnPlateau', () => {
  it('plateauStep reduces after patience epochs without improvement, then cools down', () => {
    const o = {
      patience: 2,
      factor: 0.5,
      monitor: 'loss' as const,
      minDelta: 0,
      cooldown: 1,
      minLearningRate: 0.01,
    };
    let s = initialPlateau();
    const rate = () => 0.1 * s.scale;
    s = plateauStep(s, 1, rate(), o); // best 1
    s = plateauStep(s, 1.1, rate(), o); // wait 1
    expect(s.scale).toBe(1);
    s = plateauStep(s, 1.2, rate(), o); // wait 2: 0.1 -> 0.05, cooldown 1
    expect(rate()).toBeCloseTo(0.05, 12);
    s = plateauStep(s, 1.3, rate(), o); // cooldown ends (wait reset), then wait 1
    expect(rate()).toBeCloseTo(0.05, 12);
    s = plateauStep(s, 0.5, rate(), o); // an improvement: best 0.5, wait 0
    s = plateauStep(s, 0.6, rate(), o); // wait 1
    expect(rate()).toBeCloseTo(0.05, 12);
    s = plateauStep(s, 0.6, rate(), o); // wait 2: 0.025
    expect(rate()).toBeCloseTo(0.025, 12);
    for (let i = 0; i < 6; i++) s = plateauStep(s, 0.6, rate(), o);
    expect(rate()).toBeCloseTo(0.01, 12); // 0.0125, then the floor 0.01
  });

  it('fit halves the rate each epoch when nothing counts as an improvement', async () => {
    const model = fixtureModel(TWO);
    const h = await fit(model, DATA, {
      epochs: 4,
      batchSize: 40,
      metrics: false,
      optimizer: { name: 'sgd', learningRate: 0.08 },
      reduceLrOnPlateau: { patience: 1, factor: 0.5, minDelta: 1e9 },
    });
    // Epoch 0 sets the best; every later epoch fails by minDelta and halves the rate of the next one.
    expect(h.learningRate).toEqual([0.08, 0.08, 0.04, 0.02].map((v) => expect.closeTo(v, 10)));
    model.dispose();
  });
});

describe('clipValue, clipNorm, AdamW', () => {
  it('clip each gradient as Keras does, by hand', () => {
    const v = tf.variable(tf.tensor1d([1, 1]), true, 'knobs-clip-value');
    const u = tf.variable(tf.tensor1d([0, 0]), true, 'knobs-clip-norm');
    const sgd = withUpdateKnobs(tf.train.sgd(1), { clipValue: 0.5 });
    sgd.applyGradients({ 'knobs-clip-value': tf.tensor1d([2, -0.1]) });
    expect(Array.from(v.dataSync())).toEqual([0.5, expect.closeTo(1.1, 6)]);
    const sgd2 = withUpdateKnobs(tf.train.sgd(1), { clipNorm: 1 });
    sgd2.applyGradients({ 'knobs-clip-norm': tf.tensor1d([3, 4]) }); // norm 5 -> [0.6, 0.8]
    expect(Array.from(u.dataSync()).map((a) => Number(a.toFixed(6)))).toEqual([-0.6, -0.8]);
    sgd2.applyGradients({ 'knobs-clip-norm': tf.tensor1d([0.3, 0]) }); // under the norm: unchanged
    expect(u.dataSync()[0]).toBeCloseTo(-0.9, 6);
    tf.dispose([v, u]);
    sgd.dispose();
    sgd2.dispose();
  });

  it('AdamW multiplies the weights by 1 - lr * weightDecay before the Adam step', () => {
    const w = tf.variable(tf.tensor1d([2, -4]), true, 'knobs-adamw');
    const opt = withUpdateKnobs(new FlatAdam(0.1), { weightDecay: 0.5 });
    // A zero gradient: Adam's step is 0, only the decay moves the weights: w * (1 - 0.05).
    opt.applyGradients({ 'knobs-adamw': tf.zeros([2]) });
    expect(Array.from(w.dataSync())).toEqual([expect.closeTo(1.9, 6), expect.closeTo(-3.8, 6)]);
    // A unit gradient on the first step: Adam moves by -lr * sign(g) (bias-corrected), after the decay.
    opt.applyGradients({ 'knobs-adamw': tf.ones([2]) });
    expect(w.dataSync()[0]).toBeCloseTo(
      1.9 * 0.95 - (0.1 * (0.1 / (1 - 0.81))) / Math.sqrt(0.001 / (1 - 0.998001)),
      4,
    );
    tf.dispose(w);
    opt.dispose();
  });

  it('fit with clipping and adamw leaks no tensor and trains', async () => {
    const model = fixtureModel(TWO);
    const before = tf.memory().numTensors;
    const h = await fit(model, DATA, {
      epochs: 20,
      batchSize: 10,
      metrics: false,
      optimizer: {
        name: 'adamw',
        learningRate: 0.02,
        clipNorm: 1,
        clipValue: 0.5,
        weightDecay: 0.01,
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(h.loss.at(-1)!).toBeLessThan(h.loss[0]! * 0.8);
    model.dispose();
  });
});

describe('checkpoint and resume with every knob', () => {
  it('a run interrupted and resumed ends with the weights and rates of the uninterrupted run', async () => {
    const options = {
      epochs: 5,
      batchSize: 8,
      seed: 2,
      metrics: false,
      validationSplit: 0.25,
      optimizer: {
        name: 'adamw',
        learningRate: 0.05,
        weightDecay: 0.05,
        clipNorm: 0.5,
        clipValue: 0.2,
        schedule: { kind: 'warmup-cosine' as const, warmup: 1 },
      },
      reduceLrOnPlateau: { patience: 1, factor: 0.5, minDelta: 0.01 },
      sampleWeight: { click: x.map((_, i) => (i % 3 === 0 ? 2 : 1)) },
      classWeight: { click: [1, 2] },
    };
    const straight = fixtureModel(TWO);
    const hs = await fit(straight, DATA, options);
    const dir = path.join(root, 'resume');
    const first = fixtureModel(TWO);
    const stop = new Error('interrupted');
    await expect(
      fit(first, DATA, {
        ...options,
        checkpoint: { dir },
        onEpochEnd: (epoch) => {
          if (epoch === 2) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    const resumed = fixtureModel(TWO);
    const hr = await fit(resumed, DATA, { ...options, checkpoint: { dir }, resumeFrom: dir });
    const a = weightsOf(straight);
    const b = weightsOf(resumed);
    a.forEach((w, i) => expect(Array.from(b[i]!)).toEqual(Array.from(w)));
    expect(hr.learningRate).toEqual(hs.learningRate);
    expect(new Set(hs.learningRate).size).toBeGreaterThan(2);
    // Another plateau setting is another run.
    await expect(
      fit(fixtureModel(TWO), DATA, {
        ...options,
        reduceLrOnPlateau: { patience: 2 },
        resumeFrom: dir,
      }),
    ).rejects.toThrow(/reduceLrOnPlateau/);
    for (const m of [straight, first, resumed]) m.dispose();
  });
});
