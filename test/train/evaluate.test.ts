import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fit, predict } from '../../src/train/index.js';
import { rocAuc, macroF1, argmaxRows, r2Score } from '../../src/train/metrics/index.js';
import { DataError } from '../../src/errors.js';
import type { MtgraphModel } from '../../src/network/types.js';
import { cpu, features, fixtureModel } from './fixture.js';

const x = features(200, 4, 11);
const y = {
  spend: x.map((v, i) => [v[0]! + v[1]!, i % 4 === 0 ? NaN : v[2]!]),
  click: x.map((v, i) => (i % 5 === 0 ? -1 : v[3]! > 0 ? 1 : 0)),
  segment: x.map((v) => (v[0]! > 0.3 ? 2 : v[0]! > -0.3 ? 1 : 0)),
  tags: x.map((v) => [v[1]! > 0 ? 1 : 0, v[2]! > 0 ? 1 : 0]),
};
let model: MtgraphModel;

beforeAll(async () => {
  await cpu();
  model = fixtureModel({
    features: 4,
    trunk: [16],
    tasks: {
      spend: { kind: 'regression', outputs: 2 },
      click: { kind: 'binary' },
      segment: { kind: 'multiclass', classes: 3 },
      tags: { kind: 'multilabel', labels: 2 },
    },
  });
  await fit(
    model,
    {
      x: x.slice(0, 150),
      y: Object.fromEntries(Object.entries(y).map(([k, v]) => [k, v.slice(0, 150)])),
    },
    { epochs: 30, optimizer: { name: 'adam', learningRate: 0.02 } },
  );
});
afterAll(() => model.dispose());

const test = () => ({
  x: x.slice(150),
  y: Object.fromEntries(Object.entries(y).map(([k, v]) => [k, v.slice(150)])) as typeof y,
});

