import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  fit,
  initBackend,
  TaskGraph,
  type FitOptions,
  type History,
  type MtgraphModel,
  type PlanOptions,
} from '../../src/index.js';
import { configureFastStep } from '../../src/train/fast-step.js';
import { towerStepRefusal } from '../../src/train/tower-step.js';
import { Objective } from '../../src/train/objective.js';
import { resolveFitOptions } from '../../src/train/options.js';
import { cpu, features, rng, weightsOf } from './fixture.js';
import { removeDir, tempDir, thrown } from '../hardening/helpers.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('tower-step');
});
afterAll(() => removeDir(root));
afterEach(() => configureFastStep(undefined));

const SCHOOLS = 20;
const ids = Array.from({ length: SCHOOLS }, (_, t) => `s${t}`);

/**
 * School's shape, small: long-format rows, each labelled for one of 20 regression tasks (the
 * others masked), tasks weighted by their size, and a label-less centre task `mean` tied to every
 * school (`star`), or neighbours tied in a ring with some schools left out (`ring`). `binary`: the
 * last four schools are binary tasks instead.
 */
function graph(shape: 'star' | 'ring' = 'star', binary = false): TaskGraph {
  const g = new TaskGraph({ input: { features: 6 } });
  ids.forEach((id, t) =>
    g.addTask(
      id,
      binary && t >= SCHOOLS - 4
        ? { kind: 'binary', weight: 0.5 }
        : { kind: 'regression', weight: 0.5 + (t % 5) / 4 },
    ),
  );
  if (shape === 'star') {
    g.addTask('mean', { kind: 'regression' });
    for (const id of ids) g.addAffinity('mean', id, { weight: 1 });
  } else {
    for (let t = 0; t + 1 < SCHOOLS - 3; t++) g.addAffinity(ids[t]!, ids[t + 1]!, { weight: 0.5 });
  }
  return g;
}

/**
 * Rows of one school each (long format: most entries masked, so the tower step computes the
 * labelled (row, task) pairs only), or with `wide` every task labelled on most rows (the tower
 * step's wide products).
 */
function data(rows: number, binary = false, star = true, wide = false) {
  const x = features(rows, 6, 7);
  const r = rng(3);
  const school = x.map(() => Math.floor(r() * SCHOOLS));
  const y: Record<string, Array<number | null>> = {};
  ids.forEach((id, t) => {
    y[id] = x.map((v, i) => {
      if (wide ? (i + t) % 5 === 0 : school[i] !== t) return null;
      const s = v[0]! * (1 + t / 10) - v[1]! + 0.3 * Math.sin(v[2]! * t);
      return binary && t >= SCHOOLS - 4 ? (s > 0 ? 1 : 0) : s;
    });
  });
  return star ? { x, y, mask: { mean: new Float32Array(rows) } } : { x, y };
}

const DATA = data(90);
const OPTIONS: FitOptions = {
  epochs: 3,
  batchSize: 32, // 90 rows: two full batches and one of 26
  seed: 5,
  metrics: false,
  optimizer: { name: 'adam', learningRate: 0.02 },
};
const SOFT: PlanOptions = { strategy: 'soft', trunk: { units: [4] }, soft: { strength: 0.5 } };

function maxDiff(a: MtgraphModel, b: MtgraphModel): number {
  const p = weightsOf(a);
  const q = weightsOf(b);
  expect(p.length).toBe(q.length);
  let d = 0;
  p.forEach((w, i) => w.forEach((v, j) => (d = Math.max(d, Math.abs(v - q[i]![j]!)))));
  return d;
}

function refusal(model: MtgraphModel, options: FitOptions): string | undefined {
  const opts = resolveFitOptions(options, 0);
  return towerStepRefusal(model, new Objective(model.plan, model.outputIndex), opts);
}

/** Trains the same fresh model with the fast step on and off; returns both with their histories. */
async function both(
  plan: PlanOptions,
  options: FitOptions = OPTIONS,
  g: () => TaskGraph = graph,
  d: Parameters<typeof fit>[1] = DATA,
) {
  configureFastStep('on');
  const fast = compile(g(), { ...plan, seed: 3 });
  const before = tf.memory().numTensors;
  const fastHistory = await fit(fast, d, options);
  expect(tf.memory().numTensors).toBe(before);
  configureFastStep('off');
  const reference = compile(g(), { ...plan, seed: 3 });
  const referenceHistory = await fit(reference, d, options);
  configureFastStep(undefined);
  const start = compile(g(), { ...plan, seed: 3 });
  const moved = maxDiff(fast, start);
  start.dispose();
  return { fast, reference, fastHistory, referenceHistory, moved };
}

