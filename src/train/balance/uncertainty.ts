import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { says } from '../../schema/common.js';
import { defineBalance } from './types.js';
import { numberOption, optionsObjectError } from './options.js';
import { assignValues, numberList, stateObject, valuesOf } from './state.js';

export interface UncertaintyOptions {
  /**
   * Which form each task takes: 'kind' (default) = the regression form for regression tasks and
   * the classification form for the others (Kendall et al. 2018); 'regression' = the regression
   * form for every task (as LibMTL does); 'classification' = the classification form for every task.
   */
  form: 'kind' | 'regression' | 'classification';
  /** Initial log-variance s of every task (default 0: every weight starts at its form's factor). */
  init: number;
}

/**
 * The factor of each task's loss in the uncertainty objective: 1/2 for the regression form
 * (`1/(2 sigma^2) L + log sigma`), 1 for the classification form (`1/sigma^2 L + log sigma`).
 */
export function uncertaintyScales(
  kinds: readonly string[],
  form: UncertaintyOptions['form'],
): number[] {
  return kinds.map((kind) =>
    form === 'regression' || (form === 'kind' && kind === 'regression') ? 0.5 : 1,
  );
}

/**
 * The uncertainty objective `sum_t c_t * exp(-s_t) * L_t + s_t / 2` (with s_t = log sigma_t^2 and
 * c_t from `uncertaintyScales`) and the weights `c_t * exp(-s_t)`.
 */
export function uncertaintyObjective(
  taskLoss: tf.Tensor1D,
  logVariance: tf.Tensor1D,
  scales: tf.Tensor1D,
): { total: tf.Scalar; weights: tf.Tensor1D } {
  const weights = tf.mul(scales, tf.exp(tf.neg(logVariance))) as tf.Tensor1D;
  const total = tf.sum(tf.add(tf.mul(weights, taskLoss), tf.mul(logVariance, 0.5))) as tf.Scalar;
  return { total, weights };
}

/**
 * `uncertainty` (Kendall, Gal & Cipolla 2018): a learned log-variance s_t per task, trained with the
 * model. Regression form `0.5 * exp(-s) * L + 0.5 * s`, classification form `exp(-s) * L + 0.5 * s`
 * (s = log sigma^2, so 0.5 * s = log sigma). At the optimum of s, exp(s) = c * L: each task's
 * weighted loss settles at its noise level.
 */
export const uncertaintyBalance = defineBalance<UncertaintyOptions>({
  name: 'uncertainty',
  summary:
    'learned homoscedastic uncertainty: a log-variance per task, trained with the model (Kendall et al. 2018)',
  needs: 'losses',
  options: z.strictObject(
    {
      form: z
        .enum(['kind', 'regression', 'classification'], {
          error: says('unknown uncertainty form', "Use 'kind', 'regression' or 'classification'."),
        })
        .optional(),
      init: numberOption('init', '0').optional(),
    },
    { error: optionsObjectError('uncertainty', "{ form: 'kind' }") },
  ),
  defaults: { form: 'kind', init: 0 },
  create({ tasks, options }) {
    const logVariance = tf.tidy(() =>
      tf.variable(tf.fill([tasks.length], options.init), true),
    ) as tf.Variable<tf.Rank.R1>;
    const scales = tf.keep(
      tf.tensor1d(
        uncertaintyScales(
          tasks.map((t) => t.kind),
          options.form,
        ),
        'float32',
      ),
    );
    return {
      variables: [logVariance],
      combine: (taskLoss) => uncertaintyObjective(taskLoss, logVariance, scales),
      getState: () => ({ logVariance: valuesOf(logVariance) }),
      setState(state) {
        assignValues(
          logVariance,
          numberList(
            'uncertainty',
            stateObject('uncertainty', state).logVariance,
            tasks.length,
            'logVariance',
          ),
        );
      },
      dispose: () => {
        logVariance.dispose();
        scales.dispose();
      },
    };
  },
});
