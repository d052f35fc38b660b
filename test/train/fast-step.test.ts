import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  fit,
  initBackend,
  TaskGraph,
  TrainingError,
  type FitOptions,
  type MtgraphModel,
  type PlanOptions,
} from '../../src/index.js';
import { configureFastStep, fastStepRefusal } from '../../src/train/fast-step.js';
import { DenseEngine, halves, labelCounts, type EngineSpec } from '../../src/train/dense-engine.js';
import { startFastPeer } from '../../src/platform/fast-peer.js';
import { Objective } from '../../src/train/objective.js';
import { resolveFitOptions } from '../../src/train/options.js';
import { DENSE_STEP_WASM } from '../../src/backend/wasm/dense_step.wasm.js';
import { compileWat, wasmDir } from '../../scripts/build-wasm.js';
import { cpu, features, weightsOf } from './fixture.js';
import { removeDir, tempDir, thrown } from '../hardening/helpers.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('fast-step');
});
afterAll(() => removeDir(root));
afterEach(() => configureFastStep(undefined));

/** Five tasks of three head kinds: regression x2 (one weighted 0.5), binary x2, 3-class. */
function graph(inputs = 5): TaskGraph {
  const g = new TaskGraph({ input: { features: inputs } });
  g.addTask('r0', { kind: 'regression' });
  g.addTask('r1', { kind: 'regression', weight: 0.5 });
  g.addTask('b0', { kind: 'binary' });
  g.addTask('b1', { kind: 'binary', weight: 2 });
  g.addTask('c0', { kind: 'multiclass', classes: 3 });
  return g;
}
/** Labels with gaps (null: masked out) in most tasks; `rows` rows of `inputs` features. */
function data(rows: number, inputs = 5) {
  const x = features(rows, inputs, 11);
  return {
    x,
    y: {
      r0: x.map((v, i) => (i % 5 === 0 ? null : v[0]! + v[1]!)),
      r1: x.map((v) => Math.tanh(v[3]!)),
      b0: x.map((v, i) => (i % 6 === 2 ? null : v[0]! > 0 ? 1 : 0)),
      b1: x.map((v) => (v[4]! > 0.2 ? 1 : 0)),
      c0: x.map((v, i) => (i % 4 === 3 ? null : v[2]! > 0.5 ? 2 : v[2]! > -0.5 ? 1 : 0)),
    },
  };
}
const DATA = data(70);
const OPTIONS: FitOptions = {
  epochs: 2,
  batchSize: 16, // 70 rows: four full batches and one of 6
  seed: 5,
  metrics: false,
  optimizer: { name: 'adam', learningRate: 0.02 },
};
const HARD: PlanOptions = { strategy: 'hard', trunk: { units: [8, 6] } };

/** Largest |a - b| over every weight of two models. */
function maxDiff(a: MtgraphModel, b: MtgraphModel): number {
  const p = weightsOf(a);
  const q = weightsOf(b);
  expect(p.length).toBe(q.length);
  let d = 0;
  p.forEach((w, i) => w.forEach((v, j) => (d = Math.max(d, Math.abs(v - q[i]![j]!)))));
  return d;
}

/** Whether fit would take the fast step for this model and these options (undefined: it would). */
function refusal(model: MtgraphModel, options: FitOptions): string | undefined {
  const opts = resolveFitOptions(options, 0);
  const hasPenalty =
    model.penalties.length > 0 || tf.tidy(() => model.model.calculateLosses().length > 0);
  return fastStepRefusal(model, new Objective(model.plan, model.outputIndex), opts, hasPenalty);
}

/** Trains the same fresh model with the fast step and without; returns both and their histories. */
async function both(
  planOptions: PlanOptions,
  options: FitOptions = OPTIONS,
  d: typeof DATA = DATA,
  g: () => TaskGraph = graph,
) {
  configureFastStep('on');
  const fast = compile(g(), { ...planOptions, seed: 3 });
  const before = tf.memory().numTensors;
  const fastHistory = await fit(fast, d, options);
  expect(tf.memory().numTensors).toBe(before);
  configureFastStep('off');
  const reference = compile(g(), { ...planOptions, seed: 3 });
  const referenceHistory = await fit(reference, d, options);
  configureFastStep(undefined);
  const start = compile(g(), { ...planOptions, seed: 3 });
  const moved = maxDiff(fast, start);
  start.dispose();
  return { fast, reference, fastHistory, referenceHistory, moved };
}

