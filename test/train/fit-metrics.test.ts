import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate, fit, FIT_DEFAULTS, type EpochLogs } from '../../src/train/index.js';
import type { TaskData } from '../../src/data/types.js';
import { cpu, features, fixtureModel, gaussian, rng, type FixtureOptions } from './fixture.js';

beforeAll(cpu);

const FOUR: FixtureOptions = {
  features: 5,
  trunk: [8],
  tasks: {
    price: { kind: 'regression', outputs: 2 },
    click: { kind: 'binary' },
    segment: { kind: 'multiclass', classes: 3 },
    tags: { kind: 'multilabel', labels: 2 },
  },
  edges: [
    ['price', 'click', 0.6],
    ['click', 'segment', -0.4],
  ],
};

/** Learnable labels with some missing (NaN, -1 and a mask). */
function fourData(rows: number, seed = 1): TaskData {
  const x = features(rows, 5, seed);
  const r = rng(seed + 7);
  return {
    x,
    y: {
      price: x.map((v, i) => [v[0]! + v[1]!, i % 5 === 0 ? NaN : v[2]!]),
      click: x.map((v, i) => (i % 7 === 0 ? -1 : v[0]! + 0.3 * gaussian(r) > 0 ? 1 : 0)),
      segment: x.map((v) => (v[3]! > 0.3 ? 2 : v[3]! > -0.3 ? 1 : 0)),
      tags: x.map((v) => [v[4]! > 0 ? 1 : 0, v[1]! > 0 ? 1 : 0]),
    },
    mask: { segment: x.map((_, i) => (i % 6 === 0 ? 0 : 1)) },
  };
}

const TASKS = ['price', 'click', 'segment', 'tags'];
const OPTIONS = { batchSize: 16, optimizer: { name: 'adam', learningRate: 0.01 }, seed: 3 };

/** Each task's metrics from evaluate, without the loss. */
async function evaluated(
  model: Parameters<typeof evaluate>[0],
  data: TaskData,
  batchSize?: number,
): Promise<Record<string, Record<string, number>>> {
  const scores = await evaluate(model, data, batchSize ? { batchSize } : {});
  return Object.fromEntries(
    Object.entries(scores).map(([id, { loss: _loss, ...metrics }]) => [id, metrics]),
  );
}

function expectClose(
  actual: Record<string, Record<string, number>>,
  expected: Record<string, Record<string, number>>,
): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [id, metrics] of Object.entries(expected)) {
    expect(Object.keys(actual[id]!), id).toEqual(Object.keys(metrics));
    for (const [name, value] of Object.entries(metrics))
      expect(actual[id]![name], `${id}.${name}`).toBeCloseTo(value, 5);
  }
}

