import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** The activations a Columns layer applies, by the name a plan gives them (a head's activation). */
export const COLUMN_ACTIVATIONS: Readonly<Record<string, (x: tf.Tensor) => tf.Tensor>> = {
  linear: (x) => x,
  sigmoid: (x) => tf.sigmoid(x),
  softmax: (x) => tf.softmax(x),
};

export interface ColumnsArgs extends LayerArgs {
  /** First column taken. */
  begin: number;
  /** Number of columns taken. */
  size: number;
  /** 'linear', 'sigmoid' or 'softmax' (over the head's own columns). */
  activation: string;
}

/**
 * Columns `[begin, begin + size)` of a layer's output, activated: one head of a MultiHead (named
 * by the task), or one tower's share of a CrossStitch unit. Layers with one output per part would
 * be simpler, but tfjs runs a layer once per output when a model is applied, so the fused layers
 * have one output and these take their parts.
 */
export class Columns extends tf.layers.Layer {
  static readonly className = 'MtgraphColumns';
  readonly begin: number;
  readonly size: number;
  readonly activation: string;

  constructor(args: ColumnsArgs) {
    super(args);
    if (
      !Number.isInteger(args.begin) ||
      args.begin < 0 ||
      !Number.isInteger(args.size) ||
      args.size < 1
    ) {
      throw new Error(
        `Columns: begin must be a whole number >= 0 and size one >= 1 (got ${JSON.stringify([args.begin, args.size])}).`,
      );
    }
    if (!Object.hasOwn(COLUMN_ACTIVATIONS, args.activation)) {
      throw new Error(
        `Columns: unknown activation ${JSON.stringify(args.activation)} (expected one of ${Object.keys(COLUMN_ACTIVATIONS).join(', ')}).`,
      );
    }
    this.begin = args.begin;
    this.size = args.size;
    this.activation = args.activation;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, -1), this.size];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
      const columns =
        this.begin === 0 && this.size === x.shape[1]
          ? x
          : tf.slice(x, [0, this.begin], [-1, this.size]);
      return COLUMN_ACTIVATIONS[this.activation]!(columns);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      begin: this.begin,
      size: this.size,
      activation: this.activation,
    };
  }
}
tf.serialization.registerClass(Columns);