/** The two runs' histories agree to a relative `tolerance` (float32 sums in another order). */
function sameHistory(a: History, b: History, tolerance = 1e-5): void {
  const close = (x: number, y: number) =>
    Number.isNaN(y)
      ? expect(x).toBeNaN()
      : expect(Math.abs(x - y)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(y)));
  a.loss.forEach((l, e) => close(l, b.loss[e]!));
  a.penalty.forEach((p, e) => close(p, b.penalty[e]!));
  for (const id of Object.keys(a.taskLoss))
    a.taskLoss[id]!.forEach((l, e) => close(l, b.taskLoss[id]![e]!));
  expect(a.weights).toEqual(b.weights);
}

describe('the fast tower step (#18)', () => {
  it('trains soft sharing’s towers with the Laplacian penalty to the weights of the tfjs step (masked labels, task weights, a label-less centre task)', async () => {
    configureFastStep('on');
    const probe = compile(graph(), { ...SOFT, seed: 3 });
    expect(refusal(probe, OPTIONS)).toBeUndefined();
    expect(probe.penalties.length).toBe(2); // the towers' layer and the heads
    probe.dispose();
    const r = await both(SOFT);
    expect(r.moved).toBeGreaterThan(0.01);
    expect(maxDiff(r.fast, r.reference)).toBeLessThan(2e-5);
    expect(r.fastHistory.penalty[0]!).toBeGreaterThan(0);
    sameHistory(r.fastHistory, r.referenceHistory);
    // The centre task has no label: no loss, yet the penalty moved its weights.
    expect(r.fastHistory.taskLoss.mean!.every(Number.isNaN)).toBe(true);
    r.fast.dispose();
    r.reference.dispose();
  });

  it('covers linear towers, binary heads, AdamW, sample weights, a graph that leaves towers uncoupled, and labels on most rows of every task', async () => {
    const plan: PlanOptions = {
      strategy: 'soft',
      trunk: { units: [4], activation: 'linear' },
      soft: { strength: 0.3 },
    };
    const g = () => graph('ring', true);
    const d = data(90, true, false, true);
    const weights = Object.fromEntries(
      ids.map((id) => [id, Array.from({ length: 90 }, (_, i) => 0.5 + (i % 3))]),
    );
    const options: FitOptions = {
      ...OPTIONS,
      optimizer: { name: 'adamw', learningRate: 0.02, weightDecay: 0.01 },
      sampleWeight: weights,
    };
    configureFastStep('on');
    const probe = compile(g(), { ...plan, seed: 3 });
    expect(refusal(probe, options)).toBeUndefined();
    probe.dispose();
    const r = await both(plan, options, g, d);
    expect(r.moved).toBeGreaterThan(0.01);
    expect(maxDiff(r.fast, r.reference)).toBeLessThan(2e-5);
    sameHistory(r.fastHistory, r.referenceHistory, 3e-5);
    r.fast.dispose();
    r.reference.dispose();
  });

  it('covers soft without a penalty (strength 0), with towers of units not a multiple of 4, and an l2 regulariser on the towers', async () => {
    for (const plan of [
      { strategy: 'soft', trunk: { units: [4] }, soft: { strength: 0 } },
      { strategy: 'soft', trunk: { units: [3] }, soft: { strength: 1 } },
      { strategy: 'soft', trunk: { units: [4], l2: 0.01 }, soft: { strength: 0.5 } },
    ] as PlanOptions[]) {
      const probe = compile(graph(), { ...plan, seed: 3 });
      expect(refusal(probe, OPTIONS)).toBeUndefined();
      probe.dispose();
      const r = await both(plan);
      expect(r.moved).toBeGreaterThan(0.01);
      expect(maxDiff(r.fast, r.reference)).toBeLessThan(2e-5);
      sameHistory(r.fastHistory, r.referenceHistory);
      r.fast.dispose();
      r.reference.dispose();
    }
  });

  it('covers soft without tower layers (trunk []: one-unit heads fused on the input, the head Laplacian on its columns), long format and labels on most rows', async () => {
    const plan: PlanOptions = { strategy: 'soft', trunk: { units: [] }, soft: { strength: 1 } };
    const probe = compile(graph(), { ...plan, seed: 3 });
    expect(refusal(probe, OPTIONS)).toBeUndefined();
    expect(probe.layerNames.fusedHeads.size).toBe(1);
    probe.dispose();
    for (const d of [DATA, data(90, false, true, true)]) {
      const r = await both(plan, OPTIONS, graph, d);
      expect(r.moved).toBeGreaterThan(0.01);
      expect(maxDiff(r.fast, r.reference)).toBeLessThan(2e-5);
      expect(r.fastHistory.penalty[0]!).toBeGreaterThan(0);
      sameHistory(r.fastHistory, r.referenceHistory);
      r.fast.dispose();
      r.reference.dispose();
    }
  });

  it('resumes from a checkpoint to the weights of a straight run (weights and Adam state written back every epoch)', async () => {
    configureFastStep('on');
    const straight = compile(graph(), { ...SOFT, seed: 3 });
    await fit(straight, DATA, OPTIONS);
    const dir = path.join(root, 'run');
    const stop = new Error('stop');
    const first = compile(graph(), { ...SOFT, seed: 3 });
    expect(
      await thrown(() =>
        fit(first, DATA, {
          ...OPTIONS,
          checkpoint: { dir },
          onEpochEnd: (epoch) => {
            if (epoch === 1) throw stop;
          },
        }),
      ),
    ).toBe(stop);
    const resumed = compile(graph(), { ...SOFT, seed: 3 });
    await fit(resumed, DATA, { ...OPTIONS, checkpoint: { dir }, resumeFrom: dir });
    expect(maxDiff(resumed, straight)).toBeLessThan(1e-6);
    // And the tfjs step resumes the tower step's checkpoint to the same weights.
    configureFastStep('off');
    const other = compile(graph(), { ...SOFT, seed: 3 });
    await fit(other, DATA, { ...OPTIONS, checkpoint: { dir }, resumeFrom: dir });
    expect(maxDiff(other, straight)).toBeLessThan(2e-5);
    for (const m of [straight, first, resumed, other]) m.dispose();
  });

  it('falls back to the tfjs step for what it does not cover, with the same weights as with it off', async () => {
    const cases: Array<[string, PlanOptions, FitOptions]> = [
      ['two tower layers', { strategy: 'soft', trunk: { units: [4, 3] } }, OPTIONS],
      ['dropout', { strategy: 'soft', trunk: { units: [4], dropout: 0.2 } }, OPTIONS],
      ['tanh', { strategy: 'soft', trunk: { units: [4], activation: 'tanh' } }, OPTIONS],
      [
        'towers on a trunk',
        { strategy: 'hard', trunk: { units: [4] }, tower: { units: [3] } },
        OPTIONS,
      ],
      ['balance uncertainty', SOFT, { ...OPTIONS, balance: 'uncertainty' }],
      ['sgd', SOFT, { ...OPTIONS, optimizer: { name: 'sgd', learningRate: 0.02 } }],
    ];
    for (const [what, plan, options] of cases) {
      configureFastStep('on');
      const m = compile(graph(), { ...plan, seed: 3 });
      expect(refusal(m, options), what).toBeDefined();
      m.dispose();
      const r = await both(plan, options);
      expect(maxDiff(r.fast, r.reference), what).toBe(0);
      r.fast.dispose();
      r.reference.dispose();
    }
  });
});

