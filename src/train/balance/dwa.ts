import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { defineBalance } from './types.js';
import { numberOption, optionsObjectError } from './options.js';
import { softmax } from './numeric.js';
import { assignValues, badState, numberList, stateObject, valuesOf } from './state.js';

export interface DwaOptions {
  /** Temperature T of the softmax (default 2): larger spreads the weights less. */
  temperature: number;
}

/**
 * DWA weights from the two previous epochs' mean task losses:
 * `w_t = K * softmax(r / T)_t` with `r_t = L_t(e-1) / L_t(e-2)`, K the number of tasks.
 * A ratio that is not finite (a task without labelled rows, a zero loss) counts as 1.
 */
export function dwaWeights(
  previous: readonly number[],
  beforePrevious: readonly number[],
  temperature: number,
): number[] {
  const ratios = previous.map((l, t) => {
    const r = l / beforePrevious[t]!;
    return Number.isFinite(r) ? r : 1;
  });
  return softmax(ratios.map((r) => r / temperature)).map((w) => w * previous.length);
}

/**
 * `dwa` (dynamic weight average, Liu, Johns & Davison 2019): each epoch's weights follow how fast
 * each task's loss fell over the two epochs before; equal weights (1) for the first two epochs.
 */
export const dwaBalance = defineBalance<DwaOptions>({
  name: 'dwa',
  summary:
    "dynamic weight average: weights from the ratio of each task's last two epoch losses (Liu et al. 2019)",
  needs: 'losses',
  options: z.strictObject(
    {
      temperature: numberOption('temperature', '2', { gt: 0 }).optional(),
    },
    { error: optionsObjectError('dwa', '{ temperature: 2 }') },
  ),
  defaults: { temperature: 2 },
  create({ tasks, options }) {
    const weights = tf.tidy(() =>
      tf.variable(tf.ones([tasks.length]), false),
    ) as tf.Variable<tf.Rank.R1>;
    let losses: (readonly number[])[] = [];
    return {
      combine: (taskLoss) => ({ total: tf.sum(tf.mul(taskLoss, weights)), weights }),
      onEpochEnd(_epoch, taskLoss) {
        losses.push([...taskLoss]);
        if (losses.length < 2) return;
        const next = dwaWeights(losses.at(-1)!, losses.at(-2)!, options.temperature);
        tf.tidy(() => weights.assign(tf.tensor1d(next, 'float32')));
      },
      // The last two epochs' losses are all the next weights need.
      getState: () => ({ losses: losses.slice(-2), weights: valuesOf(weights) }),
      setState(state) {
        const { losses: saved, weights: w } = stateObject('dwa', state);
        if (!Array.isArray(saved) || saved.length > 2)
          throw badState('dwa', 'losses must hold at most two epochs');
        losses = saved.map((l, i) => numberList('dwa', l, tasks.length, `losses[${i}]`));
        assignValues(weights, numberList('dwa', w, tasks.length, 'weights'));
      },
      dispose: () => weights.dispose(),
    };
  },
});
