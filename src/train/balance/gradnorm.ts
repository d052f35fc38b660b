import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { getOptimizer } from '../optimizers.js';
import { defineBalance } from './types.js';
import { numberOption, optionsObjectError } from './options.js';
import { assignValues, numberList, stateObject, valuesOf } from './state.js';
import { optimizerToJson, optimizerFromJson } from '../optimizer-state.js';

export interface GradnormOptions {
  /** Asymmetry alpha (default 1.5): how strongly tasks that train slower get larger gradients. */
  alpha: number;
  /** Learning rate of the task weights (default: fit's learning rate), with fit's optimizer. */
  learningRate?: number;
}

/** Smallest weight before renormalising (keeps every weight positive). */
const MIN_WEIGHT = 1e-4;

/**
 * The gradient of GradNorm's loss `L_grad = sum_t |G_t - target_t|` with respect to the weights,
 * where `G_t = w_t * ||grad_W L_t||` (`norms` = the unweighted norms on the last shared layer),
 * `target_t = mean(G) * r_t^alpha` held constant, `r_t = ratio_t / mean(ratio)` and
 * `ratio_t = L_t / L_t(0)`: `d L_grad / d w_t = sign(G_t - target_t) * ||grad_W L_t||`.
 */
export function gradnormGradient(
  weights: tf.Tensor1D,
  norms: tf.Tensor1D,
  lossRatios: tf.Tensor1D,
  alpha: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const g = tf.mul(weights, norms);
    const r = tf.div(lossRatios, tf.mean(lossRatios));
    const target = tf.mul(tf.mean(g), tf.pow(r, alpha));
    return tf.mul(tf.sign(tf.sub(g, target)), norms) as tf.Tensor1D;
  });
}

/**
 * `gradnorm` (Chen et al. 2018): learnable task weights w (starting at 1) that equalise the
 * weighted tasks' gradient norms on the last shared layer, pulled apart by each task's relative
 * inverse training rate `r_t^alpha`. Each step the shared parameters move along `sum_t w_t g_t`,
 * each task's own parameters along `w_t` times its gradient (the gradient of `sum_t w_t L_t`); then
 * w takes one step of fit's optimizer on `L_grad` and is renormalised to sum to the number of tasks.
 * L_t(0) is each task's first nonzero loss.
 */
export const gradnormBalance = defineBalance<GradnormOptions>({
  name: 'gradnorm',
  summary:
    "learned weights that balance the tasks' gradient norms on the last shared layer by training rate (Chen et al. 2018)",
  needs: 'task-gradients',
  options: z.strictObject(
    {
      alpha: numberOption('alpha', '1.5', { min: 0 }).optional(),
      learningRate: numberOption('learningRate', '0.025', { gt: 0 }).optional(),
    },
    { error: optionsObjectError('gradnorm', '{ alpha: 1.5 }') },
  ),
  defaults: { alpha: 1.5 },
  create({ tasks, options, optimizer }) {
    const n = tasks.length;
    const weights = tf.tidy(() => tf.variable(tf.ones([n]), true)) as tf.Variable<tf.Rank.R1>;
    const initial = tf.tidy(() => tf.variable(tf.zeros([n]), false)) as tf.Variable<tf.Rank.R1>;
    const learner = getOptimizer(optimizer.name)!.create(
      options.learningRate ?? optimizer.learningRate,
    );
    return {
      needs: 'task-gradients',
      combineGradients(g) {
        const current = tf.clone(weights) as tf.Tensor1D;
        const norms = tf.norm(g.last(), 'euclidean', 1) as tf.Tensor1D;
        initial.assign(tf.where(tf.greater(initial, 0), initial, g.losses));
        const ratios = tf.where(
          tf.greater(initial, 0),
          tf.div(g.losses, tf.maximum(initial, 1e-30)),
          tf.onesLike(g.losses),
        ) as tf.Tensor1D;
        learner.applyGradients({
          [weights.name]: gradnormGradient(current, norms, ratios, options.alpha),
        });
        const positive = tf.maximum(weights, MIN_WEIGHT);
        weights.assign(tf.mul(positive, tf.div(n, tf.sum(positive))) as tf.Tensor1D);
        return { weights: current, own: current };
      },
      getState: async () => ({
        weights: valuesOf(weights),
        initial: valuesOf(initial),
        learner: await optimizerToJson(learner),
      }),
      async setState(state) {
        const saved = stateObject('gradnorm', state);
        assignValues(weights, numberList('gradnorm', saved.weights, n, 'weights'));
        assignValues(initial, numberList('gradnorm', saved.initial, n, 'initial'));
        await optimizerFromJson(learner, saved.learner, 'gradnorm');
      },
      dispose() {
        learner.dispose();
        weights.dispose();
        initial.dispose();
      },
    };
  },
});
