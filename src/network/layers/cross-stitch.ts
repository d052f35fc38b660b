import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;

export interface CrossStitchArgs extends LayerArgs {
  /** Initial mixing matrix, k x k for k inputs: `out_i = sum_j alpha[i][j] * in_j`. Required. */
  alpha: number[][];
}

/**
 * A cross-stitch unit (Misra et al. 2016): takes the outputs of k towers (all of one width u) and
 * returns k mixtures of them, `out_i = sum_j alpha[i][j] * in_j`, with `alpha` a trainable k x k
 * matrix starting at `args.alpha`. The mixtures come side by side in one output `[batch, k * u]`
 * (tower i's is columns `[i * u, (i + 1) * u)`, taken by a Columns layer): tfjs runs a layer once
 * per output when a model is applied, so k outputs would cost k runs of the unit.
 */
export class CrossStitch extends tf.layers.Layer {
  static readonly className = 'CrossStitch';
  private readonly initialAlpha: number[][];
  private alpha: LayerVariable | null = null;

  constructor(args: CrossStitchArgs) {
    super(args);
    const alpha = args.alpha;
    const k = Array.isArray(alpha) ? alpha.length : 0;
    if (
      k === 0 ||
      !alpha.every(
        (row) => Array.isArray(row) && row.length === k && row.every((x) => Number.isFinite(x)),
      )
    ) {
      throw new Error(
        `CrossStitch: alpha must be a non-empty square matrix of finite numbers (got ${JSON.stringify(alpha)?.slice(0, 80)}).`,
      );
    }
    this.initialAlpha = alpha.map((row) => [...row]);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as tf.Shape[];
    const k = this.initialAlpha.length;
    if (shapes.length !== k)
      throw new Error(
        `CrossStitch: expected ${k} inputs (one per row of alpha), got ${shapes.length}.`,
      );
    if (shapes.some((s) => s.length !== 2))
      throw new Error(
        `CrossStitch: every input must be a matrix [batch, units] (got ${shapes.map((s) => JSON.stringify(s)).join(', ')}).`,
      );
    const width = JSON.stringify(shapes[0]!.slice(1));
    if (shapes.some((s) => JSON.stringify(s.slice(1)) !== width)) {
      throw new Error(
        `CrossStitch: every input must have the same shape (got ${shapes.map((s) => JSON.stringify(s)).join(', ')}).`,
      );
    }
    this.alpha = this.addWeight(
      'alpha',
      [k, k],
      'float32',
      tf.initializers.zeros(),
      undefined,
      true,
    );
    const start = tf.tensor2d(this.initialAlpha, [k, k], 'float32');
    this.alpha.write(start);
    start.dispose();
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as tf.Shape[];
    const [batch, units] = shapes[0]!;
    return [batch!, (units as number) * shapes.length];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const xs = (Array.isArray(inputs) ? inputs : [inputs]) as tf.Tensor2D[];
      const k = xs.length;
      const [batch, units] = xs[0]!.shape;
      const stacked = tf.reshape(tf.stack(xs, 0), [k, -1]);
      const mixed = tf.reshape(tf.matMul(this.alpha!.read(), stacked), [k, batch, units]);
      return tf.reshape(tf.transpose(mixed, [1, 0, 2]), [batch, k * units]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.initialAlpha.map((row) => [...row]) };
  }
}
tf.serialization.registerClass(CrossStitch);

/** A cross-stitch unit over k inputs, starting at `args.alpha`. */
export function crossStitch(args: CrossStitchArgs): CrossStitch {
  return new CrossStitch(args);
}
