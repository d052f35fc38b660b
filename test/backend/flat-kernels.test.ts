import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { FLAT_CONCAT, FLAT_SPLIT, flatConcat, flatSplit } from '../../src/backend/flat-kernels.js';

let start = '';
beforeAll(async () => {
  await initBackend();
  start = tf.getBackend();
});
afterAll(async () => {
  await tf.setBackend(start);
});

describe.each(['wasm', 'cpu'])('flat concat and split on %s', (backend) => {
  it('lay tensors of any shape end to end and cut them back, as reshapes with concat and slices do, in one kernel each', async () => {
    if (!(await tf.setBackend(backend))) return;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const xs = [
        tf.randomNormal([3, 4], 0, 1, 'float32', 1),
        tf.randomNormal([4], 0, 1, 'float32', 2),
        tf.randomNormal([2, 2, 3], 0, 1, 'float32', 3),
        tf.scalar(7),
      ];
      const joined = flatConcat(xs, [1, 29]);
      expect(joined.shape).toEqual([1, 29]);
      expect(Array.from(joined.dataSync())).toEqual(
        Array.from(tf.concat(xs.map((x) => tf.reshape(x, [-1]))).dataSync()),
      );
      const pieces = flatSplit(
        joined,
        xs.map((x) => [...x.shape]),
      );
      pieces.forEach((p, i) => {
        expect(p.shape).toEqual(xs[i]!.shape);
        expect(Array.from(p.dataSync())).toEqual(Array.from(xs[i]!.dataSync()));
      });
      const ints = flatConcat(
        [tf.tensor1d([1, 2], 'int32'), tf.tensor2d([[3], [4]], [2, 1], 'int32')],
        [4],
      );
      expect(ints.dtype).toBe('int32');
      expect(Array.from(ints.dataSync())).toEqual([1, 2, 3, 4]);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(() => tf.tidy(() => flatConcat([tf.ones([2, 3])], [5]))).toThrow(
      /6 values into a shape of 5/,
    );
    expect(() => tf.tidy(() => flatSplit(tf.ones([6]), [[2], [2]]))).toThrow(
      /cut 6 values into shapes of 4/,
    );
    const profile = await tf.profile(() =>
      tf.tidy(() => {
        flatSplit(flatConcat([tf.ones([2, 3]), tf.zeros([3])], [9]), [[3], [6]]);
      }),
    );
    expect(profile.kernelNames).toEqual(expect.arrayContaining([FLAT_CONCAT, FLAT_SPLIT]));
    expect(profile.kernelNames).not.toContain('Concat');
    expect(profile.kernelNames).not.toContain('Slice');
  });
});
