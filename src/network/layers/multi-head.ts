import * as tf from '@tensorflow/tfjs';
import { checkScale } from './scaled-dense.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;
type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

export interface MultiHeadArgs extends LayerArgs {
  /** Output units of each head, in order: head i's columns follow head i-1's. Required. */
  units: number[];
  /**
   * One kernel initialiser per head (its `[inputs, units[i]]` block of the kernel), so that a
   * fused head starts from the weights the head would have on its own. Not serialised (a loaded
   * model's weights come from its file); default glorotUniform over the whole kernel.
   */
  kernelInitializers?: Initializer[];
  /**
   * Per output column, `mean + std * column` (regression heads with a target scale; 0 and 1 for
   * the other columns). Both or neither; serialised.
   */
  mean?: number[];
  std?: number[];
}

/**
 * Several Dense heads that read the same tensor, as one layer: one kernel `[inputs, sum(units)]`
 * and one bias, one matrix product per step instead of one per head, and two variables for the
 * optimizer instead of two per head. Returns the linear outputs of all heads side by side,
 * `[batch, sum(units)]`; head `i` is columns `[offset(i), offset(i) + units[i])`, which a
 * Columns layer named by the task takes and activates. One output, not one per head: tfjs
 * runs a layer once per output it has when a model is applied.
 */
export class MultiHead extends tf.layers.Layer {
  static readonly className = 'MtgraphMultiHead';
  readonly units: number[];
  readonly mean: number[] | undefined;
  readonly std: number[] | undefined;
  private readonly initializers: Initializer[] | undefined;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;

  constructor(args: MultiHeadArgs) {
    super(args);
    const units = args.units;
    if (
      !Array.isArray(units) ||
      units.length === 0 ||
      !units.every((u) => Number.isInteger(u) && u > 0)
    ) {
      throw new Error(
        `MultiHead: units must be a non-empty list of positive whole numbers (got ${JSON.stringify(units)?.slice(0, 80)}).`,
      );
    }
    if (args.kernelInitializers && args.kernelInitializers.length !== units.length) {
      throw new Error(
        `MultiHead: expected ${units.length} kernel initialisers (one per head), got ${args.kernelInitializers.length}.`,
      );
    }
    this.units = [...units];
    if (args.mean !== undefined || args.std !== undefined)
      [this.mean, this.std] = checkScale(
        'MultiHead',
        units.reduce((a, b) => a + b, 0),
        args.mean,
        args.std,
      );
    this.initializers = args.kernelInitializers ? [...args.kernelInitializers] : undefined;
  }

  /** Total output columns. */
  get width(): number {
    return this.units.reduce((a, b) => a + b, 0);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inputs = shape[shape.length - 1];
    if (typeof inputs !== 'number')
      throw new Error(
        `MultiHead: the input's last dimension must be known (got ${JSON.stringify(shape)}).`,
      );
    this.kernel = this.addWeight(
      'kernel',
      [inputs, this.width],
      'float32',
      this.initializers ? tf.initializers.zeros() : tf.initializers.glorotUniform({}),
      undefined,
      true,
    );
    if (this.initializers) {
      // Column block i starts as head i's own Dense kernel would.
      const start = tf.tidy(() =>
        tf.concat(
          this.initializers!.map((init, i) => init.apply([inputs, this.units[i]!], 'float32')),
          1,
        ),
      );
      this.kernel.write(start);
      start.dispose();
    }
    this.bias = this.addWeight(
      'bias',
      [this.width],
      'float32',
      tf.initializers.zeros(),
      undefined,
      true,
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, -1), this.width];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
      const z = tf.fused.matMul({
        a: x,
        b: this.kernel!.read() as tf.Tensor2D,
        bias: this.bias!.read(),
      });
      return this.mean && this.std
        ? tf.add(tf.mul(z, tf.tensor1d(this.std)), tf.tensor1d(this.mean))
        : z;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: [...this.units],
      ...(this.mean && this.std ? { mean: [...this.mean], std: [...this.std] } : {}),
    };
  }
}
tf.serialization.registerClass(MultiHead);

/** Several Dense heads reading one tensor, fused into one product. */
export function multiHead(args: MultiHeadArgs): MultiHead {
  return new MultiHead(args);
}
