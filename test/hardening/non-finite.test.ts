import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MtgraphModel } from '../../src/network/types.js';
import { TrainingError } from '../../src/errors.js';
import { seededRandom } from '../../src/graph/random.js';
import { defineBalance, fit, registerBalance, type FitOptions } from '../../src/train/index.js';
import { noOptions } from '../../src/train/balance/options.js';
import { epochSeed } from '../../src/train/random.js';
import { cpu, features, fixtureModel, weightsOf, type FixtureOptions } from '../train/fixture.js';
import { thrown } from './helpers.js';

/**
 * A non-finite loss or gradient stops training with a TrainingError naming the task, the epoch
 * and the step; the model keeps the weights of the last good epoch; no tensor leaks.
 */

const TWO: FixtureOptions = {
  features: 4,
  trunk: [6],
  tasks: { spend: { kind: 'regression' }, click: { kind: 'binary' } },
  edges: [['spend', 'click', 0.5]],
};

function data(rows: number, badRow?: number) {
  const x = features(rows, 4, 3);
  return {
    x,
    y: {
      spend: x.map((v, i) => (i === badRow ? 1e30 : v[0]! - v[1]!)),
      click: x.map((v) => (v[2]! > 0 ? 1 : 0)),
    },
  };
}

/** The 0-based step of epoch `epoch` whose batch holds `row`, as fit shuffles. */
function stepOf(row: number, rows: number, batchSize: number, seed: number, epoch: number): number {
  const perm = Array.from({ length: rows }, (_, i) => i);
  const random = seededRandom(epochSeed(seed, epoch));
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return Math.floor(perm.indexOf(row) / batchSize);
}

function expectSame(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(b[i]!)));
}

async function failing(
  model: MtgraphModel,
  d: ReturnType<typeof data>,
  options: FitOptions,
): Promise<{ error: TrainingError; leaked: number }> {
  const before = tf.memory().numTensors;
  const error = await thrown(() => fit(model, d, { metrics: false, ...options }));
  expect(error).toBeInstanceOf(TrainingError);
  return { error: error as TrainingError, leaked: tf.memory().numTensors - before };
}

beforeAll(cpu);

describe('fit stops on non-finite values', () => {
  it('fit on a regression label of 1e30 (its squared error overflows) names the task, epoch and step, and keeps the initial weights', async () => {
    const rows = 40;
    const batchSize = 8;
    const seed = 12;
    const bad = 17;
    const model = fixtureModel(TWO);
    const initial = weightsOf(model);
    const { error, leaked } = await failing(model, data(rows, bad), { epochs: 5, batchSize, seed });
    const step = stepOf(bad, rows, batchSize, seed, 0);
    expect(error.path).toBe('tasks.spend');
    expect(error.got).toMatchObject({ task: 'spend', epoch: 0, step });
    expect(error.message).toMatch(
      new RegExp(
        `^mtgraph/fit: the loss of task "spend" became non-finite \\(got (Infinity|NaN)\\) in epoch 1 of 5 → at tasks\\.spend\\. Training stopped and the model keeps its initial weights\\. ` +
          `It first happened at step ${step + 1} of 5 of epoch 1 \\(the batch of shuffled rows ${step * 8}\\.\\.${step * 8 + 7}; step ${step + 1} of the run\\)\\. Lower the learning rate`,
      ),
    );
    expectSame(weightsOf(model), initial);
    expect(leaked).toBe(0);
    model.dispose();
  });

  it('fit under a huge learning rate stops at the step the loss overflowed and keeps the last good epoch', async () => {
    const model = fixtureModel(TWO);
    let good: Float32Array[] = weightsOf(model);
    let epochs = 0;
    const { error, leaked } = await failing(model, data(32), {
      epochs: 50,
      batchSize: 8,
      seed: 2,
      optimizer: { name: 'sgd', learningRate: 3 },
      onEpochEnd: () => {
        good = weightsOf(model);
        epochs++;
      },
    });
    const { epoch, step } = error.got as { epoch: number; step: number };
    expect(epoch).toBe(epochs);
    expect(epoch).toBeGreaterThan(2); // it trained a few good epochs first: their weights are the ones kept
    expect(step).toBeGreaterThanOrEqual(0);
    expect(step).toBeLessThan(4);
    expect(error.message).toMatch(
      new RegExp(
        `in epoch ${epoch + 1} of 50 → at (tasks\\.\\w+|options\\.optimizer\\.learningRate)\\. .* It first happened at step ${step + 1} of 4 of epoch ${epoch + 1}`,
      ),
    );
    expectSame(weightsOf(model), good);
    expect(weightsOf(model).every((w) => w.every(Number.isFinite))).toBe(true);
    expect(leaked).toBe(0);
    model.dispose();
  });

  it('fit names a non-finite gradient when every loss is finite', async () => {
    // A balancing method whose objective has the task losses' value but a NaN gradient.
    registerBalance(
      defineBalance<Record<never, never>>({
        name: 'test-nan-gradient',
        summary: 'finite objective, NaN gradient (a test of fit)',
        needs: 'losses',
        options: noOptions('test-nan-gradient'),
        defaults: {},
        create: ({ tasks }) => {
          const weights = tf.keep(tf.ones([tasks.length])) as tf.Tensor1D;
          const poisoned = tf.customGrad((l) => {
            const losses = l as tf.Tensor;
            return {
              value: tf.sum(losses),
              gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.fill(losses.shape, NaN)),
            };
          });
          return {
            combine: (taskLoss) => ({ total: poisoned(taskLoss) as tf.Scalar, weights }),
            dispose: () => weights.dispose(),
          };
        },
      }),
    );
    const model = fixtureModel(TWO);
    let good = weightsOf(model);
    const { error, leaked } = await failing(model, data(16), {
      epochs: 3,
      batchSize: 8,
      seed: 1,
      balance: 'test-nan-gradient',
    });
    expect(error.message).toMatch(
      /^mtgraph\/fit: a gradient \(the losses were finite\) became non-finite \(got NaN\) in epoch 1 of 3 → at options\.optimizer\.learningRate\. Training stopped and the model keeps its initial weights\. It first happened at step 1 of 2 of epoch 1/,
    );
    expectSame(weightsOf(model), good);
    good = [];
    expect(leaked).toBe(0);
    model.dispose();
  });

  it('fit on a gradient method names the task whose loss went non-finite first', async () => {
    const model = fixtureModel(TWO);
    const initial = weightsOf(model);
    const { error, leaked } = await failing(model, data(24, 5), {
      epochs: 2,
      batchSize: 24,
      seed: 3,
      balance: 'pcgrad',
    });
    expect(error.path).toBe('tasks.spend');
    expect(error.message).toMatch(
      /the loss of task "spend" became non-finite .* It first happened at step 1 of 1 of epoch 1/,
    );
    expectSame(weightsOf(model), initial);
    expect(leaked).toBe(0);
    model.dispose();
  });
});
