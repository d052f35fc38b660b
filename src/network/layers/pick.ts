import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface PickArgs extends LayerArgs {
  /** The input columns taken, in this order (0-based). */
  columns: number[];
}

/**
 * Some columns of the model input, in a given order: a task's own `inputs`, joined to its tower's
 * input. No weights (a gather along the feature axis; the input needs no gradient).
 */
export class Pick extends tf.layers.Layer {
  static readonly className = 'MtgraphPick';
  readonly columns: number[];

  constructor(args: PickArgs) {
    super(args);
    if (
      !Array.isArray(args.columns) ||
      args.columns.length === 0 ||
      !args.columns.every((c) => Number.isInteger(c) && c >= 0)
    )
      throw new Error(
        `Pick: columns must be whole numbers >= 0 (got ${JSON.stringify(args.columns)}).`,
      );
    this.columns = [...args.columns];
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, -1), this.columns.length];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
      return tf.gather(x, tf.tensor1d(this.columns, 'int32'), 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), columns: [...this.columns] };
  }
}
tf.serialization.registerClass(Pick);