describe('evaluate', () => {
  it('evaluate reports loss and every metric of each task kind', async () => {
    const scores = await evaluate(model, test());
    expect(Object.keys(scores)).toEqual(['spend', 'click', 'segment', 'tags']);
    expect(Object.keys(scores.spend!)).toEqual(['loss', 'mse', 'rmse', 'mae', 'r2']);
    expect(Object.keys(scores.click!)).toEqual(['loss', 'auc', 'accuracy', 'logloss']);
    expect(Object.keys(scores.segment!)).toEqual(['loss', 'accuracy', 'macro-f1', 'logloss']);
    expect(Object.keys(scores.tags!)).toEqual(['loss', 'mean-auc', 'micro-f1', 'logloss']);
    expect(scores.spend!.r2!).toBeGreaterThan(0.5);
    expect(scores.click!.auc!).toBeGreaterThan(0.8);
    expect(scores.segment!.accuracy!).toBeGreaterThan(0.6);
    expect(scores.tags!['mean-auc']!).toBeGreaterThan(0.8);
    // the task loss of cross-entropy kinds is their log loss; of mse regression its mse
    expect(scores.click!.loss!).toBeCloseTo(scores.click!.logloss!, 4);
    expect(scores.segment!.loss!).toBeCloseTo(scores.segment!.logloss!, 4);
    expect(scores.tags!.loss!).toBeCloseTo(scores.tags!.logloss!, 4);
    expect(scores.spend!.loss!).toBeCloseTo(scores.spend!.mse!, 4);
    expect(scores.spend!.rmse!).toBeCloseTo(Math.sqrt(scores.spend!.mse!), 6);
  });

  it('evaluate scores labelled rows only, as the metric functions do on predictions', async () => {
    const data = test();
    const scores = await evaluate(model, data);
    const out = predict(model, data.x);
    const click = out.click!.dataSync();
    const seg = argmaxRows(out.segment!.dataSync(), 3);
    const spend = out.spend!.dataSync();
    tf.dispose(Object.values(out));
    const rows = data.x.map((_, i) => i).filter((i) => data.y.click[i] !== -1);
    expect(rows.length).toBeLessThan(data.x.length);
    expect(scores.click!.auc).toBeCloseTo(
      rocAuc(
        rows.map((i) => data.y.click[i]!),
        rows.map((i) => click[i]!),
      ),
      6,
    );
    expect(scores.segment!['macro-f1']).toBeCloseTo(macroF1(data.y.segment, seg), 6);
    const r2a = r2Score(
      data.y.spend.map((r) => r[0]!),
      data.y.spend.map((_, i) => spend[2 * i]!),
    );
    const kept = data.y.spend.map((_, i) => i).filter((i) => !Number.isNaN(data.y.spend[i]![1]));
    const r2b = r2Score(
      kept.map((i) => data.y.spend[i]![1]!),
      kept.map((i) => spend[2 * i + 1]!),
    );
    expect(scores.spend!.r2).toBeCloseTo((r2a + r2b) / 2, 5);
  });

  it('evaluate agrees with the validation loss of fit', async () => {
    const other = fixtureModel({
      features: 4,
      trunk: [8],
      tasks: { spend: { kind: 'regression', outputs: 2 }, click: { kind: 'binary' } },
    });
    const val = { x: test().x, y: { spend: test().y.spend, click: test().y.click } };
    const h = await fit(
      other,
      { x: x.slice(0, 150), y: { spend: y.spend.slice(0, 150), click: y.click.slice(0, 150) } },
      { epochs: 2, validationData: val },
    );
    const scores = await evaluate(other, val);
    expect(scores.spend!.loss).toBeCloseTo(h.valTaskLoss!.spend!.at(-1)!, 5);
    expect(scores.click!.loss).toBeCloseTo(h.valTaskLoss!.click!.at(-1)!, 5);
    other.dispose();
  });

  it('evaluate leaves out a task excluded with an all-zero mask, and frees its tensors', async () => {
    const data = test();
    const before = tf.memory().numTensors;
    const scores = await evaluate(
      model,
      {
        x: data.x,
        y: { spend: data.y.spend, click: data.y.click, segment: data.y.segment },
        mask: { tags: new Array(50).fill(0) },
      },
      { batchSize: 16 },
    );
    expect(Object.keys(scores)).toEqual(['spend', 'click', 'segment']);
    expect(tf.memory().numTensors).toBe(before);
    const whole = await evaluate(model, data);
    expect(scores.segment!.loss).toBeCloseTo(whole.segment!.loss!, 5);
  });

  it('evaluate rejects bad data with the evaluate scope', async () => {
    const data = test();
    (data.y.segment as number[])[3] = 9;
    await expect(evaluate(model, data)).rejects.toMatchObject({
      name: 'DataError',
      path: 'y.segment[3]',
      message: expect.stringMatching(/^mtgraph\/evaluate: /),
    });
  });
});

describe('predict', () => {
  it('predict returns one tensor per task, in chunks or whole, and leaks nothing', () => {
    const before = tf.memory().numTensors;
    const whole = predict(model, x);
    const chunked = predict(
      model,
      { values: Float32Array.from(x.flat()), shape: [200, 4] },
      { batchSize: 7 },
    );
    expect(Object.keys(whole)).toEqual(['spend', 'click', 'segment', 'tags']);
    expect(whole.spend!.shape).toEqual([200, 2]);
    expect(whole.segment!.shape).toEqual([200, 3]);
    for (const id of Object.keys(whole)) {
      const a = whole[id]!.dataSync();
      const b = chunked[id]!.dataSync();
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6);
    }
    const sums = tf.tidy(() => tf.sum(whole.segment!, 1).dataSync());
    expect(Math.abs(sums[0]! - 1)).toBeLessThan(1e-5);
    tf.dispose([...Object.values(whole), ...Object.values(chunked)]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('predict accepts a tensor and does not dispose it', () => {
    const t = tf.tensor2d(x.slice(0, 3));
    const out = predict(model, t);
    expect(t.isDisposed).toBe(false);
    tf.dispose([t, ...Object.values(out)]);
  });

  it('predict validates x first', () => {
    const before = tf.memory().numTensors;
    expect(() => predict(model, [[1, 2, 3]])).toThrowError(DataError);
    expect(() => predict(model, [[1, 2, 3, NaN]])).toThrowError(
      expect.objectContaining({ path: 'x[0][3]' }),
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
