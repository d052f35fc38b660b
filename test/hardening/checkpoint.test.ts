import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { build } from '../../src/network/index.js';
import type { MtgraphModel } from '../../src/network/types.js';
import type { TaskData } from '../../src/data/types.js';
import { FileError, OptionsError } from '../../src/errors.js';
import { loadModel } from '../../src/io/model-file.js';
import { fit, type FitOptions, type History } from '../../src/train/index.js';
import { CHECKPOINT_FILES } from '../../src/train/checkpoint.js';
import { epochSeed, randomStream } from '../../src/train/random.js';
import { seededRandom } from '../../src/graph/random.js';
import {
  cpu,
  fixturePlan,
  weightsOf,
  type FixtureOptions,
  FOUR_TASKS,
  fourTaskData,
} from '../train/fixture.js';
import { removeDir, tempDir, thrown } from './helpers.js';

/**
 * A run interrupted and resumed from its checkpoint ends with the weights of the uninterrupted run
 * (same seed, no dropout), for every balancing method: the model, the optimizer's slots and step
 * count, the balancer's state and random streams, early stopping and the history come back.
 */

const FOUR: FixtureOptions = {
  features: 5,
  trunk: [8],
  tasks: FOUR_TASKS,
  edges: [
    ['price', 'click', 0.6],
    ['click', 'segment', 0.5],
    ['segment', 'tags', -0.4],
  ],
};

function fourData(rows: number, seed = 1): TaskData {
  return fourTaskData(rows, { seed, features: 5, tagFeature: 3 });
}

const DATA = fourData(40);
const EPOCHS = 6;
const STOP_AFTER = 3; // the interrupted run stops after this many epochs

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  a.forEach((w, i) =>
    w.forEach((v, j) => {
      max = Math.max(max, Math.abs(v - b[i]![j]!));
    }),
  );
  return max;
}

/** A fresh model of the plan, its weights scrambled so that only a restored checkpoint can match. */
function freshModel(strategy = 'hard', scramble = false): MtgraphModel {
  const model = build(fixturePlan({ ...FOUR, strategy }));
  if (scramble) {
    const values = model.model
      .getWeights()
      .map((w, i) => tf.randomNormal(w.shape, 0, 1, 'float32', 1000 + i));
    model.model.setWeights(values);
    tf.dispose(values);
  }
  return model;
}

/** Compares two histories up to timing. */
function expectSameHistory(a: History, b: History): void {
  const strip = (h: History) => ({ ...h, timing: undefined });
  expect(strip(b)).toEqual(strip(a));
  expect(b.timing.epochMs).toHaveLength(a.epochs);
}

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('checkpoint');
});
afterAll(() => removeDir(root));

