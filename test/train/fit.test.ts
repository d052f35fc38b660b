import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit, Objective } from '../../src/train/index.js';
import { prepareData, toTensors } from '../../src/data/index.js';
import { DataError, OptionsError, TrainingError } from '../../src/errors.js';
import type { MtgraphModel } from '../../src/network/types.js';
import type { TaskData } from '../../src/data/types.js';
import {
  cpu,
  features,
  fixtureModel,
  gaussian,
  rng,
  weightsOf,
  type FixtureOptions,
  FOUR_TASKS,
  fourTaskData,
} from './fixture.js';

beforeAll(cpu);

const FOUR: FixtureOptions = {
  features: 6,
  trunk: [16],
  tasks: FOUR_TASKS,
  edges: [
    ['price', 'click', 0.6],
    ['click', 'segment', 0.5],
    ['segment', 'tags', 0.4],
  ],
};

/** Learnable labels for FOUR on `rows` rows, with some labels missing. */
function fourData(rows: number, seed = 1, missing = true): TaskData {
  return fourTaskData(rows, { seed, features: 6, tagFeature: 5, missing, mask: missing });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function allFinite(model: MtgraphModel): boolean {
  return weightsOf(model).every((w) => w.every((v) => Number.isFinite(v)));
}

describe('fit masks', () => {
  it('fit masked-label gradient equals the gradient of the labelled rows only', () => {
    const model = fixtureModel({ ...FOUR, features: 3, trunk: [5] });
    const rows = 12;
    const x = features(rows, 3, 4);
    const y = {
      price: x.map((v, i) => [i % 3 === 0 ? NaN : v[0]!, i % 4 === 1 ? null : v[1]!]),
      click: x.map((v, i) => (i % 5 === 2 ? -1 : v[2]! > 0 ? 1 : 0)),
      segment: x.map((_, i) => (i === 7 ? NaN : i % 3)),
      tags: x.map((v, i) => (i === 2 ? [-1, 1] : [v[0]! > 0 ? 1 : 0, i % 2])),
    };
    const mask = { segment: x.map((_, i) => (i === 4 ? 0 : 1)) };
    const prepared = prepareData(model.plan, { x, y, mask }, { scope: 'test' });
    const objective = new Objective(model.plan, model.outputIndex);
    const data = toTensors(prepared, objective.order);
    const vars = model.trainableVariables;
    try {
      const masked = tf.variableGrads(() => {
        const outputs = model.model.apply(data.x, { training: true }) as tf.Tensor[];
        const { num, den } = objective.sums(outputs, data.y, data.mask);
        return tf.sum(tf.div(num, tf.maximum(den, 1))) as tf.Scalar;
      }, vars);
      // The same objective written by hand: each task's loss from the model run on its labelled rows only.
      const byHand = tf.variableGrads(() => {
        const terms: tf.Scalar[] = [];
        prepared.tasks.forEach((t, k) => {
          const kind = model.plan.tasks[k]!.kind;
          const count = t.mask.reduce((a, b) => a + b, 0);
          for (let j = 0; j < t.width; j++) {
            const rowsOf = x.map((_, i) => i).filter((i) => t.mask[i * t.width + j] === 1);
            const out = (
              model.model.apply(tf.tensor2d(rowsOf.map((i) => x[i]!)), {
                training: true,
              }) as tf.Tensor[]
            )[k]!;
            const labels = tf.tensor2d(rowsOf.map((i) => [t.labels[i * t.width + j]!]));
            let sum: tf.Tensor;
            if (kind === 'multiclass') {
              const oneHot = tf.tensor2d(
                rowsOf.map((i) => [0, 1, 2].map((c) => (c === t.labels[i] ? 1 : 0))),
              );
              sum = tf.neg(tf.sum(tf.log(tf.clipByValue(tf.sum(tf.mul(out, oneHot), 1), 1e-7, 1))));
            } else {
              const p = tf.slice(out, [0, j], [-1, 1]);
              if (kind === 'regression') sum = tf.sum(tf.square(tf.sub(p, labels)));
              else {
                const c = tf.clipByValue(p, 1e-7, 1 - 1e-7);
                sum = tf.neg(
                  tf.sum(
                    tf.add(
                      tf.mul(labels, tf.log(c)),
                      tf.mul(tf.sub(1, labels), tf.log(tf.sub(1, c))),
                    ),
                  ),
                );
              }
            }
            terms.push(tf.div(sum, count) as tf.Scalar);
          }
        });
        return tf.addN(terms) as tf.Scalar;
      }, vars);
      const labelled = (task: string) =>
        prepared.tasks.find((p) => p.id === task)!.mask.reduce((a, b) => a + b, 0);
      expect(labelled('price')).toBeLessThan(rows * 2);
      expect(labelled('segment')).toBe(rows - 2);
      for (const v of vars) {
        const a = masked.grads[v.name]!.dataSync();
        const b = byHand.grads[v.name]!.dataSync();
        // not vacuous: every variable gets a gradient, and the two agree on it
        expect(Math.max(...Array.from(b, Math.abs)), v.name).toBeGreaterThan(1e-4);
        expect(maxAbsDiff(a, b), v.name).toBeLessThan(1e-5);
      }
      tf.dispose([
        masked.value,
        byHand.value,
        ...Object.values(masked.grads),
        ...Object.values(byHand.grads),
      ]);
    } finally {
      tf.dispose([data.x, data.y, data.mask]);
      objective.dispose();
      model.dispose();
    }
  });

  it('fit on rows with missing labels takes the same step as fit on the labelled rows alone', async () => {
    const options: FixtureOptions = {
      features: 4,
      trunk: [6],
      tasks: { a: { kind: 'regression' }, b: { kind: 'binary' } },
    };
    const x = features(20, 4, 9);
    const drop = new Set([3, 7, 11, 18]);
    const ya = x.map((v, i) => (drop.has(i) ? NaN : v[0]! - v[1]!));
    const yb = x.map((v, i) => (drop.has(i) ? -1 : v[2]! > 0 ? 1 : 0));
    const keep = (_: unknown, i: number) => !drop.has(i);
    const masked = fixtureModel(options);
    const subset = fixtureModel(options);
    const fitOptions = { epochs: 1, batchSize: 64, optimizer: { name: 'sgd', learningRate: 0.5 } };
    await fit(masked, { x, y: { a: ya, b: yb } }, fitOptions);
    await fit(
      subset,
      { x: x.filter(keep), y: { a: ya.filter(keep), b: yb.filter(keep) } },
      fitOptions,
    );
    const a = weightsOf(masked);
    const b = weightsOf(subset);
    a.forEach((w, i) => expect(maxAbsDiff(w, b[i]!)).toBeLessThan(1e-5));
    masked.dispose();
    subset.dispose();
  });
});

describe('fit', () => {
  it('fit lowers the training loss of every task on generated data', async () => {
    const model = fixtureModel(FOUR);
    const history = await fit(model, fourData(256), {
      epochs: 25,
      optimizer: { name: 'adam', learningRate: 0.01 },
      seed: 3,
    });
    expect(history.epochs).toBe(25);
    expect(history.loss.at(-1)!).toBeLessThan(history.loss[0]! * 0.6);
    for (const id of ['price', 'click', 'segment', 'tags']) {
      expect(history.taskLoss[id]!.at(-1)!).toBeLessThan(history.taskLoss[id]![0]!);
      expect(history.weights[id]).toEqual(new Array(25).fill(1));
    }
    expect(history.timing.epochMs).toHaveLength(25);
    expect(history.timing.samplesPerSecond).toBeGreaterThan(0);
    expect(model.metadata.epochsTrained).toBe(25);
    model.dispose();
  });

  it.each(['sgd', 'rmsprop'])('fit trains with %s', async (name) => {
    const model = fixtureModel({
      features: 6,
      trunk: [8],
      tasks: { a: { kind: 'regression', loss: 'huber' }, b: { kind: 'regression', loss: 'mae' } },
    });
    const x = features(128, 6, 2);
    const history = await fit(
      model,
      { x, y: { a: x.map((v) => v[0]! * 2), b: x.map((v) => v[1]! - v[2]!) } },
      { epochs: 15, optimizer: { name, learningRate: name === 'sgd' ? 0.1 : 0.01 } },
    );
    expect(history.loss.at(-1)!).toBeLessThan(history.loss[0]!);
    model.dispose();
  });

  it('fit weighs tasks by their plan weight and reports per-task and validation losses', async () => {
    const model = fixtureModel({
      ...FOUR,
      tasks: { ...FOUR.tasks, click: { kind: 'binary', weight: 3 } },
    });
    const logs: unknown[] = [];
    const history = await fit(model, fourData(120), {
      epochs: 3,
      validationData: fourData(40, 2),
      onEpochEnd: (_epoch, l) => {
        logs.push(l);
      },
    });
    expect(history.weights.click).toEqual([3, 3, 3]);
    expect(history.valLoss).toHaveLength(3);
    expect(Object.keys(history.valTaskLoss!)).toEqual(['price', 'click', 'segment', 'tags']);
    expect(Object.keys(history.taskLoss)).toEqual(['price', 'click', 'segment', 'tags']);
    const first = logs[0] as Record<string, unknown>;
    expect(first).toMatchObject({ epoch: 0, loss: history.loss[0], valLoss: history.valLoss![0] });
    expect(Object.keys(first.taskLoss as object)).toEqual(['price', 'click', 'segment', 'tags']);
    // the total is the weighted sum of the task losses (static weights, no penalty)
    const t = history.taskLoss;
    const v = history.valTaskLoss!;
    const weighted = v.price![2]! + 3 * v.click![2]! + v.segment![2]! + v.tags![2]!;
    expect(history.valLoss![2]).toBeCloseTo(weighted, 4);
    expect(Number.isFinite(t.price![0]!)).toBe(true);
    model.dispose();
  });

  it('fit holds out the last rows, or seeded random rows, with validationSplit', async () => {
    const model = fixtureModel(FOUR);
    const a = await fit(model, fourData(50), { epochs: 1, validationSplit: 0.2 });
    expect([a.trainRows, a.valRows]).toEqual([40, 10]);
    const b = await fit(model, fourData(50), {
      epochs: 1,
      validationSplit: { fraction: 0.3, shuffle: true },
      seed: 4,
    });
    expect([b.trainRows, b.valRows]).toEqual([35, 15]);
    model.dispose();
  });

  it('fit with the same seed and initial weights gives identical losses; another seed differs', async () => {
    const run = async (seed: number) => {
      const model = fixtureModel(FOUR);
      const h = await fit(model, fourData(100), {
        epochs: 4,
        batchSize: 16,
        seed,
        validationSplit: { fraction: 0.2, shuffle: true },
      });
      model.dispose();
      return [...h.loss, ...h.valLoss!];
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it('fit early stopping restores the best weights', async () => {
    // Pure-noise labels: the training loss falls while the validation loss soon rises.
    const model = fixtureModel({
      features: 8,
      trunk: [64, 64],
      tasks: { a: { kind: 'regression' } },
    });
    const noise = (rows: number, seed: number) => {
      const r = rng(seed);
      return {
        x: features(rows, 8, seed),
        y: { a: Array.from({ length: rows }, () => gaussian(r)) },
      };
    };
    const seen: Float32Array[][] = [];
    const history = await fit(model, noise(24, 1), {
      epochs: 60,
      batchSize: 8,
      optimizer: { name: 'adam', learningRate: 0.02 },
      validationData: noise(24, 2),
      earlyStopping: { patience: 3 },
      onEpochEnd: () => {
        seen.push(weightsOf(model));
      },
    });
    const val = history.valLoss!;
    const best = val.indexOf(Math.min(...val));
    expect(history.stoppedEarly).toBe(true);
    expect(history.bestEpoch).toBe(best + 1); // counted from 1
    expect(history.epochs).toBe(best + 4);
    expect(best).toBeLessThan(history.epochs - 1);
    const now = weightsOf(model);
    seen[best]!.forEach((w, i) => expect(Array.from(now[i]!)).toEqual(Array.from(w)));
    model.dispose();
  });
});

describe('fit non-finite losses', () => {
  it('fit stops on a NaN weight, names the task and epoch, and keeps the last good weights', async () => {
    const model = fixtureModel(FOUR);
    // click's head: its own Dense, or its columns of the MultiHead it is fused into
    const fusedIn = [...model.layerNames.fusedHeads].find(([, tasks]) => tasks.includes('click'));
    const head = model.model.getLayer(fusedIn ? fusedIn[0] : model.layerNames.heads.get('click')!);
    const columns = fusedIn ? fusedIn[1].map((id) => model.plan.heads[id]!.units) : [];
    const first = fusedIn
      ? columns.slice(0, fusedIn[1].indexOf('click')).reduce((a, b) => a + b, 0)
      : 0;
    const width = fusedIn ? model.plan.heads.click!.units : Infinity;
    let good: Float32Array[] = [];
    const run = fit(model, fourData(64), {
      epochs: 10,
      onEpochEnd: (epoch) => {
        if (epoch !== 1) return;
        good = weightsOf(model);
        const [kernel, bias] = head.getWeights();
        const poisoned = tf.tidy(() => {
          const k = kernel!.shape[1]!;
          const nan = tf
            .range(0, k)
            .less(first + width)
            .logicalAnd(tf.range(0, k).greaterEqual(first));
          return tf.where(tf.broadcastTo(nan, kernel!.shape), tf.fill(kernel!.shape, NaN), kernel!);
        });
        head.setWeights([poisoned, bias!]);
        poisoned.dispose();
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as TrainingError).path).toBe('tasks.click');
    expect((error as Error).message).toMatch(
      /^mtgraph\/fit: the loss of task "click" became non-finite \(got NaN\) in epoch 3 of 10 → at tasks\.click\. Training stopped and the model keeps the weights from the end of epoch 2\./,
    );
    const now = weightsOf(model);
    good.forEach((w, i) => expect(Array.from(now[i]!)).toEqual(Array.from(w)));
    model.dispose();
  });

  it('fit stops on a loss that overflows under a huge learning rate, with finite weights', async () => {
    const model = fixtureModel({ features: 6, trunk: [8], tasks: { a: { kind: 'regression' } } });
    const x = features(64, 6, 3);
    const before = tf.memory().numTensors;
    const error = await fit(
      model,
      { x, y: { a: x.map((v) => 1e3 * v[0]!) } },
      { epochs: 5, optimizer: { name: 'sgd', learningRate: 1e6 } },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as Error).message).toMatch(
      /became non-finite \(got (NaN|-?Infinity)\) in epoch \d of 5 → at tasks\.a\. Training stopped and the model keeps/,
    );
    expect(allFinite(model)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('fit tensors', () => {
  it('fit keeps tensor counts flat from epoch 1 to epoch 20 and frees everything it made', async () => {
    const model = fixtureModel({ ...FOUR, trunk: [8] });
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    await fit(model, fourData(60), {
      epochs: 20,
      batchSize: 16,
      validationSplit: 0.25,
      earlyStopping: { patience: 100 },
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(counts).toHaveLength(20);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('fit with batch norm and dropout keeps tensor counts flat', async () => {
    const model = fixtureModel({
      ...FOUR,
      trunk: [8],
      extra: { trunk: { units: [8], batchNorm: true, dropout: 0.2 } },
    });
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    const h = await fit(model, fourData(60), {
      epochs: 6,
      batchSize: 16,
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(h.loss.every(Number.isFinite)).toBe(true);
    model.dispose();
  });
});

describe('fit bad input', () => {
  it('fit rejects bad data before creating any tensor', async () => {
    const model = fixtureModel(FOUR);
    const data = fourData(20) as { x: number[][]; y: Record<string, number[]> };
    data.x[3]![5] = NaN;
    const before = tf.memory().numTensors;
    const error = await fit(model, data).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).path).toBe('x[3][5]');
    expect(tf.memory().numTensors).toBe(before);
    const val = fourData(10) as { x: number[][]; y: Record<string, number[]> };
    val.y.segment![4] = 5;
    await expect(fit(model, fourData(20), { validationData: val })).rejects.toMatchObject({
      name: 'DataError',
      path: 'options.validationData.y.segment[4]',
    });
    model.dispose();
  });

  it.each([
    [{ epochs: 0 }, 'options.epochs', /epochs must be at least 1/],
    [{ epoch: 3 }, 'options.epoch', /unknown key "epoch"/],
    [
      { optimizer: 'adagrad' },
      'options.optimizer',
      /unknown optimizer \(got "adagrad"; expected one of adam, adamw, sgd, rmsprop\)/,
    ],
    [
      { optimizer: { name: 'adam', learningRate: -1 } },
      'options.optimizer.learningRate',
      /learningRate must be positive/,
    ],
    [{ balance: 'magic' }, 'options.balance', /unknown balancing method/],
    [{ validationSplit: 1.5 }, 'options.validationSplit', /validationSplit/],
    [
      { earlyStopping: { patience: 2, monitor: 'val_loss' } },
      'options.earlyStopping.monitor',
      /no validation data/,
    ],
    [{ onEpochEnd: 3 }, 'options.onEpochEnd', /onEpochEnd must be a function/],
    [{ metrics: 'yes' }, 'options.metrics', /metrics must be true or false/],
    [{ metricsEvery: 0 }, 'options.metricsEvery', /metricsEvery must be at least 1/],
  ])('fit rejects options %j', async (options, path, message) => {
    const model = fixtureModel(FOUR);
    const error = await fit(model, fourData(20), options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as OptionsError).path).toBe(path);
    expect((error as Error).message).toMatch(message);
    model.dispose();
  });

  it('fit rejects something that is not a built model', async () => {
    await expect(fit({} as never, fourData(5))).rejects.toMatchObject({
      name: 'OptionsError',
      path: 'model',
    });
  });

  it('fit holds the validation split out per task: a task labelled on the last rows keeps most for training', async () => {
    const model = fixtureModel(FOUR);
    const data = fourData(20) as { x: number[][]; y: Record<string, number[]> };
    data.y.click = data.y.click!.map((v, i) => (i < 16 ? -1 : v));
    const history = await fit(model, data, { epochs: 1, validationSplit: 0.25 });
    // click: 4 labelled rows -> 1 held out, 3 for training (the last 25 % of the rows held them all).
    expect(Number.isFinite(history.taskLoss.click![0]!)).toBe(true);
    expect(Number.isFinite(history.valTaskLoss!.click![0]!)).toBe(true);
    expect(history.valRows).toBe(5);
    model.dispose();
  });
});

describe('fit names the first non-finite step of a long epoch', () => {
  it('reports step 100 of 150 when the objective first turns NaN there (the records are folded every 64 steps)', async () => {
    const { registerBalance } = await import('../../src/train/balance/index.js');
    const { noOptions } = await import('../../src/train/balance/options.js');
    let calls = 0;
    registerBalance({
      name: 'test-nan-at-step-100',
      summary: 'static weights, NaN objective from the 100th step on (test only)',
      needs: 'losses',
      options: noOptions('test-nan-at-step-100'),
      defaults: {},
      create: () => ({
        combine: (taskLoss: tf.Tensor1D) => {
          calls++;
          const weights = tf.onesLike(taskLoss);
          const total = tf.sum(taskLoss) as tf.Scalar;
          return { total: calls >= 100 ? (tf.mul(total, NaN) as tf.Scalar) : total, weights };
        },
        dispose: () => {},
      }),
    });
    const model = fixtureModel({ features: 3, trunk: [4], tasks: { a: { kind: 'regression' } } });
    const x = features(300, 3, 9);
    const error = await fit(
      model,
      { x, y: { a: x.map((v) => v[0]!) } },
      { epochs: 2, batchSize: 2, balance: 'test-nan-at-step-100', metrics: false },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as Error).message).toMatch(/a gradient \(the losses were finite\)/);
    expect((error as Error).message).toMatch(
      /It first happened at step 100 of 150 of epoch 1 \(the batch of shuffled rows 198\.\.199; step 100 of the run\)/,
    );
    model.dispose();
  });
});
