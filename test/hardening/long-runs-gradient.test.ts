import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { fit } from '../../src/train/index.js';
import { features, fixtureModel } from '../train/fixture.js';
import { EPOCHS, longRuns } from './long-runs.js';

describe('fit over long runs, gradient methods', () => {
  longRuns([
    ['gradnorm', {}],
    ['pcgrad', {}],
    ['mgda', {}],
    ['cagrad', {}],
  ]);

  it(`fit runs ${EPOCHS} epochs of mgda's upper bound (hard sharing only) with a flat tensor count`, async () => {
    const model = fixtureModel({
      features: 3,
      trunk: [4],
      tasks: { a: { kind: 'regression' }, b: { kind: 'binary' } },
    });
    const x = features(8, 3, 5);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await fit(
      model,
      { x, y: { a: x.map((v) => v[0]!), b: x.map((v) => (v[1]! > 0 ? 1 : 0)) } },
      {
        epochs: EPOCHS,
        batchSize: 8,
        balance: 'mgda',
        balanceOptions: { upperBound: true },
        metrics: false,
        onEpochEnd: () => {
          counts.push(tf.memory().numTensors);
        },
      },
    );
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
