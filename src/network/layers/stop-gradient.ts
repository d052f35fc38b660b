import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/**
 * The identity whose gradient is zero (TensorFlow's `tf.stop_gradient`): a task chain's reading
 * task sees the towers it reads without training them (`readsStopGradient`). No weights.
 */
export class StopGradient extends tf.layers.Layer {
  static readonly className = 'MtgraphStopGradient';

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const stop = tf.customGrad(((value: tf.Tensor) => ({
      value: tf.clone(value),
      gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    return stop(x);
  }
}
tf.serialization.registerClass(StopGradient);
