import * as tf from '@tensorflow/tfjs';
import { measureWhileTraining, type Probe } from './measure-loop.js';
import {
  registerAffinityMethod,
  type AffinityInput,
  type AffinityMeasurement,
} from './registry.js';
import { TRAINING_KEYS } from './lookahead.js';

/** Cosine similarity of every pair of per-task gradients on the shared parameters (0/0 = NaN for a task without labels in the batch). */
const cosineProbe: Probe = ({ shared, grads }) => {
  const size = shared.reduce((s, v) => s + v.size, 0);
  const G = tf.stack(
    grads.map((g) => (g ? tf.concat(g.map((t) => tf.reshape(t, [-1]))) : tf.zeros([size]))),
  ) as tf.Tensor2D;
  const norms = tf.norm(G, 'euclidean', 1) as tf.Tensor1D;
  return tf.div(tf.matMul(G, G, false, true), tf.outerProduct(norms, norms)) as tf.Tensor2D;
};

/**
 * Gradient cosine: a model with shared parameters (by default a `hard` plan) trains jointly; at
 * each measured step the cosine similarity of every two tasks' loss gradients on the shared
 * parameters, averaged over the measured steps (already in [-1, 1]: 1 = the tasks pull the
 * shared parameters the same way, -1 = opposite ways).
 *
 * Cost of a measured step with T tasks: T gradient passes (forward + backward), one forward for
 * the losses and the joint step: at most `1 + (3T + 1) / 3` training steps by arithmetic;
 * measured on the wasm backend with small dense models: 5-6x for 9 tasks, 5.6-6.8x for 12,
 * 7.5-11x for 24.
 */
export async function gradientCosine(input: AffinityInput): Promise<AffinityMeasurement> {
  const { options } = input;
  const loop = await measureWhileTraining(input, 'gradient-cosine', cosineProbe);
  const matrix = loop.mean.map((row, i) =>
    row.map((v, j) => (i === j ? 1 : Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : NaN)),
  );
  return {
    matrix,
    raw: loop.mean,
    steps: loop.steps,
    trainingSteps: loop.trainingSteps,
    notes: [
      `gradient-cosine: cosine of the per-task gradients on the ${loop.sharedParams} shared parameters of ${loop.sharedBlocks.join(', ')}, averaged over ${loop.steps} measured step(s) of ${loop.trainingSteps} (warm-up ${options.warmup}, batch ${options.batchSize}).`,
    ],
  };
}

registerAffinityMethod({
  name: 'gradient-cosine',
  summary: 'cosine similarity of the per-task gradients on the shared parameters',
  optionKeys: TRAINING_KEYS,
  measure: gradientCosine,
});
