import * as tf from '@tensorflow/tfjs';

/** Probabilities are clipped to [EPSILON, 1 - EPSILON] before a log (as Keras does). */
export const EPSILON = 1e-7;

/**
 * A loss: the per-element loss of a batch, `[batch, labelWidth]`. The trainer multiplies it by
 * the mask and reduces it as `sum(mask * loss) / max(1, sum(mask))`, so a missing label adds
 * neither loss nor gradient.
 */
export interface LossFunction {
  readonly name: string;
  readonly summary: string;
  /**
   * True when labels are as wide as the outputs and the loss works column by column: the
   * trainer then computes every task with this loss in one pass over concatenated outputs.
   */
  readonly elementwise: boolean;
  /** `yTrue` holds the label columns (class indexes for sparse losses), `yPred` the head's outputs. */
  compute(yTrue: tf.Tensor2D, yPred: tf.Tensor2D): tf.Tensor2D;
}

const losses = new Map<string, LossFunction>();

/** Registers a loss under its name (a later registration replaces an earlier one). */
export function registerLoss(loss: LossFunction): LossFunction {
  losses.set(loss.name, loss);
  return loss;
}

export function getLoss(name: string): LossFunction | undefined {
  return losses.get(name);
}

export function lossNames(): string[] {
  return [...losses.keys()];
}

/**
 * `loss + 0 * output`: the value and the gradient are unchanged, but a NaN output makes the
 * loss NaN on every backend (wasm's clip maps NaN to a bound, which would hide a broken head).
 */
function keepNaN(loss: tf.Tensor, output: tf.Tensor): tf.Tensor {
  return tf.add(loss, tf.mul(output, 0));
}

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
