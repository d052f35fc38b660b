import { createRegistry } from '../registry.js';
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
  /**
   * The loss's settings, given as a task's `lossOptions` (e.g. focal's `{ gamma, alpha }`), with
   * their defaults; a loss without settings leaves it out and refuses any.
   */
  readonly defaults?: Readonly<Record<string, number>>;
  /** Checks one setting; returns what is wrong with the value, or undefined when it is fine. */
  check?(name: string, value: number): string | undefined;
  /**
   * `yTrue` holds the label columns (class indexes for sparse losses), `yPred` the head's outputs;
   * `options` the settings with the defaults filled in.
   */
  compute(
    yTrue: tf.Tensor2D,
    yPred: tf.Tensor2D,
    options?: Readonly<Record<string, number>>,
  ): tf.Tensor2D;
}

const losses = createRegistry<LossFunction>((l) => l.name);

/** Registers a loss under its name (a later registration replaces an earlier one). */
export function registerLoss(loss: LossFunction): LossFunction {
  return losses.register(loss);
}

export function getLoss(name: string): LossFunction | undefined {
  return losses.get(name);
}

export function lossNames(): string[] {
  return losses.names();
}

/**
 * `loss + 0 * output`: the value and the gradient are unchanged, but a NaN output makes the
 * loss NaN on every backend (wasm's clip maps NaN to a bound, which would hide a broken head).
 */
export function keepNaN(loss: tf.Tensor, output: tf.Tensor): tf.Tensor {
  return tf.add(loss, tf.mul(output, 0));
}
