import * as tf from '@tensorflow/tfjs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit, type FitOptions } from '../../src/train/index.js';
import { cpu, features, fixtureModel, type FixtureOptions } from '../train/fixture.js';

/**
 * Long runs: 100 epochs of every strategy under every balancing method keep the tensor count
 * flat from the first epoch to the last (and back to where it was after fit), and the heap
 * bounded. Tiny data (one batch of 8 rows per epoch, two tasks) keeps the grid within seconds;
 * the grid is split over two test files (loss and gradient methods) so that they run in parallel.
 */

export const STRATEGIES = [
  'single',
  'hard',
  'clustered',
  'tree',
  'soft',
  'cross-stitch',
  'mmoe',
  'ple',
] as const;
export const EPOCHS = 100;
/** Heap growth allowed from epoch 10 to epoch 100 of one run, after a full GC (the history grows by a few kB). */
const HEAP_SLACK = 4 * 1024 * 1024;

const TWO: FixtureOptions = {
  features: 3,
  trunk: [4],
  tasks: { a: { kind: 'regression' }, c: { kind: 'multiclass', classes: 3 } },
  edges: [['a', 'c', 0.6]],
  extra: { mmoe: { experts: 2, units: [4] }, ple: { sharedExperts: 1, taskExperts: 1 } },
};
const x = features(8, 3, 4);
const DATA = { x, y: { a: x.map((v) => v[0]! - v[1]!), c: x.map((_, i) => i % 3) } };

/** The grid for `methods`: every strategy, 100 epochs each, tensors flat, heap bounded. */
export function longRuns(methods: ReadonlyArray<[string, Record<string, unknown>]>): void {
  let gc: () => void;
  const heap = () => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  beforeAll(async () => {
    await cpu();
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  });

  describe.each(STRATEGIES)('strategy %s', (strategy) => {
    it.each(methods)(
      `fit runs ${EPOCHS} epochs with balance %s %j with a flat tensor count and a bounded heap`,
      async (balance, balanceOptions) => {
        const model = fixtureModel({ ...TWO, strategy });
        const before = tf.memory().numTensors;
        const counts: number[] = [];
        let heapAt10 = 0;
        let heapAtEnd = 0;
        const options: FitOptions = {
          epochs: EPOCHS,
          batchSize: 8,
          seed: 1,
          balance,
          balanceOptions,
          metricsEvery: 50,
          optimizer: { name: 'adam', learningRate: 0.01 },
          onEpochEnd: (epoch) => {
            counts.push(tf.memory().numTensors);
            if (epoch === 9) heapAt10 = heap();
            if (epoch === EPOCHS - 1) heapAtEnd = heap();
          },
        };
        const history = await fit(model, DATA, options);
        expect(history.epochs).toBe(EPOCHS);
        expect(history.loss.every(Number.isFinite)).toBe(true);
        expect(counts).toHaveLength(EPOCHS);
        expect(new Set(counts)).toEqual(new Set([counts[0]]));
        expect(tf.memory().numTensors).toBe(before);
        expect(heapAtEnd - heapAt10).toBeLessThan(HEAP_SLACK);
        model.dispose();
      },
    );
  });
}
