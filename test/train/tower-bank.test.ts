import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  fit,
  loadModel,
  predict,
  saveModel,
  TaskGraph,
  type FitOptions,
  type MtgraphModel,
  type PlanOptions,
} from '../../src/index.js';
import { configureTowerBank, towerGroups } from '../../src/train/tower-bank.js';
import { trainingView } from '../../src/train/forward.js';
import { cpu, features, weightsOf } from './fixture.js';
import { removeDir, tempDir, thrown } from '../hardening/helpers.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('tower-bank');
});
afterAll(() => removeDir(root));
afterEach(() => configureTowerBank(undefined));

/** Seven tasks of three head shapes (regression x3, binary x2, multiclass x2), soft-coupled in a ring. */
function graph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 5 } });
  for (const id of ['r0', 'r1', 'r2']) g.addTask(id, { kind: 'regression' });
  for (const id of ['b0', 'b1']) g.addTask(id, { kind: 'binary' });
  for (const id of ['c0', 'c1']) g.addTask(id, { kind: 'multiclass', classes: 3 });
  const ids = ['r0', 'r1', 'r2', 'b0', 'b1', 'c0', 'c1'];
  ids.forEach((id, i) => g.addAffinity(id, ids[(i + 1) % ids.length]!, { weight: 0.7 }));
  return g;
}
const ROWS = 64;
const x = features(ROWS, 5, 11);
/** Labels with gaps (null: masked out) in every task. */
const DATA = {
  x,
  y: {
    r0: x.map((v, i) => (i % 5 === 0 ? null : v[0]! + v[1]!)),
    r1: x.map((v, i) => (i % 7 === 1 ? null : v[1]! - v[2]!)),
    r2: x.map((v) => Math.tanh(v[3]!)),
    b0: x.map((v, i) => (i % 6 === 2 ? null : v[0]! > 0 ? 1 : 0)),
    b1: x.map((v) => (v[4]! > 0.2 ? 1 : 0)),
    c0: x.map((v, i) => (i % 4 === 3 ? null : v[2]! > 0.5 ? 2 : v[2]! > -0.5 ? 1 : 0)),
    c1: x.map((v) => (v[1]! > 0 ? 1 : 0)),
  },
};
const OPTIONS: FitOptions = {
  epochs: 2,
  batchSize: 16,
  seed: 5,
  metrics: false,
  optimizer: { name: 'adam', learningRate: 0.02 },
};
const SOFT: PlanOptions = { strategy: 'soft', trunk: { units: [6] }, soft: { strength: 0.1 } };

/** Largest |a - b| over every weight of two models. */
function maxDiff(a: MtgraphModel, b: MtgraphModel): number {
  const p = weightsOf(a);
  const q = weightsOf(b);
  expect(p.length).toBe(q.length);
  let d = 0;
  p.forEach((w, i) => w.forEach((v, j) => (d = Math.max(d, Math.abs(v - q[i]![j]!)))));
  return d;
}

/** Trains the same fresh model with the bank (on from 2 towers) and without; returns both. */
async function both(
  planOptions: PlanOptions,
  options: FitOptions = OPTIONS,
): Promise<[banked: MtgraphModel, reference: MtgraphModel]> {
  configureTowerBank(2);
  const banked = compile(graph(), { ...planOptions, seed: 3 });
  await fit(banked, DATA, options);
  configureTowerBank('off');
  const reference = compile(graph(), { ...planOptions, seed: 3 });
  await fit(reference, DATA, options);
  return [banked, reference];
}

