import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../seed.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface SeededDropoutArgs extends LayerArgs {
  /** Fraction of the inputs set to 0 in training, in [0, 1). Required. */
  rate: number;
  /** Seed of the layer's mask stream (default 0); `reseed` restarts the stream from another. */
  seed?: number;
}

/**
 * Dropout whose masks are reproducible: mask k of the layer is drawn from seed
 * `deriveSeed(stream, k)`, where the stream starts from the layer's seed and is restarted by
 * `reseed` (fit does so at every epoch from its seed, the epoch and the layer's name, so a seeded
 * run, and a resumed one, draw the same masks). tfjs's Dropout layer either draws unseeded masks
 * or, given a seed, the same mask at every step. Inference (training false) passes inputs through.
 * Inputs are scaled by 1 / (1 - rate) in training, as tfjs's Dropout does.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'MtgraphDropout';
  readonly rate: number;
  readonly seed: number;
  private stream: number;
  private drawn = 0;

  constructor(args: SeededDropoutArgs) {
    super(args);
    if (typeof args.rate !== 'number' || !(args.rate >= 0 && args.rate < 1)) {
      throw new Error(
        `SeededDropout: rate must be a number in [0, 1) (got ${JSON.stringify(args.rate)}).`,
      );
    }
    const seed = args.seed ?? 0;
    if (!Number.isInteger(seed))
      throw new Error(`SeededDropout: seed must be a whole number (got ${JSON.stringify(seed)}).`);
    this.rate = args.rate;
    this.seed = seed;
    this.stream = seed;
    this.supportsMasking = true;
  }

  /** Restarts the mask stream: the next masks are those of stream `seed`, from its first. */
  reseed(seed: number): void {
    this.stream = seed;
    this.drawn = 0;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (!kwargs.training || this.rate === 0) return tf.clone(x);
      return tf.dropout(x, this.rate, undefined, deriveSeed(this.stream, String(this.drawn++)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(SeededDropout);

/**
 * Restarts the mask stream of every SeededDropout layer of `model` from (seed, epoch, layer name):
 * what fit calls at the start of each epoch.
 */
export function reseedDropout(model: tf.LayersModel, seed: number, epoch: number): void {
  for (const layer of model.layers) {
    if (layer instanceof SeededDropout)
      layer.reseed(deriveSeed(seed, `${epoch}\u0000${layer.name}`));
  }
}