describe('the fast tower step on wasm, with the backend’s own product and SIMD passes (#18)', () => {
  let wasm = false;
  beforeAll(async () => {
    wasm = (await initBackend({ backend: 'wasm' })).backend === 'wasm';
  });
  afterAll(() => cpu());

  it('trains towers wide enough for XNNPACK to the weights of the tfjs step (labels on most rows, and long format)', async (ctx) => {
    if (!wasm) ctx.skip();
    const plan: PlanOptions = { strategy: 'soft', trunk: { units: [8] }, soft: { strength: 0.5 } };
    const options: FitOptions = { ...OPTIONS, batchSize: 128, epochs: 2 };
    const probe = compile(graph(), { ...plan, seed: 3 });
    expect(refusal(probe, options)).toBeUndefined();
    probe.dispose();
    const linear: PlanOptions = { strategy: 'soft', trunk: { units: [] }, soft: { strength: 1 } };
    for (const [p, d] of [
      [plan, data(300, false, true, true)],
      [plan, data(300)],
      [linear, data(300, false, true, true)],
    ] as const) {
      const r = await both(p, options, graph, d);
      expect(r.moved).toBeGreaterThan(0.01);
      expect(maxDiff(r.fast, r.reference)).toBeLessThan(1e-4);
      sameHistory(r.fastHistory, r.referenceHistory, 1e-4);
      r.fast.dispose();
      r.reference.dispose();
    }
  });
});
