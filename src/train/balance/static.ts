import * as tf from '@tensorflow/tfjs';
import { defineBalance } from './types.js';
import { noOptions } from './options.js';

/** `static`: every step weighs each task by its `weight` from the plan (default 1). */
export const staticBalance = defineBalance<Record<never, never>>({
  name: 'static',
  summary: "fixed weights: each task's weight from the plan (default 1)",
  needs: 'losses',
  options: noOptions('static'),
  defaults: {},
  create({ tasks }) {
    const weights = tf.keep(
      tf.tensor1d(
        tasks.map((t) => t.weight),
        'float32',
      ),
    );
    return {
      combine: (taskLoss) => ({ total: tf.sum(tf.mul(taskLoss, weights)), weights }),
      dispose: () => weights.dispose(),
    };
  },
});