describe('tower bank', () => {
  it('groups towers that read one tensor by layer shapes and head width; off and below minTowers, none', () => {
    const m = compile(graph(), { ...SOFT, seed: 3 });
    configureTowerBank(2);
    const groups = towerGroups(m, new Set());
    expect(groups.map((g) => g.tasks)).toEqual([
      ['r0', 'r1', 'r2', 'b0', 'b1'],
      ['c0', 'c1'],
    ]);
    expect(groups.map((g) => g.headUnits)).toEqual([1, 3]);
    configureTowerBank(6);
    expect(towerGroups(m, new Set())).toEqual([]);
    configureTowerBank('off');
    expect(towerGroups(m, new Set())).toEqual([]);
    m.dispose();
  });

  it('gives the per-tower path’s weights after training (masked labels, three head kinds, the Laplacian penalty)', async () => {
    const [a, b] = await both(SOFT);
    expect(trainingView(a)?.banks?.length).toBe(2);
    expect(trainingView(b)).toBeUndefined();
    const moved = maxDiff(a, compile(graph(), { ...SOFT, seed: 3 }));
    expect(moved).toBeGreaterThan(0.01); // training moved the weights...
    expect(maxDiff(a, b)).toBeLessThan(2e-5); // ...the same way on both paths
    a.dispose();
    b.dispose();
  });

  it('is equal with deeper towers (batched block-diagonal layers), tanh, and an l2 penalty', async () => {
    const deep: PlanOptions = {
      strategy: 'soft',
      trunk: { units: [6, 4], activation: 'tanh', l2: 0.01 },
      soft: { strength: 0.1 },
    };
    const [a, b] = await both(deep);
    expect(trainingView(a)?.banks?.[0]?.group.layers.length).toBe(2);
    expect(maxDiff(a, b)).toBeLessThan(2e-5);
    a.dispose();
    b.dispose();
  });

  it('is equal with towers on a shared trunk (the gradient flows on into the trunk)', async () => {
    const [a, b] = await both({ strategy: 'hard', trunk: { units: [6] }, tower: { units: [4] } });
    expect(trainingView(a)?.banks?.map((k) => k.parent)).toEqual([0, 0]);
    expect(maxDiff(a, b)).toBeLessThan(2e-5);
    a.dispose();
    b.dispose();
  });

  it('is equal under loss balancing (uncertainty) and gradient balancing (pcgrad)', async () => {
    for (const balance of ['uncertainty', 'pcgrad'] as const) {
      const [a, b] = await both(SOFT, { ...OPTIONS, balance });
      expect(maxDiff(a, b)).toBeLessThan(2e-5);
      a.dispose();
      b.dispose();
    }
  });

  it('leaves towers with dropout to the per-tower path (same seeded masks)', async () => {
    const dropout: PlanOptions = { ...SOFT, trunk: { units: [6], dropout: 0.3 } };
    configureTowerBank(2);
    const m = compile(graph(), { ...dropout, seed: 3 });
    expect(towerGroups(m, new Set())).toEqual([]);
    m.dispose();
    const [a, b] = await both(dropout);
    expect(maxDiff(a, b)).toBe(0);
    a.dispose();
    b.dispose();
  });

  it('resumes from a checkpoint to the weights of a straight run', async () => {
    configureTowerBank(2);
    const options = { ...OPTIONS, epochs: 3 };
    const straight = compile(graph(), { ...SOFT, seed: 3 });
    await fit(straight, DATA, options);
    const dir = path.join(root, 'run');
    const stop = new Error('stop');
    const first = compile(graph(), { ...SOFT, seed: 3 });
    expect(
      await thrown(() =>
        fit(first, DATA, {
          ...options,
          checkpoint: { dir },
          onEpochEnd: (epoch) => {
            if (epoch === 1) throw stop;
          },
        }),
      ),
    ).toBe(stop);
    const resumed = compile(graph(), { ...SOFT, seed: 3 });
    await fit(resumed, DATA, { ...options, checkpoint: { dir }, resumeFrom: dir });
    expect(maxDiff(resumed, straight)).toBeLessThan(1e-6);
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('keeps the model as it was: saved and loaded, it predicts the same and trains on with the bank', async () => {
    configureTowerBank(2);
    const m = compile(graph(), { ...SOFT, seed: 3 });
    const before = tf.memory().numTensors;
    await fit(m, DATA, OPTIONS);
    expect(tf.memory().numTensors).toBe(before);
    const dir = path.join(root, 'saved');
    await saveModel(m, dir);
    const loaded = await loadModel(dir);
    const p = predict(m, x);
    const q = predict(loaded, x);
    for (const id of Object.keys(p))
      expect(Array.from(q[id]!.dataSync())).toEqual(Array.from(p[id]!.dataSync()));
    tf.dispose([...Object.values(p), ...Object.values(q)]);
    expect(towerGroups(loaded, new Set()).length).toBe(2);
    await fit(loaded, DATA, { ...OPTIONS, epochs: 1 });
    await fit(m, DATA, { ...OPTIONS, epochs: 1 });
    expect(maxDiff(loaded, m)).toBeLessThan(1e-6);
    m.dispose();
    loaded.dispose();
  });
});