describe('the fast step (#18)', () => {
  it('trains a dense stack to the weights of the tfjs step (masked labels, three head kinds, task weights, a short last batch)', async () => {
    configureFastStep('on');
    const probe = compile(graph(), { ...HARD, seed: 3 });
    expect(refusal(probe, OPTIONS)).toBeUndefined();
    probe.dispose();
    const r = await both(HARD);
    expect(r.moved).toBeGreaterThan(0.01);
    expect(maxDiff(r.fast, r.reference)).toBeLessThan(2e-5);
    r.fastHistory.loss.forEach((l, e) => expect(l).toBeCloseTo(r.referenceHistory.loss[e]!, 5));
    for (const id of Object.keys(r.fastHistory.taskLoss))
      r.fastHistory.taskLoss[id]!.forEach((l, e) =>
        expect(l).toBeCloseTo(r.referenceHistory.taskLoss[id]![e]!, 5),
      );
    expect(r.fastHistory.weights).toEqual(r.referenceHistory.weights);
    r.fast.dispose();
    r.reference.dispose();
  });

  it('covers tanh, sigmoid and linear layers, AdamW with a learning-rate schedule, sample weights and validation data', async () => {
    const options: FitOptions = {
      ...OPTIONS,
      epochs: 3,
      optimizer: {
        name: 'adamw',
        learningRate: 0.02,
        weightDecay: 0.05,
        schedule: { kind: 'warmup-cosine', warmup: 0.3 },
      },
      sampleWeight: {
        r0: DATA.x.map((_, i) => (i % 3 === 0 ? 2 : i % 7 === 0 ? 0 : 1)),
        b1: DATA.x.map((_, i) => (i % 2 === 0 ? 0.5 : 1.5)),
      },
      validationData: data(20),
    };
    const plan: PlanOptions = { strategy: 'hard', trunk: { units: [8, 6, 4], activation: 'tanh' } };
    const r = await both(plan, options);
    expect(r.moved).toBeGreaterThan(0.01);
    expect(maxDiff(r.fast, r.reference)).toBeLessThan(2e-5);
    r.fastHistory.valLoss!.forEach((l, e) =>
      expect(l).toBeCloseTo(r.referenceHistory.valLoss![e]!, 4),
    );
    r.fast.dispose();
    r.reference.dispose();
  });

  it('covers multilabel heads and regression heads of several outputs (a label column per output, some masked)', async () => {
    const g = () => {
      const graph = new TaskGraph({ input: { features: 5 } });
      graph.addTask('pair', { kind: 'regression', outputs: 2 });
      graph.addTask('tags', { kind: 'multilabel', labels: 3 });
      graph.addTask('c0', { kind: 'multiclass', classes: 3 });
      return graph;
    };
    const x = DATA.x;
    const d = {
      x,
      y: {
        pair: x.map((v, i) => (i % 9 === 4 ? null : [v[0]! - v[1]!, v[2]! * 2])),
        tags: x.map((v) => [v[4]! > 0 ? 1 : 0, v[3]! + v[1]! > 0 ? 1 : 0, v[0]! > 0.5 ? 1 : 0]),
        c0: DATA.y.c0,
      },
    };
    configureFastStep('on');
    const probe = compile(g(), { ...HARD, seed: 3 });
    expect(refusal(probe, OPTIONS)).toBeUndefined();
    probe.dispose();
    const r = await both(HARD, OPTIONS, d as unknown as typeof DATA, g);
    expect(r.moved).toBeGreaterThan(0.01);
    expect(maxDiff(r.fast, r.reference)).toBeLessThan(2e-5);
    for (const id of Object.keys(r.fastHistory.taskLoss))
      r.fastHistory.taskLoss[id]!.forEach((l, e) =>
        expect(l).toBeCloseTo(r.referenceHistory.taskLoss[id]![e]!, 5),
      );
    r.fast.dispose();
    r.reference.dispose();
  });

  it('covers a single task, whose head is one Dense layer with its activation', async () => {
    for (const kind of ['binary', 'regression'] as const) {
      const g = () => {
        const graph = new TaskGraph({ input: { features: 5 } });
        graph.addTask('only', { kind });
        return graph;
      };
      const d = { x: DATA.x, y: { only: kind === 'binary' ? DATA.y.b0 : DATA.y.r0 } };
      configureFastStep('on');
      const probe = compile(g(), { ...HARD, seed: 3 });
      expect(refusal(probe, OPTIONS), kind).toBeUndefined();
      probe.dispose();
      const r = await both(HARD, OPTIONS, d as unknown as typeof DATA, g);
      expect(r.moved, kind).toBeGreaterThan(0.01);
      expect(maxDiff(r.fast, r.reference), kind).toBeLessThan(2e-5);
      r.fast.dispose();
      r.reference.dispose();
    }
  });

  it('resumes from a checkpoint to the weights of a straight run (weights and Adam state written back every epoch)', async () => {
    configureFastStep('on');
    const options = { ...OPTIONS, epochs: 3 };
    const straight = compile(graph(), { ...HARD, seed: 3 });
    await fit(straight, DATA, options);
    const dir = path.join(root, 'run');
    const stop = new Error('stop');
    const first = compile(graph(), { ...HARD, seed: 3 });
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
    const resumed = compile(graph(), { ...HARD, seed: 3 });
    await fit(resumed, DATA, { ...options, checkpoint: { dir }, resumeFrom: dir });
    expect(maxDiff(resumed, straight)).toBeLessThan(1e-6);
    // And the tfjs step resumes the fast step's checkpoint to the same weights.
    configureFastStep('off');
    const other = compile(graph(), { ...HARD, seed: 3 });
    await fit(other, DATA, { ...options, checkpoint: { dir }, resumeFrom: dir });
    expect(maxDiff(other, straight)).toBeLessThan(2e-5);
    for (const m of [straight, first, resumed, other]) m.dispose();
  });

  it('stops on a non-finite loss as the tfjs step does, naming the same task and step', async () => {
    const options: FitOptions = { ...OPTIONS, optimizer: { name: 'adam', learningRate: 1e9 } };
    const messages: string[] = [];
    for (const mode of ['on', 'off'] as const) {
      configureFastStep(mode);
      const m = compile(graph(), { ...HARD, seed: 3 });
      const before = tf.memory().numTensors;
      const error = await thrown(() => fit(m, DATA, { ...options, epochs: 6 }));
      expect(error).toBeInstanceOf(TrainingError);
      expect(tf.memory().numTensors).toBe(before);
      messages.push((error as Error).message);
      m.dispose();
    }
    expect(messages[0]).toBe(messages[1]);
  });

  it('falls back to the tfjs step for what it does not cover, with the same weights as with it off', async () => {
    const cases: Array<[string, PlanOptions, FitOptions]> = [
      ['dropout', { strategy: 'hard', trunk: { units: [8], dropout: 0.2 } }, OPTIONS],
      ['batch norm', { strategy: 'hard', trunk: { units: [8], batchNorm: true } }, OPTIONS],
      ['balance uncertainty', HARD, { ...OPTIONS, balance: 'uncertainty' }],
      ['balance pcgrad', HARD, { ...OPTIONS, balance: 'pcgrad' }],
      [
        'soft penalty',
        { strategy: 'soft', trunk: { units: [6] }, soft: { strength: 0.1 } },
        OPTIONS,
      ],
      ['towers', { strategy: 'hard', trunk: { units: [8] }, tower: { units: [4] } }, OPTIONS],
      ['mmoe', { strategy: 'mmoe', trunk: { units: [6] }, mmoe: { experts: 2 } }, OPTIONS],
      [
        'clipNorm',
        HARD,
        { ...OPTIONS, optimizer: { name: 'adam', learningRate: 0.02, clipNorm: 1 } },
      ],
      ['l2', { strategy: 'hard', trunk: { units: [8], l2: 0.01 } }, OPTIONS],
      ['sgd', HARD, { ...OPTIONS, optimizer: { name: 'sgd', learningRate: 0.02 } }],
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

  it('MTGRAPH_FAST_STEP=off / configureFastStep("off") turns it off', () => {
    configureFastStep('off');
    const m = compile(graph(), { ...HARD, seed: 3 });
    expect(refusal(m, OPTIONS)).toBe('turned off');
    m.dispose();
  });
});

/**
 * An epoch on one engine and on two threads (this one and a worker, half of each batch each, the
 * gradients exchanged, Adam on both) gives the same parameters after every step: two full batches
 * of 2 * `half` rows and a short one of 3, on the current backend.
 */
async function halvesAddUp(features: number, units: number, half: number): Promise<void> {
  const batch = 2 * half;
  const spec: EngineSpec = {
    features,
    labels: 3,
    batch,
    weighted: false,
    sizes: [features * units, units, units * 3, 3],
    layers: [{ inputs: features, units, activation: 'relu', W: 0, b: 1 }],
    head: { inputs: units, units: 3, W: 2, b: 3 },
    tasks: [
      { kind: 'mse', z: 0, units: 1, label: 0, weight: 1 },
      { kind: 'bce', z: 1, units: 1, label: 1, weight: 0.5 },
      { kind: 'mse', z: 2, units: 1, label: 2, weight: 2 },
    ],
  };
  const rows = 2 * batch + 3;
  const r = (i: number) => Math.sin(i * 1.7);
  const x = Float32Array.from({ length: rows * features }, (_, i) => r(i));
  const y = Float32Array.from({ length: rows * 3 }, (_, i) =>
    i % 3 === 1 ? +(r(i + 5) > 0) : r(i + 9),
  );
  const mask = Float32Array.from({ length: rows * 3 }, (_, i) => (i % 7 === 3 ? 0 : 1));
  const perm = Int32Array.from({ length: rows }, (_, i) => (i * 7) % rows);
  const total = spec.sizes.reduce((a, b) => a + b, 0);
  const params = Float32Array.from({ length: total }, (_, i) => r(i + 20) * 0.5);
  const adam = { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
  const whole = new DenseEngine(spec);
  const mine = new DenseEngine({ ...spec, batch: half });
  const peer = await startFastPeer({ ...spec, batch: half }, tf.getBackend(), x, y, mask);
  try {
    whole.params().set(params);
    mine.params().set(params);
    const zeros = new Float32Array(total);
    peer.startEpoch(perm, batch, 0, params, zeros, zeros, adam, 0);
    for (let start = 0, step = 1; start < rows; start += batch, step++) {
      const size = Math.min(batch, rows - start);
      const rate = adam.learningRate / step; // a different rate each step, as a schedule sets it
      const dens = new Float64Array(3);
      labelCounts(spec, mask, perm, start, size, dens);
      whole.gather(x, y, mask, perm, start, size);
      const wholeNums = new Float64Array(3);
      whole.forwardBackward(dens, wholeNums);
      const expected = whole.grads().slice();
      whole.adam(step, { ...adam, learningRate: rate }, 0);
      mine.gather(x, y, mask, perm, start, halves(size).main);
      const nums = new Float64Array(3);
      mine.forwardBackward(dens, nums);
      mine.addGradients(peer.exchange(mine.grads(), rate, nums));
      const grads = mine.grads();
      expect(grads.some((g) => Math.abs(g) > 1e-3)).toBe(true);
      grads.forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 5));
      nums.forEach((n, t) => expect(n).toBeCloseTo(wholeNums[t]!, 4));
      mine.adam(step, { ...adam, learningRate: rate }, 0);
      const p = mine.params();
      whole.params().forEach((w, i) => expect(p[i]).toBeCloseTo(w, 5));
    }
  } finally {
    peer.close();
    mine.dispose();
    whole.dispose();
  }
}

describe('the fast step with a second thread (#18)', () => {
  it('a worker computing half of each batch (its own Adam on the summed gradients) gives the parameters of one engine step by step', async () => {
    await halvesAddUp(3, 4, 5);
  });

  it('the worker stops when closed in the middle of an epoch (waiting for this thread) and between epochs', async () => {
    const spec: EngineSpec = {
      features: 3,
      labels: 1,
      batch: 4,
      weighted: false,
      sizes: [3 * 2, 2, 2, 1],
      layers: [{ inputs: 3, units: 2, activation: 'relu', W: 0, b: 1 }],
      head: { inputs: 2, units: 1, W: 2, b: 3 },
      tasks: [{ kind: 'mse', z: 0, units: 1, label: 0, weight: 1 }],
    };
    const x = Float32Array.from({ length: 24 * 3 }, (_, i) => Math.sin(i));
    const y = new Float32Array(24).fill(0.5);
    const mask = new Float32Array(24).fill(1);
    const perm = Int32Array.from({ length: 24 }, (_, i) => i);
    const zeros = new Float32Array(11);
    const adam = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    for (const stepsBeforeClose of [1, 3]) {
      const peer = await startFastPeer(spec, tf.getBackend(), x, y, mask);
      // Three steps of 8 rows an epoch: after 1 the worker waits for this thread's second; after 3 for the next epoch.
      peer.startEpoch(perm, 8, 0, zeros, zeros, zeros, adam, 0);
      const nums = new Float64Array(1);
      for (let s = 0; s < stepsBeforeClose; s++) {
        const theirs = peer.exchange(new Float32Array(11), 1e-3, nums);
        expect(theirs.length).toBe(11);
      }
      expect(nums[0]).toBeGreaterThan(0); // the worker's loss sums came over
      await peer.close();
    }
  });

  it('fit with two threads trains to the weights of the tfjs step', async () => {
    const options: FitOptions = { ...OPTIONS, batchSize: 64, epochs: 2 };
    const d = data(150);
    configureFastStep('on', 2);
    const fast = compile(graph(), { ...HARD, seed: 3 });
    const before = tf.memory().numTensors;
    await fit(fast, d, options);
    expect(tf.memory().numTensors).toBe(before);
    configureFastStep('off');
    const reference = compile(graph(), { ...HARD, seed: 3 });
    await fit(reference, d, options);
    expect(maxDiff(fast, reference)).toBeLessThan(2e-5);
    fast.dispose();
    reference.dispose();
  });
});

describe('the fast step on wasm, with the backend’s own products (#18)', () => {
  let wasm = false;
  beforeAll(async () => {
    wasm = (await initBackend({ backend: 'wasm' })).backend === 'wasm';
  });
  afterAll(() => cpu());

  it('the committed wasm binary is the compiled dense_step.wat (run `npm run build:wasm` after editing it)', async () => {
    const binary = await compileWat(path.join(wasmDir, 'dense_step.wat'));
    expect(Buffer.from(binary).toString('base64')).toBe(DENSE_STEP_WASM);
  });

  it('trains layers wide enough for XNNPACK to the weights of the tfjs step', async (ctx) => {
    if (!wasm) ctx.skip();
    const wide = () => graph(16);
    const d = data(150, 16);
    const plan: PlanOptions = { strategy: 'hard', trunk: { units: [64, 32] } };
    const options: FitOptions = { ...OPTIONS, batchSize: 64, epochs: 2 };
    const r = await both(plan, options, d, wide);
    expect(r.moved).toBeGreaterThan(0.01);
    expect(maxDiff(r.fast, r.reference)).toBeLessThan(1e-4);
    r.fastHistory.loss.forEach((l, e) => expect(l).toBeCloseTo(r.referenceHistory.loss[e]!, 4));
    r.fast.dispose();
    r.reference.dispose();
  });
  it('a worker computing half of each batch gives the parameters of one engine with XNNPACK products and the SIMD sum', async (ctx) => {
    if (!wasm) ctx.skip();
    await halvesAddUp(64, 64, 32);
  });

  it('with two threads (the SIMD gradient sum, the spinning hand-over) trains to the weights of the tfjs step', async (ctx) => {
    if (!wasm) ctx.skip();
    const wide = () => graph(16);
    const d = data(150, 16);
    const plan: PlanOptions = { strategy: 'hard', trunk: { units: [64, 32] } };
    const options: FitOptions = { ...OPTIONS, batchSize: 64, epochs: 2 };
    configureFastStep('on', 2);
    const fast = compile(wide(), { ...plan, seed: 3 });
    const before = tf.memory().numTensors;
    await fit(fast, d, options);
    expect(tf.memory().numTensors).toBe(before);
    configureFastStep('off');
    const reference = compile(wide(), { ...plan, seed: 3 });
    await fit(reference, d, options);
    configureFastStep(undefined);
    const start = compile(wide(), { ...plan, seed: 3 });
    expect(maxDiff(fast, start)).toBeGreaterThan(0.01);
    start.dispose();
    expect(maxDiff(fast, reference)).toBeLessThan(1e-4);
    fast.dispose();
    reference.dispose();
  });
});
