import * as tf from '@tensorflow/tfjs';
import { EPSILON, keepNaN, registerLoss } from './loss-registry.js';

/** Focal loss's defaults (Lin et al. 2017, as Keras's BinaryFocalCrossentropy with balancing). */
export const FOCAL_DEFAULTS = Object.freeze({ gamma: 2, alpha: 0.25 });

/**
 * Focal loss for sigmoid outputs (binary tasks and each label of a multilabel task):
 * `-alpha_t (1 - p_t)^gamma log(p_t)` with `p_t = p` and `alpha_t = alpha` for a positive label,
 * `p_t = 1 - p` and `alpha_t = 1 - alpha` for a negative one. `gamma = 0, alpha = 0.5` is half the
 * binary cross-entropy. Settings: `lossOptions: { gamma, alpha }` on the task.
 */
registerLoss({
  name: 'focal',
  summary: `focal loss on sigmoid outputs (gamma ${FOCAL_DEFAULTS.gamma}, alpha ${FOCAL_DEFAULTS.alpha} by default)`,
  elementwise: true,
  defaults: FOCAL_DEFAULTS,
  check: (name, value) => {
    if (name === 'gamma' && !(value >= 0)) return 'gamma must be >= 0 (0 is the cross-entropy)';
    if (name === 'alpha' && !(value >= 0 && value <= 1)) return 'alpha must be in [0, 1]';
    return undefined;
  },
  compute: (yTrue, yPred, options) => {
    const gamma = options?.gamma ?? FOCAL_DEFAULTS.gamma;
    const alpha = options?.alpha ?? FOCAL_DEFAULTS.alpha;
    const p = tf.clipByValue(yPred, EPSILON, 1 - EPSILON);
    // p_t and alpha_t: y * a + (1 - y) * b, labels being 0 or 1.
    const pt = tf.add(tf.mul(yTrue, p), tf.mul(tf.sub(1, yTrue), tf.sub(1, p)));
    const at = tf.add(tf.mul(yTrue, alpha), tf.mul(tf.sub(1, yTrue), 1 - alpha));
    const modulation = gamma === 0 ? tf.onesLike(pt) : tf.pow(tf.sub(1, pt), gamma);
    const loss = tf.neg(tf.mul(tf.mul(at, modulation), tf.log(pt)));
    return keepNaN(loss, yPred) as tf.Tensor2D;
  },
});
