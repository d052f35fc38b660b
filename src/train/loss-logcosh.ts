import * as tf from '@tensorflow/tfjs';
import { registerLoss } from './loss-registry.js';

/**
 * log(cosh(e)) of the error e = prediction - label, computed as `e + softplus(-2e) - log 2` (no
 * overflow for large errors): about e²/2 for small errors and |e| - log 2 for large ones, so it
 * behaves like the mean squared error near the target and like the absolute error far from it.
 */
registerLoss({
  name: 'logcosh',
  summary: 'log-cosh of the error (squared near 0, absolute far away)',
  elementwise: true,
  compute: (yTrue, yPred) => {
    const e = tf.sub(yPred, yTrue);
    return tf.sub(tf.add(e, tf.softplus(tf.mul(e, -2))), Math.LN2) as tf.Tensor2D;
  },
});