describe('fit checkpoint and resumeFrom', () => {
  it('epochSeed gives every epoch its own order, and randomStream is seededRandom with a state', () => {
    const seeds = new Set(Array.from({ length: 100 }, (_, e) => epochSeed(7, e)));
    expect(seeds.size).toBe(100);
    expect(epochSeed(7, 3)).toBe(epochSeed(7, 3));
    expect(epochSeed(7, 3)).not.toBe(epochSeed(8, 3));
    for (const seed of [0, 1, -5, 2 ** 31 + 3]) {
      const a = seededRandom(seed);
      const b = randomStream(seed);
      for (let i = 0; i < 20; i++) expect(b()).toBe(a());
      const c = randomStream(0, b.state);
      expect(c()).toBe(b());
    }
  });

  const CASES: Array<[string, Record<string, unknown>, string]> = [
    ['static', {}, 'hard'],
    ['uncertainty', {}, 'hard'],
    ['dwa', {}, 'hard'],
    ['gradnorm', {}, 'hard'],
    ['pcgrad', {}, 'clustered'],
    ['mgda', {}, 'mmoe'],
    ['mgda', { upperBound: true }, 'hard'],
    ['rlw', {}, 'cross-stitch'],
    ['cagrad', {}, 'soft'],
  ];

  it.each(CASES)(
    'fit with balance %s %j on %s, interrupted and resumed, ends with the uninterrupted weights and history',
    async (balance, balanceOptions, strategy) => {
      const options: FitOptions = {
        epochs: EPOCHS,
        batchSize: 16,
        seed: 5,
        balance,
        balanceOptions,
        metrics: false,
        optimizer: { name: 'adam', learningRate: 0.05 },
      };
      const straight = freshModel(strategy);
      const expected = await fit(straight, DATA, options);

      const dir = path.join(
        root,
        `run-${balance}-${strategy}${balanceOptions.upperBound ? '-ub' : ''}`,
      );
      const first = freshModel(strategy);
      const stop = new Error('interrupted');
      const error = await thrown(() =>
        fit(first, DATA, {
          ...options,
          checkpoint: { dir },
          onEpochEnd: (epoch) => {
            if (epoch === STOP_AFTER - 1) throw stop;
          },
        }),
      );
      expect(error).toBe(stop);

      const before = tf.memory().numTensors;
      const resumed = freshModel(strategy, true);
      const history = await fit(resumed, DATA, {
        ...options,
        checkpoint: { dir },
        resumeFrom: dir,
      });
      expect(maxAbsDiff(weightsOf(resumed), weightsOf(straight))).toBeLessThanOrEqual(1e-6);
      expectSameHistory(expected, history);
      expect(resumed.metadata.epochsTrained).toBe(EPOCHS);
      resumed.dispose();
      expect(tf.memory().numTensors).toBe(before);
      straight.dispose();
      first.dispose();
    },
  );

  it('fit for k epochs, then resumed to n, equals n epochs straight, with validation, early stopping, metrics and rmsprop', async () => {
    const options: FitOptions = {
      epochs: 8,
      batchSize: 8,
      seed: 9,
      balance: 'uncertainty',
      validationSplit: { fraction: 0.25, shuffle: true },
      earlyStopping: { patience: 50, monitor: 'val_loss' },
      optimizer: { name: 'rmsprop', learningRate: 0.01 },
      metricsEvery: 2,
    };
    const straight = freshModel('tree');
    const expected = await fit(straight, DATA, options);

    const dir = path.join(root, 'k-then-n');
    const first = freshModel('tree');
    // 4, so that the short run's last epoch is also a metrics epoch of the long run (metricsEvery: 2).
    const part = await fit(first, DATA, { ...options, epochs: 4, checkpoint: { dir, every: 4 } });
    expect(part.epochs).toBe(4);
    const resumed = freshModel('tree', true);
    const history = await fit(resumed, DATA, { ...options, resumeFrom: dir });
    expect(maxAbsDiff(weightsOf(resumed), weightsOf(straight))).toBeLessThanOrEqual(1e-6);
    expect(history.loss).toEqual(expected.loss);
    expect(history.valLoss).toEqual(expected.valLoss);
    expect(history.valMetrics).toEqual(expected.valMetrics);
    expect(history.bestEpoch).toBe(expected.bestEpoch);
    [straight, first, resumed].forEach((m) => m.dispose());
  });

  it('fit with earlyStopping resumes the stopped run: it restores the best weights and trains no further', async () => {
    const options: FitOptions = {
      epochs: 30,
      batchSize: 40,
      seed: 3,
      validationSplit: 0.25,
      earlyStopping: { patience: 1, minDelta: 10 },
      optimizer: { name: 'sgd', learningRate: 0.01 },
      metrics: false,
    };
    const dir = path.join(root, 'stopped');
    const straight = freshModel();
    const expected = await fit(straight, DATA, { ...options, checkpoint: { dir, every: 100 } });
    expect(expected.stoppedEarly).toBe(true);
    const resumed = freshModel('hard', true);
    const history = await fit(resumed, DATA, { ...options, resumeFrom: dir });
    expect(history.epochs).toBe(expected.epochs);
    expect(maxAbsDiff(weightsOf(resumed), weightsOf(straight))).toBe(0);
    [straight, resumed].forEach((m) => m.dispose());
  });

  it('a checkpoint folder is a saved model that loadModel opens, plus the run state', async () => {
    const dir = path.join(root, 'loadable');
    const model = freshModel();
    await fit(model, DATA, { epochs: 2, seed: 1, checkpoint: { dir, every: 1 }, metrics: false });
    expect((await fs.readdir(dir)).sort()).toEqual([
      'checkpoint.json',
      'metadata.json',
      'model.json',
      'optimizer.bin',
      'plan.json',
      'weights.bin',
    ]);
    const loaded = await loadModel(dir);
    expect(maxAbsDiff(weightsOf(loaded), weightsOf(model))).toBe(0);
    const record = JSON.parse(await fs.readFile(path.join(dir, CHECKPOINT_FILES.state), 'utf8'));
    expect(record).toMatchObject({ format: 'mtgraph-checkpoint', version: 1, epoch: 2, epochs: 2 });
    expect((await fs.readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
    [model, loaded].forEach((m) => m.dispose());
  });

  describe('resumeFrom refuses what does not belong to the run', () => {
    let dir: string;
    const options: FitOptions = { epochs: 4, batchSize: 16, seed: 4, metrics: false };
    beforeAll(async () => {
      dir = path.join(root, 'refuse');
      const model = freshModel();
      await fit(model, DATA, { ...options, epochs: 2, checkpoint: { dir } });
      model.dispose();
    });

    async function refused(change: {
      options?: FitOptions;
      data?: TaskData;
      model?: MtgraphModel;
      edit?: (d: string) => Promise<void>;
    }): Promise<unknown> {
      const copy = path.join(root, `refuse-${Math.random().toString(36).slice(2)}`);
      await fs.cp(dir, copy, { recursive: true });
      await change.edit?.(copy);
      const model = change.model ?? freshModel();
      const before = weightsOf(model);
      const count = tf.memory().numTensors;
      const error = await thrown(() =>
        fit(model, change.data ?? DATA, { ...options, ...change.options, resumeFrom: copy }),
      );
      expect(tf.memory().numTensors).toBe(count);
      expect(maxAbsDiff(weightsOf(model), before)).toBe(0); // nothing was applied
      model.dispose();
      return error;
    }

    it('resumeFrom refuses other options, naming the option', async () => {
      const error = await refused({ options: { batchSize: 8 } });
      expect(error).toBeInstanceOf(OptionsError);
      expect((error as OptionsError).path).toBe('options.batchSize');
      expect((error as Error).message).toMatch(
        /^mtgraph\/fit: cannot resume from .*: batchSize was 16 when the checkpoint was made \(got 8\) → at options\.batchSize\./,
      );
      expect(await refused({ options: { seed: 5 } })).toMatchObject({ path: 'options.seed' });
      expect(await refused({ options: { optimizer: 'sgd' } })).toMatchObject({
        path: 'options.optimizer',
      });
      expect(await refused({ options: { balance: 'dwa' } })).toMatchObject({
        path: 'options.balance',
      });
    });

    it('resumeFrom refuses other data and another model', async () => {
      const other = fourData(40, 2);
      expect(await refused({ data: other })).toMatchObject({
        name: 'OptionsError',
        path: 'data',
        message: expect.stringMatching(/training data differ/),
      });
      const model = build(fixturePlan({ ...FOUR, trunk: [6] }));
      expect(await refused({ model })).toMatchObject({
        name: 'OptionsError',
        path: 'model',
        message: expect.stringMatching(/checkpoint is of another model/),
      });
    });

    it('resumeFrom refuses an unknown version, a damaged optimizer.bin, a truncated checkpoint.json and a missing folder', async () => {
      const edit = (file: string, fn: (text: string) => string) => async (d: string) => {
        const p = path.join(d, file);
        await fs.writeFile(p, fn(await fs.readFile(p, 'utf8')));
      };
      const version = await refused({
        edit: edit('checkpoint.json', (t) => t.replace('"version": 1', '"version": 2')),
      });
      expect(version).toBeInstanceOf(FileError);
      expect((version as Error).message).toMatch(
        /unknown checkpoint version in .* \(got 2; expected 1\)/,
      );
      const damaged = await refused({
        edit: async (d) => {
          const p = path.join(d, 'optimizer.bin');
          const bytes = await fs.readFile(p);
          bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
          await fs.writeFile(p, bytes);
        },
      });
      expect((damaged as Error).message).toMatch(/optimizer.bin does not match checkpoint.json/);
      const truncated = await refused({
        edit: edit('checkpoint.json', (t) => t.slice(0, t.length / 2)),
      });
      expect((truncated as Error).message).toMatch(/checkpoint file .* is not valid JSON/);
      const weights = await refused({
        edit: async (d) => {
          const p = path.join(d, 'weights.bin');
          const bytes = await fs.readFile(p);
          bytes[0] = bytes[0]! ^ 0x01;
          await fs.writeFile(p, bytes);
        },
      });
      expect((weights as Error).message).toMatch(/weights.bin in .* does not match metadata.json/);
      const state = await refused({
        edit: edit('checkpoint.json', (t) =>
          t.replace('"balancer": null', '"balancer": {"weights": [1, 2]}'),
        ),
      });
      expect((state as Error).message).toMatch(
        /cannot restore the checkpoint in .* \(the balancer cannot restore a state\)/,
      );
      const proto = await refused({
        edit: edit('checkpoint.json', (t) =>
          t.replace('"stopping": {', '"stopping": {"__proto__": {"polluted": 1},'),
        ),
      });
      expect((proto as Error).message).toMatch(
        /the key "__proto__" is not allowed in the checkpoint file/,
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const model = freshModel();
      await expect(
        fit(model, DATA, { ...options, resumeFrom: path.join(root, 'nowhere') }),
      ).rejects.toThrow(FileError);
      model.dispose();
    });
  });

  it('fit whose checkpoint write fails stops with a FileError and leaves the previous checkpoint whole', async () => {
    const dir = path.join(root, 'failing');
    const model = freshModel();
    const options: FitOptions = {
      epochs: 4,
      batchSize: 16,
      seed: 6,
      metrics: false,
      checkpoint: { dir },
    };
    let writes = 0;
    const real = fs.writeFile;
    const spy = vi.spyOn(fs, 'writeFile').mockImplementation(async (file, ...rest) => {
      // The second checkpoint dies while writing its optimizer state.
      if (String(file).endsWith('optimizer.bin') && ++writes === 2)
        throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
      return real(file, ...rest);
    });
    try {
      const error = await thrown(() => fit(model, DATA, options));
      expect(error).toBeInstanceOf(FileError);
      expect((error as Error).message).toMatch(
        /^mtgraph\/io: cannot write the checkpoint to .*: the disk is full \(ENOSPC\)\. .*The previous checkpoint, if any, is unchanged\.$/,
      );
    } finally {
      spy.mockRestore();
    }
    expect((await fs.readdir(root)).filter((f) => f.startsWith('.failing'))).toEqual([]);
    const record = JSON.parse(await fs.readFile(path.join(dir, 'checkpoint.json'), 'utf8'));
    expect(record.epoch).toBe(1);
    const resumed = freshModel();
    const history = await fit(resumed, DATA, { ...options, resumeFrom: dir });
    expect(history.epochs).toBe(4);
    [model, resumed].forEach((m) => m.dispose());
  });
});
