import * as tf from '@tensorflow/tfjs';
import { randomStream, streamState } from '../random.js';
import { defineBalance } from './types.js';
import { noOptions } from './options.js';
import { softmax, standardNormal } from './numeric.js';
import { badState, stateObject } from './state.js';

/** Salt of the rlw random stream, so that it is not the stream that shuffles the rows. */
const SALT = 0x71a3c5;

/** One draw of RLW weights: `K * softmax(z)` with z_t standard normal; they sum to K. */
export function rlwWeights(tasks: number, random: () => number): number[] {
  return softmax(Array.from({ length: tasks }, () => standardNormal(random))).map((w) => w * tasks);
}

/**
 * `rlw` (random loss weighting, Lin et al. 2022): fresh random weights every step,
 * `K * softmax(z)` with z ~ N(0, I), from a stream seeded by fit's seed.
 */
export const rlwBalance = defineBalance<Record<never, never>>({
  name: 'rlw',
  summary: 'random loss weighting: K * softmax of standard normals, drawn every step (seeded)',
  needs: 'losses',
  options: noOptions('rlw'),
  defaults: {},
  create({ tasks, seed }) {
    const random = randomStream(seed ^ SALT);
    return {
      combine(taskLoss) {
        const weights = tf.tensor1d(rlwWeights(tasks.length, random), 'float32');
        return { total: tf.sum(tf.mul(taskLoss, weights)), weights };
      },
      getState: () => ({ random: random.state }),
      setState(state) {
        const saved = streamState(stateObject('rlw', state).random);
        if (saved === undefined) throw badState('rlw', 'random must be a 32-bit stream state');
        random.state = saved;
      },
      dispose() {},
    };
  },
});
