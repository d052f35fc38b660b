import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  balanceNames,
  dwaWeights,
  fit,
  getBalance,
  pcgradWeights,
  Objective,
  taskParameters,
} from '../../src/train/index.js';
import { prepareData, toTensors } from '../../src/data/index.js';
import { OptionsError } from '../../src/errors.js';
import type { TaskData } from '../../src/data/types.js';
import {
  cpu,
  features,
  fixtureModel,
  weightsOf,
  type FixtureOptions,
  FOUR_TASKS,
  fourTaskData,
} from './fixture.js';

beforeAll(cpu);

/** Four tasks of the four kinds on a hard trunk. */
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

/** Learnable labels for FOUR, some missing. */
function fourData(rows: number, seed = 1): TaskData {
  return fourTaskData(rows, { seed, features: 6, tagFeature: 5 });
}

const EPOCHS = 15;
const sumAt = (taskLoss: Record<string, number[]>, epoch: number) =>
  Object.values(taskLoss).reduce((s, l) => s + l[epoch]!, 0);

const CASES: Array<[string, Record<string, unknown>]> = [
  ...balanceNames().map((name) => [name, {}] as [string, Record<string, unknown>]),
  ['mgda', { upperBound: true }],
];

describe.each(CASES)('balance %s %j', (balance, balanceOptions) => {
  it(`fit with balance ${balance} lowers the task losses, records weights per epoch and keeps tensor counts flat`, async () => {
    const baseline = tf.memory().numTensors;
    const model = fixtureModel(FOUR);
    const built = tf.memory().numTensors;
    const counts: number[] = [];
    const history = await fit(model, fourData(96), {
      epochs: EPOCHS,
      batchSize: 32,
      seed: 2,
      balance,
      balanceOptions,
      metrics: false,
      optimizer: { name: 'adam', learningRate: 0.02 },
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(history.epochs).toBe(EPOCHS);
    expect(sumAt(history.taskLoss, EPOCHS - 1)).toBeLessThan(0.5 * sumAt(history.taskLoss, 0));
    for (const [id, losses] of Object.entries(history.taskLoss))
      expect(losses.at(-1)!, id).toBeLessThan(losses[0]!);
    expect(Object.keys(history.weights)).toEqual(['price', 'click', 'segment', 'tags']);
    for (const w of Object.values(history.weights)) {
      expect(w).toHaveLength(EPOCHS);
      expect(w.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
    }
    expect(history.loss.every(Number.isFinite)).toBe(true);
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(built);
    expect(model.metadata.fit).toMatchObject({
      balance,
      balanceOptions: { ...getBalance(balance)!.defaults, ...balanceOptions },
    });
    model.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

describe('fit balance on other topologies', () => {
  it.each([
    ['pcgrad', 'mmoe'],
    ['cagrad', 'cross-stitch'],
    ['mgda', 'soft'],
    ['gradnorm', 'clustered'],
    ['pcgrad', 'single'],
    ['gradnorm', 'ple'],
  ])(
    'fit with %s on a %s model trains with finite losses and flat tensor counts',
    async (balance, strategy) => {
      const model = fixtureModel({
        ...FOUR,
        strategy,
        trunk: [8],
        extra: strategy === 'soft' ? { soft: { strength: 0.05 } } : {},
      });
      const built = tf.memory().numTensors;
      const counts: number[] = [];
      const history = await fit(model, fourData(64), {
        epochs: 6,
        batchSize: 32,
        seed: 1,
        balance,
        metrics: false,
        optimizer: { name: 'adam', learningRate: 0.02 },
        onEpochEnd: () => {
          counts.push(tf.memory().numTensors);
        },
      });
      expect(sumAt(history.taskLoss, 5)).toBeLessThan(sumAt(history.taskLoss, 0));
      if (strategy === 'soft') expect(history.penalty[0]!).toBeGreaterThan(0);
      expect(new Set(counts).size).toBe(1);
      expect(tf.memory().numTensors).toBe(built);
      model.dispose();
    },
  );

  it('fit with a gradient method on a model with batch norm and dropout trains, and moves the moving statistics once per step', async () => {
    const options = {
      ...FOUR,
      trunk: [8],
      extra: { trunk: { units: [8], batchNorm: true, dropout: 0.1 } },
    };
    const data = fourData(40);
    const once = {
      epochs: 1,
      batchSize: 64,
      seed: 1,
      metrics: false,
      optimizer: { name: 'sgd', learningRate: 0.1 },
    };
    const statsOf = (m: ReturnType<typeof fixtureModel>) => {
      const trainable = new Set(m.trainableVariables.map((v) => v.name));
      return m.model.weights
        .filter((w) => !trainable.has((w.read() as tf.Variable).name))
        .map((w) => Array.from(w.read().dataSync()));
    };
    const a = fixtureModel(options);
    const b = fixtureModel(options);
    const before = statsOf(a);
    await fit(a, data, { ...once, balance: 'static' });
    await fit(b, data, { ...once, balance: 'pcgrad' });
    const [sa, sb] = [statsOf(a), statsOf(b)];
    expect(sa).toHaveLength(2);
    sa.forEach((s, i) => {
      expect(s).not.toEqual(before[i]);
      s.forEach((v, k) => expect(sb[i]![k]).toBeCloseTo(v, 6));
    });
    const counts: number[] = [];
    const history = await fit(b, data, {
      ...once,
      epochs: 5,
      batchSize: 16,
      balance: 'cagrad',
      onEpochEnd: () => {
        counts.push(tf.memory().numTensors);
      },
    });
    expect(history.loss.every(Number.isFinite)).toBe(true);
    expect(new Set(counts).size).toBe(1);
    a.dispose();
    b.dispose();
  });
});

describe('fit balance arithmetic in the training step', () => {
  it('fit with pcgrad moves the shared variables along the projected sum and each head along its own gradient', async () => {
    // seed 6: the initial heads make the two task gradients on the trunk conflict (cosine -0.48)
    const options: FixtureOptions = {
      features: 3,
      trunk: [4],
      seed: 6,
      tasks: { a: { kind: 'regression' }, b: { kind: 'regression' } },
    };
    const x = features(10, 3, 5);
    // b's target is the negation of a's: the task gradients on the trunk conflict.
    const data = {
      x,
      y: { a: x.map((v) => v[0]! + v[1]!), b: x.map((v) => -v[0]! - v[1]! + 0.3 * v[2]!) },
    };
    const model = fixtureModel(options);
    const before = weightsOf(model);
    const objective = new Objective(model.plan, model.outputIndex);
    const tensors = toTensors(prepareData(model.plan, data, { scope: 'test' }), objective.order);
    const params = taskParameters(model);
    const flat = (grads: tf.NamedTensorMap) =>
      params.shared.flatMap((v) => Array.from(grads[v.name]!.dataSync()));
    // Each task's gradient by hand.
    const perTask = objective.order.map((_, t) =>
      tf.variableGrads(() => {
        const outputs = model.model.apply(tensors.x, { training: true }) as tf.Tensor[];
        const { num, den } = objective.taskSums(
          t,
          outputs[objective.outputs[t]!]!,
          tensors.y,
          tensors.mask,
        );
        return tf.div(num, den) as tf.Scalar;
      }, model.trainableVariables),
    );
    const gs = perTask.map((p) => flat(p.grads));
    const gram = gs.map((g) => gs.map((h) => g.reduce((s, v, k) => s + v * h[k]!, 0)));
    expect(gram[0]![1]!).toBeLessThan(0);
    const w = pcgradWeights(gram, () => [0, 1]);
    expect(w[0]! > 1 && w[1]! > 1).toBe(true); // both projected
    const lr = 0.1;
    const history = await fit(model, data, {
      epochs: 1,
      batchSize: 64,
      balance: 'pcgrad',
      metrics: false,
      optimizer: { name: 'sgd', learningRate: lr },
    });
    expect(history.weights.a![0]).toBeCloseTo(w[objective.order.indexOf('a')]!, 4);
    expect(history.weights.b![0]).toBeCloseTo(w[objective.order.indexOf('b')]!, 4);
    const after = weightsOf(model);
    const index = new Map(model.model.weights.map((wt, i) => [(wt.read() as tf.Variable).name, i]));
    let offset = 0;
    for (const v of params.shared) {
      const i = index.get(v.name)!;
      after[i]!.forEach((value, k) => {
        const expected =
          before[i]![k]! - lr * (w[0]! * gs[0]![offset + k]! + w[1]! * gs[1]![offset + k]!);
        expect(value).toBeCloseTo(expected, 5);
      });
      offset += v.size;
    }
    // A task's own variables move along its own gradient; the two heads are fused into one layer
    // whose variables both tasks own, each task's gradient being zero outside its columns: they add.
    const owners = new Map<string, number[]>();
    objective.order.forEach((task, t) => {
      for (const v of params.own.get(task)!) owners.set(v.name, [...(owners.get(v.name) ?? []), t]);
    });
    expect([...owners.values()].some((ts) => ts.length === 2)).toBe(true);
    for (const [name, ts] of owners) {
      const i = index.get(name)!;
      const gs = ts.map((t) => perTask[t]!.grads[name]!.dataSync());
      after[i]!.forEach((value, k) =>
        expect(value).toBeCloseTo(before[i]![k]! - lr * gs.reduce((sum, g) => sum + g[k]!, 0), 5),
      );
      if (ts.length === 2) {
        // each column block is moved by one task only
        const [ga, gb] = gs;
        ga!.forEach((v, k) => expect(v === 0 || gb![k] === 0).toBe(true));
      }
    }
    tf.dispose(perTask.flatMap((p) => [p.value, ...Object.values(p.grads)]));
    tf.dispose([tensors.x, tensors.y, tensors.mask]);
    model.dispose();
  });

  it('fit with dwa records equal weights for two epochs, then K * softmax of the loss ratios over T', async () => {
    const model = fixtureModel(FOUR);
    const history = await fit(model, fourData(64), {
      epochs: 5,
      batchSize: 32,
      balance: 'dwa',
      balanceOptions: { temperature: 2 },
      metrics: false,
      optimizer: { name: 'adam', learningRate: 0.02 },
    });
    const ids = Object.keys(history.taskLoss);
    for (const id of ids)
      expect([history.weights[id]![0], history.weights[id]![1]]).toEqual([1, 1]);
    for (let e = 2; e < 5; e++) {
      const expected = dwaWeights(
        ids.map((id) => history.taskLoss[id]![e - 1]!),
        ids.map((id) => history.taskLoss[id]![e - 2]!),
        2,
      );
      ids.forEach((id, t) => expect(history.weights[id]![e]).toBeCloseTo(expected[t]!, 5));
    }
    model.dispose();
  });

  it('fit with uncertainty learns the log-variances: the weights leave their start', async () => {
    const model = fixtureModel(FOUR);
    const history = await fit(model, fourData(64), {
      epochs: 4,
      batchSize: 16,
      balance: 'uncertainty',
      metrics: false,
      optimizer: { name: 'adam', learningRate: 0.05 },
    });
    expect(history.weights.price![0]).toBeLessThan(0.5 + 1e-6);
    expect(Math.abs(history.weights.price!.at(-1)! - 0.5)).toBeGreaterThan(0.02);
    expect(Math.abs(history.weights.click!.at(-1)! - 1)).toBeGreaterThan(0.02);
    model.dispose();
  });

  it('fit with pcgrad, rlw and gradnorm repeats itself from the same seed', async () => {
    for (const balance of ['pcgrad', 'rlw', 'gradnorm']) {
      const run = async (seed: number) => {
        const model = fixtureModel(FOUR);
        const history = await fit(model, fourData(48), {
          epochs: 2,
          batchSize: 16,
          seed,
          balance,
          metrics: false,
        });
        const w = weightsOf(model);
        model.dispose();
        return { weights: history.weights, w };
      };
      const [a, b, c] = [await run(3), await run(3), await run(4)];
      expect(b.weights, balance).toEqual(a.weights);
      expect(b.w, balance).toEqual(a.w);
      if (balance !== 'gradnorm') expect(c.weights, balance).not.toEqual(a.weights);
    }
  });
});

describe('fit balance options', () => {
  it('fit with an unknown balancing method raises an OptionsError listing the registered names', async () => {
    const model = fixtureModel(FOUR);
    const error = await fit(model, fourData(8), { balance: 'magic' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as OptionsError).path).toBe('options.balance');
    for (const name of [
      'static',
      'uncertainty',
      'dwa',
      'gradnorm',
      'pcgrad',
      'mgda',
      'rlw',
      'cagrad',
    ])
      expect((error as Error).message).toContain(name);
    expect((error as Error).message).toMatchInlineSnapshot(
      `"mtgraph/fit: unknown balancing method (got "magic"; expected one of static, uncertainty, dwa, gradnorm, pcgrad, mgda, rlw, cagrad) → at options.balance. Pick one of them."`,
    );
    model.dispose();
  });

  it.each([
    [
      'gradnorm',
      { alpha: -1 },
      'options.balanceOptions.alpha',
      /alpha must be at least 0 \(got -1\)/,
    ],
    [
      'dwa',
      { temperature: 0 },
      'options.balanceOptions.temperature',
      /temperature must be greater than 0/,
    ],
    ['cagrad', { c: 'big' }, 'options.balanceOptions.c', /c must be a number/],
    ['cagrad', { rescale: 3 }, 'options.balanceOptions.rescale', /rescale must be 0, 1 or 2/],
    [
      'mgda',
      { normalize: 'max' },
      'options.balanceOptions.normalize',
      /unknown gradient normalisation/,
    ],
    ['gradnorm', { alhpa: 1 }, 'options.balanceOptions.alhpa', /unknown key "alhpa"/],
    ['static', { alpha: 1 }, 'options.balanceOptions.alpha', /unknown key "alpha"/],
    ['dwa', 2, 'options.balanceOptions', /balanceOptions must be an object of 'dwa' options/],
  ])(
    'fit with %s and balanceOptions %j raises an OptionsError at %s',
    async (balance, balanceOptions, path, message) => {
      const model = fixtureModel(FOUR);
      const before = tf.memory().numTensors;
      const error = await fit(model, fourData(8), {
        balance,
        balanceOptions: balanceOptions as Record<string, unknown>,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptionsError);
      expect((error as OptionsError).path).toBe(path);
      expect((error as Error).message).toMatch(message);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    },
  );

  it("fit with mgda's upper bound on a model without one shared block raises an OptionsError", async () => {
    const model = fixtureModel({ ...FOUR, strategy: 'mmoe' });
    const before = tf.memory().numTensors;
    const error = await fit(model, fourData(8), {
      balance: 'mgda',
      balanceOptions: { upperBound: true },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as OptionsError).path).toBe('options.balanceOptions.upperBound');
    expect((error as Error).message).toMatch(
      /needs one shared representation.*strategy 'mmoe'.*Use it with hard sharing/,
    );
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
