import * as tf from '@tensorflow/tfjs';
import { EPSILON, keepNaN, registerLoss } from './loss-registry.js';
import './loss-focal.js';
import './loss-logcosh.js';

export * from './loss-registry.js';

/** Huber's threshold between the quadratic and the linear part. */
export const HUBER_DELTA = 1;

registerLoss({
  name: 'mse',
  summary: 'mean squared error',
  elementwise: true,
  compute: (yTrue, yPred) => tf.squaredDifference(yPred, yTrue) as tf.Tensor2D,
});

registerLoss({
  name: 'mae',
  summary: 'mean absolute error',
  elementwise: true,
  compute: (yTrue, yPred) => tf.abs(tf.sub(yPred, yTrue)) as tf.Tensor2D,
});

registerLoss({
  name: 'huber',
  summary: `Huber loss (quadratic below ${HUBER_DELTA}, linear above)`,
  elementwise: true,
  compute: (yTrue, yPred) => {
    const error = tf.abs(tf.sub(yPred, yTrue));
    const quadratic = tf.minimum(error, HUBER_DELTA);
    return tf.add(
      tf.mul(0.5, tf.square(quadratic)),
      tf.mul(HUBER_DELTA, tf.sub(error, quadratic)),
    ) as tf.Tensor2D;
  },
});

registerLoss({
  name: 'binary-crossentropy',
  summary: 'binary cross-entropy on sigmoid outputs (per label for multilabel tasks)',
  elementwise: true,
  compute: (yTrue, yPred) => {
    const p = tf.clipByValue(yPred, EPSILON, 1 - EPSILON);
    // -(y log p + (1 - y) log(1 - p)), plus 0 * yPred so that a NaN output stays NaN after the clip
    const loss = tf.neg(
      tf.add(tf.mul(yTrue, tf.log(p)), tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, p)))),
    );
    return keepNaN(loss, yPred) as tf.Tensor2D;
  },
});

registerLoss({
  name: 'crossentropy',
  summary: 'categorical cross-entropy of softmax outputs from integer class labels',
  elementwise: false,
  compute: (yTrue, yPred) => {
    const classes = yPred.shape[1];
    const oneHot = tf.oneHot(tf.cast(tf.reshape(yTrue, [-1]), 'int32'), classes);
    const picked = tf.sum(tf.mul(yPred, oneHot), 1, true);
    return keepNaN(
      tf.neg(tf.log(tf.clipByValue(picked, EPSILON, 1))),
      tf.sum(yPred, 1, true),
    ) as tf.Tensor2D;
  },
});
