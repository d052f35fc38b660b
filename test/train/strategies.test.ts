import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fit, predict } from '../../src/train/index.js';
import { compile } from '../../src/network/index.js';
import { TaskGraph } from '../../src/graph/index.js';
import { strategyNames } from '../../src/plan/index.js';
import type { TaskData } from '../../src/data/types.js';
import { cpu, features, gaussian, rng } from './fixture.js';

beforeAll(cpu);

const FEATURES = 6;

/** Four tasks of the four kinds: two related pairs, and a conflict between the pairs. */
function mixedGraph(): TaskGraph {
  const g = new TaskGraph({ input: { features: FEATURES }, name: 'mixed kinds' });
  g.addTask('price', { kind: 'regression' });
  g.addTask('click', { kind: 'binary' });
  g.addTask('segment', { kind: 'multiclass', classes: 3 });
  g.addTask('tags', { kind: 'multilabel', labels: 2 });
  g.addAffinity('price', 'click', { weight: 0.7 });
  g.addAffinity('segment', 'tags', { weight: 0.6 });
  g.addAffinity('click', 'segment', { weight: -0.5 });
  return g;
}

/** Learnable labels for the mixed graph (seeded), with a few missing. */
function mixedData(rows: number, seed: number): TaskData {
  const x = features(rows, FEATURES, seed);
  const r = rng(seed + 50);
  return {
    x,
    y: {
      price: x.map((v, i) => (i % 9 === 0 ? NaN : v[0]! + v[1]! + 0.1 * gaussian(r))),
      click: x.map((v, i) => (i % 11 === 0 ? -1 : v[0]! - 0.5 * v[2]! > 0 ? 1 : 0)),
      segment: x.map((v) => (v[3]! > 0.3 ? 2 : v[3]! > -0.3 ? 1 : 0)),
      tags: x.map((v) => [v[4]! > 0 ? 1 : 0, v[3]! + v[5]! > 0 ? 1 : 0]),
    },
  };
}

const EPOCHS = 20;

describe.each(strategyNames())('strategy %s', (strategy) => {
  it(`fit on a compiled ${strategy} model lowers the loss and keeps tensor counts flat through fit, evaluate, predict and dispose`, async () => {
    const baseline = tf.memory().numTensors;
    const model = compile(mixedGraph(), { strategy, seed: 1, trunk: { units: [12] } });
    const built = tf.memory().numTensors;
    const counts: number[] = [];
    const history = await fit(model, mixedData(96, 3), {
      epochs: EPOCHS,
      batchSize: 32,
      seed: 2,
      optimizer: { name: 'adam', learningRate: 0.02 },
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    });

    // (a) the joint training loss falls clearly, and so does every task's
    expect(history.epochs).toBe(EPOCHS);
    expect(history.loss.every(Number.isFinite)).toBe(true);
    expect(history.loss.at(-1)!).toBeLessThan(0.5 * history.loss[0]!);
    for (const [id, losses] of Object.entries(history.taskLoss)) {
      expect(losses.at(-1)!, id).toBeLessThan(0.7 * losses[0]!);
    }
    if (model.penalties.length > 0) expect(history.penalty[0]!).toBeGreaterThan(0);

    // (b) the same number of tensors after epoch 1 and epoch 20; fit frees what it made
    expect(counts).toHaveLength(EPOCHS);
    expect(counts.at(-1)).toBe(counts[0]);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(built);

    const test = mixedData(40, 9);
    const scores = await evaluate(model, test);
    expect(Object.keys(scores)).toEqual(['price', 'click', 'segment', 'tags']);
    expect(tf.memory().numTensors).toBe(built);
    const out = predict(model, test.x);
    expect(out.segment!.shape).toEqual([40, 3]);
    tf.dispose(Object.values(out));
    expect(tf.memory().numTensors).toBe(built);
    await evaluate(model, test);
    expect(tf.memory().numTensors).toBe(built);

    model.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