describe('fit metrics', () => {
  it('fit scores every task metric on the training data each epoch, as evaluate does', async () => {
    const model = fixtureModel(FOUR);
    const data = fourData(80);
    const logs: EpochLogs[] = [];
    const history = await fit(model, data, {
      ...OPTIONS,
      epochs: 4,
      onEpochEnd: (_e, l) => {
        logs.push(l);
      },
    });
    expect(history.valMetrics).toBeUndefined();
    const metrics = history.metrics!;
    expect(Object.keys(metrics)).toEqual(TASKS);
    expect(Object.keys(metrics.price!)).toEqual(['mse', 'rmse', 'mae', 'r2']);
    expect(Object.keys(metrics.click!)).toEqual(['auc', 'accuracy', 'logloss']);
    expect(Object.keys(metrics.segment!)).toEqual(['accuracy', 'macro-f1', 'logloss']);
    expect(Object.keys(metrics.tags!)).toEqual(['mean-auc', 'micro-f1', 'logloss']);
    for (const [id, byMetric] of Object.entries(metrics)) {
      for (const [name, values] of Object.entries(byMetric)) {
        expect(values, `${id}.${name}`).toHaveLength(4);
        expect(values.every(Number.isFinite), `${id}.${name}`).toBe(true);
        values.forEach((v, epoch) => expect(logs[epoch]!.metrics![id]![name]).toBe(v));
      }
    }
    expect(logs.every((l) => l.valMetrics === undefined)).toBe(true);
    // after the last epoch the weights are the final ones: the scores equal evaluate's on the same rows
    expectClose(logs.at(-1)!.metrics!, await evaluated(model, data));
    // the training loss went down, and the log loss (its cross-entropy part) with it
    expect(metrics.click!.logloss!.at(-1)!).toBeLessThan(metrics.click!.logloss![0]!);
    model.dispose();
  });

  it('fit scores the validation data when there is any', async () => {
    const model = fixtureModel(FOUR);
    const val = fourData(30, 2);
    const logs: EpochLogs[] = [];
    const history = await fit(model, fourData(60), {
      ...OPTIONS,
      epochs: 3,
      validationData: val,
      onEpochEnd: (_e, l) => {
        logs.push(l);
      },
    });
    expect(history.metrics).toBeUndefined();
    expect(Object.keys(history.valMetrics!)).toEqual(TASKS);
    expect(history.valMetrics!.click!.auc).toHaveLength(3);
    expect(logs.every((l) => l.metrics === undefined && l.valMetrics !== undefined)).toBe(true);
    expectClose(logs.at(-1)!.valMetrics!, await evaluated(model, val));
    model.dispose();
  });

  it('fit scores the held-out rows of a validationSplit', async () => {
    const model = fixtureModel(FOUR);
    const data = fourData(50) as {
      x: number[][];
      y: Record<string, unknown[]>;
      mask: Record<string, number[]>;
    };
    const history = await fit(model, data as TaskData, {
      ...OPTIONS,
      epochs: 2,
      validationSplit: 0.4,
    });
    const tail = (v: unknown[]) => v.slice(30);
    const held = {
      x: data.x.slice(30),
      y: Object.fromEntries(Object.entries(data.y).map(([k, v]) => [k, tail(v)])),
      mask: { segment: tail(data.mask.segment!) },
    } as TaskData;
    const last = Object.fromEntries(
      Object.entries(history.valMetrics!).map(([id, m]) => [
        id,
        Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.at(-1)!])),
      ]),
    );
    expectClose(last, await evaluated(model, held));
    model.dispose();
  });

  it('fit metricsEvery scores every n-th epoch and the last, NaN in between, with flat tensor counts', async () => {
    const model = fixtureModel(FOUR);
    const scored: boolean[] = [];
    const counts: number[] = [];
    const history = await fit(model, fourData(40), {
      ...OPTIONS,
      epochs: 7,
      metricsEvery: 3,
      onEpochEnd: (_e, l) => {
        scored.push(l.metrics !== undefined);
        counts.push(tf.memory().numTensors);
      },
    });
    expect(scored).toEqual([false, false, true, false, false, true, true]);
    expect(history.metrics!.segment!.accuracy!.map(Number.isNaN)).toEqual([
      true,
      true,
      false,
      true,
      true,
      false,
      false,
    ]);
    expect(new Set(counts).size).toBe(1);
    model.dispose();
  });

  it('fit with metrics: false computes none', async () => {
    const model = fixtureModel(FOUR);
    const logs: EpochLogs[] = [];
    const history = await fit(model, fourData(40), {
      ...OPTIONS,
      epochs: 2,
      metrics: false,
      validationSplit: 0.25,
      onEpochEnd: (_e, l) => {
        logs.push(l);
      },
    });
    expect(history.metrics).toBeUndefined();
    expect(history.valMetrics).toBeUndefined();
    expect(logs.some((l) => 'metrics' in l || 'valMetrics' in l)).toBe(false);
    expect(FIT_DEFAULTS).toMatchObject({ metrics: true, metricsEvery: 1 });
    model.dispose();
  });

  it('fit leaves out a task excluded on purpose and scores a task without labels as NaN', async () => {
    const model = fixtureModel(FOUR);
    const data = fourData(40) as {
      x: number[][];
      y: Record<string, unknown>;
      mask: Record<string, number[]>;
    };
    delete data.y.tags;
    data.mask.tags = data.x.map(() => 0);
    const history = await fit(model, data as TaskData, { ...OPTIONS, epochs: 1 });
    expect(Object.keys(history.metrics!)).toEqual(['price', 'click', 'segment']);
    // a validation split where `click` has one labelled row: it stays for training, so the
    // held-out rows have no click label (the split is per task: a task with two labelled rows
    // would get one held out)
    const split = fourData(20, 6) as {
      x: number[][];
      y: Record<string, unknown[]>;
      mask: Record<string, number[]>;
    };
    const keep = split.y.click!.findIndex((v) => v === 0 || v === 1);
    split.y.click = split.y.click!.map((v, i) => (i === keep ? v : -1));
    const h2 = await fit(model, split as TaskData, {
      ...OPTIONS,
      epochs: 1,
      validationSplit: 0.25,
    });
    expect(Number.isNaN(h2.valMetrics!.click!.auc![0])).toBe(true);
    expect(Number.isFinite(h2.valMetrics!.price!.mse![0])).toBe(true);
    model.dispose();
  });

  it('fit metrics span several inference chunks and match evaluate in one chunk', async () => {
    const model = fixtureModel({ ...FOUR, trunk: [4] });
    const data = fourData(8192 + 300, 4);
    const history = await fit(model, data, { epochs: 1, batchSize: 4096, seed: 1 });
    const last = Object.fromEntries(
      Object.entries(history.metrics!).map(([id, m]) => [
        id,
        Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v[0]!])),
      ]),
    );
    expectClose(last, await evaluated(model, data, 100_000));
    model.dispose();
  });
});
