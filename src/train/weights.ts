import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';

/** Every variable of a model: its trainable variables and the layers' other weights (batch-norm statistics). */
export function modelVariables(model: MtgraphModel): tf.Variable[] {
  const seen = new Set<tf.Variable>(model.trainableVariables);
  for (const w of model.model.weights) seen.add(w.read() as tf.Variable);
  return [...seen];
}

/** A copy of the variables' current values (the copies survive later assignments). */
export function snapshot(variables: readonly tf.Variable[]): tf.Tensor[] {
  return variables.map((v) => tf.keep(tf.clone(v)));
}

/** Puts saved values back into the variables. */
export function restore(variables: readonly tf.Variable[], values: readonly tf.Tensor[]): void {
  variables.forEach((v, i) => v.assign(values[i]!));
}

/** A scalar that is finite exactly when every value of every variable is finite. */
export function finiteProbe(variables: readonly tf.Variable[]): tf.Scalar {
  return tf.tidy(() => tf.addN(variables.map((v) => tf.sum(tf.mul(v, 0)))) as tf.Scalar);
}
