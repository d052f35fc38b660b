import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  build,
  compile,
  fit,
  initBackend,
  loadModel,
  predict,
  saveModel,
  TaskGraph,
  type FitOptions,
  type MtgraphModel,
  type PlanOptions,
} from '../../src/index.js';
import { configureExpertBank, expertGroups } from '../../src/train/expert-bank.js';
import { trainingView } from '../../src/train/forward.js';
import { cpu, features, weightsOf } from './fixture.js';
import { removeDir, tempDir, thrown } from '../hardening/helpers.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('expert-bank');
});
afterAll(() => removeDir(root));
afterEach(() => configureExpertBank(undefined));

/** Five tasks of three head shapes (regression x2, binary, multiclass x2). */
function graph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 5 } });
  for (const id of ['r0', 'r1']) g.addTask(id, { kind: 'regression' });
  g.addTask('b0', { kind: 'binary' });
  for (const id of ['c0', 'c1']) g.addTask(id, { kind: 'multiclass', classes: 3 });
  return g;
}
/** Three tasks with one-unit heads (regression x2, binary): the bank computes the heads too. */
function oneUnitGraph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 5 } });
  for (const id of ['r0', 'r1']) g.addTask(id, { kind: 'regression' });
  g.addTask('b0', { kind: 'binary' });
  return g;
}
const ROWS = 64;
const x = features(ROWS, 5, 13);
/** Labels with gaps (null: masked out) in most tasks. */
const DATA = {
  x,
  y: {
    r0: x.map((v, i) => (i % 5 === 0 ? null : v[0]! + v[1]!)),
    r1: x.map((v) => Math.tanh(v[3]! - v[1]!)),
    b0: x.map((v, i) => (i % 6 === 2 ? null : v[0]! > 0 ? 1 : 0)),
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
const MMOE: PlanOptions = { strategy: 'mmoe', trunk: { units: [6, 4] }, mmoe: { experts: 3 } };

/** Largest |a - b| over every weight of two models. */
function maxDiff(a: MtgraphModel, b: MtgraphModel): number {
  const p = weightsOf(a);
  const q = weightsOf(b);
  expect(p.length).toBe(q.length);
  let d = 0;
  p.forEach((w, i) => w.forEach((v, j) => (d = Math.max(d, Math.abs(v - q[i]![j]!)))));
  return d;
}

/** Trains the same fresh model with the bank and without; checks training moved it; returns both. */
async function both(
  planOptions: PlanOptions,
  options: FitOptions = OPTIONS,
  make: () => TaskGraph = graph,
): Promise<[banked: MtgraphModel, reference: MtgraphModel]> {
  const ids = new Set(make().nodes());
  const data = {
    x: DATA.x,
    y: Object.fromEntries(Object.entries(DATA.y).filter(([id]) => ids.has(id))),
  };
  configureExpertBank('on');
  const banked = compile(make(), { ...planOptions, seed: 3 });
  await fit(banked, data, options);
  configureExpertBank('off');
  const reference = compile(make(), { ...planOptions, seed: 3 });
  await fit(reference, data, options);
  const fresh = compile(make(), { ...planOptions, seed: 3 });
  expect(maxDiff(banked, fresh)).toBeGreaterThan(0.01); // training moved the weights
  fresh.dispose();
  return [banked, reference];
}

describe('expert bank', () => {
  it('groups the gates over the same experts; off, none', () => {
    const m = compile(graph(), { ...MMOE, seed: 3 });
    configureExpertBank('on');
    const groups = expertGroups(m);
    expect(groups.length).toBe(1);
    expect(groups[0]!.layers.map((l) => l.length)).toEqual([3, 3]);
    expect(groups[0]!.gates.length).toBe(5);
    expect(groups[0]!.mixes.length).toBe(5);
    configureExpertBank('off');
    expect(expertGroups(m)).toEqual([]);
    m.dispose();
  });

  it('gives the per-expert path’s weights after training (masked labels, three head kinds, two expert layers)', async () => {
    const [a, b] = await both(MMOE);
    expect(trainingView(a)?.experts?.length).toBe(1);
    expect(trainingView(b)).toBeUndefined();
    expect(maxDiff(a, b)).toBeLessThan(2e-5);
    a.dispose();
    b.dispose();
  });

  it('computes one-unit heads on the gates too (regression, binary, masked labels), with the same weights', async () => {
    const m = compile(oneUnitGraph(), { ...MMOE, seed: 3 });
    configureExpertBank('on');
    expect(expertGroups(m)[0]!.heads?.tasks).toEqual(['r0', 'r1', 'b0']);
    const mixed = compile(graph(), { ...MMOE, seed: 3 });
    expect(expertGroups(mixed)[0]!.heads).toBeUndefined(); // multiclass heads: the model runs them
    m.dispose();
    mixed.dispose();
    for (const planOptions of [MMOE, { ...MMOE, trunk: { units: [6] } }] as PlanOptions[]) {
      const [a, b] = await both(planOptions, OPTIONS, oneUnitGraph);
      expect(trainingView(a)?.experts?.[0]?.heads).toBeDefined();
      expect(maxDiff(a, b)).toBeLessThan(2e-5);
      const before = tf.memory().numTensors;
      await fit(
        a,
        { x, y: { r0: DATA.y.r0, r1: DATA.y.r1, b0: DATA.y.b0 } },
        { ...OPTIONS, epochs: 1 },
      );
      expect(tf.memory().numTensors).toBe(before);
      a.dispose();
      b.dispose();
    }
  });

  it('is equal with one and three expert layers, linear experts, towers after the gates and an l2 penalty', async () => {
    for (const planOptions of [
      { ...MMOE, trunk: { units: [6] } },
      { ...MMOE, trunk: { units: [6, 5, 4], l2: 0.01 }, tower: { units: [3] } },
      { ...MMOE, trunk: { units: [6, 4], activation: 'linear' } },
    ] as PlanOptions[]) {
      const [a, b] = await both(planOptions);
      expect(trainingView(a)?.experts?.length).toBe(1);
      expect(maxDiff(a, b)).toBeLessThan(2e-5);
      a.dispose();
      b.dispose();
    }
  });

  it('banks ple’s gates on the input over some of the experts each (one and two levels; heads too), with the same weights', async () => {
    const one: PlanOptions = {
      strategy: 'ple',
      trunk: { units: [6] },
      ple: { sharedExperts: 2, taskExperts: 1 },
    };
    const two: PlanOptions = { ...one, trunk: { units: [6, 4] } };
    configureExpertBank('on');
    const m = compile(graph(), { ...two, seed: 3 });
    const groups = expertGroups(m);
    // The first level's 5 task gates and shared gate over its 7 experts; the second level's gates
    // read different tensors (per-expert path).
    expect(groups.length).toBe(1);
    expect(groups[0]!.gates.length).toBe(6);
    expect(groups[0]!.layers[0]!.length).toBe(7);
    expect(groups[0]!.members?.map((l) => l.length)).toEqual([3, 3, 3, 3, 3, 7]);
    m.dispose();
    for (const [planOptions, make, headed] of [
      [one, graph, false],
      [two, graph, false],
      [one, oneUnitGraph, true],
    ] as const) {
      const [a, b] = await both(planOptions, OPTIONS, make);
      expect(trainingView(a)?.experts?.length).toBe(1);
      expect(trainingView(a)?.experts?.[0]?.heads !== undefined).toBe(headed);
      expect(maxDiff(a, b)).toBeLessThan(2e-5);
      a.dispose();
      b.dispose();
    }
  });

  it('sends the gradient on to experts and gates that read a trunk (a hand-made plan), with the same weights', async () => {
    const make = (bank: 'on' | 'off') => {
      configureExpertBank(bank);
      const base = compile(graph(), { ...MMOE, seed: 3 });
      const plan = structuredClone(base.plan);
      base.dispose();
      plan.blocks.unshift({
        id: 'trunk',
        parent: null,
        tasks: plan.tasks.map((t) => t.id),
        layers: [{ units: 7, activation: 'relu', dropout: 0, batchNorm: false }],
        role: 'shared',
      });
      for (const b of plan.blocks) if (b.role === 'expert') b.parent = 'trunk';
      for (const g of plan.gates) g.parent = 'trunk';
      return build(plan);
    };
    const a = make('on');
    await fit(a, DATA, OPTIONS);
    expect(trainingView(a)?.experts?.[0]?.parent).not.toBe(a.model.inputs[0]);
    const b = make('off');
    await fit(b, DATA, OPTIONS);
    expect(trainingView(b)).toBeUndefined();
    expect(maxDiff(a, b)).toBeLessThan(2e-5);
    const trunk = (m: MtgraphModel) =>
      Array.from(m.model.getLayer('trunk.dense0').getWeights()[0]!.dataSync());
    const fresh = make('off');
    expect(Math.max(...trunk(a).map((v, i) => Math.abs(v - trunk(fresh)[i]!)))).toBeGreaterThan(
      0.01,
    );
    for (const m of [a, b, fresh]) m.dispose();
  });

  it('is equal under loss balancing (uncertainty) and gradient balancing (pcgrad)', async () => {
    for (const [balance, make] of [
      ['uncertainty', graph],
      ['uncertainty', oneUnitGraph],
      ['pcgrad', graph],
    ] as const) {
      const [a, b] = await both(MMOE, { ...OPTIONS, balance }, make);
      expect(maxDiff(a, b)).toBeLessThan(2e-5);
      a.dispose();
      b.dispose();
    }
  });

  it('leaves experts with dropout or tanh to the per-expert path (same weights)', async () => {
    for (const trunk of [
      { units: [6, 4], dropout: 0.3 },
      { units: [6, 4], activation: 'tanh' },
    ] as PlanOptions['trunk'][]) {
      configureExpertBank('on');
      const m = compile(graph(), { ...MMOE, trunk, seed: 3 });
      expect(expertGroups(m)).toEqual([]);
      m.dispose();
      const [a, b] = await both({ ...MMOE, trunk });
      expect(maxDiff(a, b)).toBe(0);
      a.dispose();
      b.dispose();
    }
  });

  it('resumes from a checkpoint to the weights of a straight run', async () => {
    configureExpertBank('on');
    const options = { ...OPTIONS, epochs: 3 };
    const straight = compile(graph(), { ...MMOE, seed: 3 });
    await fit(straight, DATA, options);
    const dir = path.join(root, 'run');
    const stop = new Error('stop');
    const first = compile(graph(), { ...MMOE, seed: 3 });
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
    const resumed = compile(graph(), { ...MMOE, seed: 3 });
    await fit(resumed, DATA, { ...options, checkpoint: { dir }, resumeFrom: dir });
    expect(maxDiff(resumed, straight)).toBeLessThan(1e-6);
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('keeps the model as it was: saved and loaded, it predicts the same and trains on with the bank; no tensor left', async () => {
    configureExpertBank('on');
    const m = compile(graph(), { ...MMOE, seed: 3 });
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
    expect(expertGroups(loaded).length).toBe(1);
    await fit(loaded, DATA, { ...OPTIONS, epochs: 1 });
    await fit(m, DATA, { ...OPTIONS, epochs: 1 });
    expect(maxDiff(loaded, m)).toBeLessThan(1e-6);
    m.dispose();
    loaded.dispose();
  });

  it('on wasm (the SIMD mixture and join kernels, rows of 8), gives the per-expert path’s weights', async () => {
    const report = await initBackend({ backend: 'wasm' }).catch(() => undefined);
    if (!report) return; // wasm does not load here
    try {
      for (const make of [graph, oneUnitGraph]) {
        const [a, b] = await both(
          { ...MMOE, trunk: { units: [8, 8] }, mmoe: { experts: 4 } },
          OPTIONS,
          make,
        );
        expect(trainingView(a)?.experts?.length).toBe(1);
        expect(maxDiff(a, b)).toBeLessThan(2e-5);
        a.dispose();
        b.dispose();
      }
    } finally {
      await cpu();
    }
  });
});
