import * as tf from '@tensorflow/tfjs';
import type { HeadPlan } from '../../plan/types.js';

type DenseArgs = Parameters<typeof tf.layers.dense>[0];
/** tfjs-layers' Dense class (the package exports only its factory). */
const Dense = tf.layers.dense({ units: 1 }).constructor as new (args: DenseArgs) => tf.layers.Layer;

export interface ScaledDenseArgs extends DenseArgs {
  /** Added to each output after scaling (one value per unit). Required. */
  mean: number[];
  /** Multiplies each output (one value per unit, above 0). Required. */
  std: number[];
}

/**
 * The per-column target scale of heads laid side by side (a MultiHead, a loss group): each task's
 * `plan.heads[task].scale`, mean 0 and std 1 for the columns of unscaled heads; undefined when no
 * head is scaled.
 */
export function columnScale(
  heads: Readonly<Record<string, HeadPlan>>,
  tasks: readonly string[],
): { mean: number[]; std: number[] } | undefined {
  if (!tasks.some((t) => heads[t]?.scale)) return undefined;
  const column = (what: 'mean' | 'std', none: number) =>
    tasks.flatMap(
      (t) => heads[t]!.scale?.[what] ?? Array.from({ length: heads[t]!.units }, () => none),
    );
  return { mean: column('mean', 0), std: column('std', 1) };
}

/** Checks a target scale against `units` outputs; returns [mean, std]. */
export function checkScale(
  where: string,
  units: number,
  mean: unknown,
  std: unknown,
): [number[], number[]] {
  const ok = (v: unknown, positive: boolean): v is number[] =>
    Array.isArray(v) &&
    v.length === units &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!ok(mean, false) || !ok(std, true)) {
    throw new Error(
      `${where}: mean and std must be lists of ${units} finite numbers, std above 0 (got ${JSON.stringify({ mean, std })?.slice(0, 120)}).`,
    );
  }
  return [[...mean], [...std]];
}

/**
 * A Dense head whose outputs are `mean + std * (x W + b)`: a regression head trained on
 * standardised targets that predicts in the targets' own units (see HeadPlan.scale). The
 * kernel and bias are those of a Dense layer; mean and std are fixed (part of the config).
 */
export class ScaledDense extends Dense {
  static readonly className = 'MtgraphScaledDense';
  readonly mean: number[];
  readonly std: number[];

  constructor(args: ScaledDenseArgs) {
    super(args);
    [this.mean, this.std] = checkScale('ScaledDense', args.units, args.mean, args.std);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const z = super.call(inputs, kwargs) as tf.Tensor;
      return tf.add(tf.mul(z, tf.tensor1d(this.std)), tf.tensor1d(this.mean));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mean: [...this.mean], std: [...this.std] };
  }
}
tf.serialization.registerClass(
  ScaledDense as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
);
