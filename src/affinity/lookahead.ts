import * as tf from '@tensorflow/tfjs';
import { measureWhileTraining, type Probe } from './measure-loop.js';
import {
  registerAffinityMethod,
  type AffinityInput,
  type AffinityMeasurement,
} from './registry.js';

const TRAINING_KEYS = [
  'steps',
  'warmup',
  'measureEvery',
  'batchSize',
  'optimizer',
  'plan',
  'model',
] as const;

/**
 * The lookahead probe: for each task i, one SGD step of rate `rate` on the shared parameters
 * along task i's gradient, then every task's loss on the same batch: `Z(i->j) = 1 - L_j(after) / L_j(before)`.
 * The loop restores the shared parameters afterwards.
 */
function lookaheadProbe(rate: number): Probe {
  return ({ shared, grads, before, losses }) => {
    const T = grads.length;
    const base = shared.map((v) => tf.clone(v));
    const rows = grads.map((g) => {
      if (!g) return tf.fill([T], NaN) as tf.Tensor1D;
      shared.forEach((v, k) => v.assign(tf.sub(base[k]!, tf.mul(rate, g[k]!))));
      return tf.sub(1, tf.div(losses(), before)) as tf.Tensor1D;
    });
    return tf.stack(rows) as tf.Tensor2D;
  };
}

/**
 * Scales mean lookahead gains into [-1, 1]. 'self': `Z(i->j) / Z(j->j)`, clipped: how much a
 * step on task i lowers task j's loss, as a fraction of what j's own step does (1 = as much as
 * its own step or more, 0 = no effect, -1 = undoes at least as much as its own step gains).
 * It keeps an absolute meaning (unrelated tasks stay near 0 however small every gain is) and
 * does not depend on the lookahead rate to first order (both gains are proportional to it).
 * 'max': divided by the largest |Z| between two different tasks (relative: the strongest pair gets ±1).
 * In 'self', a task whose own gain is not positive (its own step did not lower its loss: the rate
 * is too large for it, or its loss is noise) has no unit of its own: its column is scaled by the
 * median own gain of the other tasks instead, so the rest of the matrix keeps its meaning. (It
 * used to switch the whole matrix to 'max', where one outlier pair could push every other weight
 * to ~0: a School split lost its whole learned graph that way.)
 */
export function scaleLookahead(
  mean: number[][],
  scale: 'self' | 'max',
  ids: readonly string[],
): { matrix: number[][]; notes: string[] } {
  const T = mean.length;
  const clip = (v: number) => Math.max(-1, Math.min(1, v));
  if (scale === 'self') {
    const selfGain = mean.map((row, j) => row[j]!);
    const good = selfGain.filter((g) => Number.isFinite(g) && g > 0).sort((a, b) => a - b);
    const bad = selfGain
      .map((g, j) => (Number.isFinite(g) && g > 0 ? -1 : j))
      .filter((j) => j >= 0);
    const notes = [
      "lookahead: weights are Z(i->j) / Z(j->j) clipped to [-1, 1] (each task's own lookahead gain is the unit), averaged over both directions.",
    ];
    if (bad.length > 0 && good.length === 0) {
      const scaled = scaleLookahead(mean, 'max', ids);
      return {
        matrix: scaled.matrix,
        notes: [
          `lookahead: no task's own step lowered its loss on average, so the weights are scaled by the largest |Z| (lower lookaheadRate to avoid this).`,
          ...scaled.notes,
        ],
      };
    }
    const median =
      good.length % 2
        ? good[good.length >> 1]!
        : (good[good.length / 2 - 1]! + good[good.length / 2]!) / 2;
    const unit = selfGain.map((g) => (Number.isFinite(g) && g > 0 ? g : median));
    if (bad.length > 0) {
      const named = bad
        .slice(0, 5)
        .map((j) => ids[j])
        .join(', ');
      notes.push(
        `lookahead: a step on its own gradient did not lower the loss of ${named}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''} on average; their weights use the median own gain of the other tasks (${median.toPrecision(3)}) as the unit (a lower lookaheadRate may avoid this).`,
      );
    }
    const matrix = mean.map((row, i) =>
      row.map((z, j) => (i === j ? 1 : Number.isFinite(z) ? clip(z / unit[j]!) : NaN)),
    );
    return { matrix, notes };
  }
  let largest = 0;
  for (let i = 0; i < T; i++)
    for (let j = 0; j < T; j++)
      if (i !== j && Number.isFinite(mean[i]![j]!))
        largest = Math.max(largest, Math.abs(mean[i]![j]!));
  const matrix = mean.map((row) =>
    row.map((z) => (Number.isFinite(z) ? (largest > 0 ? clip(z / largest) : 0) : NaN)),
  );
  return {
    matrix,
    notes: [
      `lookahead: weights are Z(i->j) divided by the largest |Z| between two tasks (${largest.toPrecision(3)}), averaged over both directions.`,
    ],
  };
}

/**
 * Lookahead affinity (task affinity grouping, Fifty et al. 2021). A model with shared parameters
 * (by default a `hard` plan) trains jointly; at each measured step and for each task i, one SGD
 * step on the shared parameters only, along task i's loss gradient, then every task j's loss on
 * the same batch, then the parameters are restored: `Z(i->j) = 1 - L_j(after) / L_j(before)`,
 * averaged over the measured steps and scaled into [-1, 1] (see `scaleLookahead`).
 *
 * Cost of a measured step with T tasks: T gradient passes (forward + backward) for the per-task
 * gradients, 1 + T forward passes (the losses before, and after each lookahead step; each pass
 * gives all T losses, so T² loss evaluations) and the ordinary joint step. With a backward pass
 * about twice a forward, that is at most `1 + (4T + 1) / 3` training steps by arithmetic; measured
 * on the wasm backend with small dense models (fixed per-op costs weigh more in a training step),
 * about T/2: 4.6-4.8x for 9 tasks, 5.8-8.8x for 12, 12-13x for 24. Unmeasured (warm-up) steps
 * cost one training step. The defaults (50 steps, 40 measured) take about 1-2 s for 9-12 tasks.
 */
export async function lookahead(input: AffinityInput): Promise<AffinityMeasurement> {
  const { options, spec } = input;
  const loop = await measureWhileTraining(
    input,
    'lookahead',
    lookaheadProbe(options.lookaheadRate),
  );
  const ids = spec.tasks.map((t) => t.id);
  const { matrix, notes } = scaleLookahead(loop.mean, options.scale, ids);
  return {
    matrix,
    raw: loop.mean,
    steps: loop.steps,
    trainingSteps: loop.trainingSteps,
    notes: [
      `lookahead: Z(i->j) = 1 - L_j(after an SGD step of rate ${options.lookaheadRate} on task i's gradient) / L_j(before), on the ${loop.sharedParams} shared parameters of ${loop.sharedBlocks.join(', ')}, averaged over ${loop.steps} measured step(s) of ${loop.trainingSteps} (warm-up ${options.warmup}, batch ${options.batchSize}).`,
      ...notes,
    ],
  };
}

registerAffinityMethod({
  name: 'lookahead',
  summary:
    "how a step on one task's gradient changes the other tasks' losses (task affinity grouping)",
  optionKeys: [...TRAINING_KEYS, 'lookaheadRate', 'scale'],
  measure: lookahead,
});

export { TRAINING_KEYS };
