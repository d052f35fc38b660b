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
      // Runs of consecutive columns as slices (joined when several): the same values as a gather
      // along the feature axis, which the wasm backend does element by element (about 3x slower
      // for the numeric columns around a few embedded ones).
      const parts = this.runs.map(([begin, size]) => tf.slice(x, [0, begin], [-1, size]));
      return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
    });
  }

  /** The columns as runs [first column, count] of consecutive ones, in order. */
  private get runs(): Array<[number, number]> {
    if (!this.cachedRuns) {
      const runs: Array<[number, number]> = [];
      for (const c of this.columns) {
        const last = runs.at(-1);
        if (last && last[0] + last[1] === c) last[1]++;
        else runs.push([c, 1]);
      }
      this.cachedRuns = runs;
    }
    return this.cachedRuns;
  }
  private cachedRuns: Array<[number, number]> | undefined;

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), columns: [...this.columns] };
  }
}
tf.serialization.registerClass(Pick);
