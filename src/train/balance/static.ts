import * as tf from '@tensorflow/tfjs';
import type { BalanceMethod } from './types.js';

/** `static`: every step weighs each task by its `weight` from the plan (default 1). */
export const staticBalance: BalanceMethod = {
  name: 'static',
  summary: "fixed weights: each task's weight from the plan (default 1)",
  create({ tasks }) {
    const weights = tf.keep(tf.tensor1d(tasks.map((t) => t.weight), 'float32'));
    return {
      combine: (taskLoss) => ({ total: tf.sum(tf.mul(taskLoss, weights)), weights }),
      dispose: () => weights.dispose(),
    };
  },
};
