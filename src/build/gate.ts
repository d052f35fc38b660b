import * as tf from '@tensorflow/tfjs';
import type { BuildContext } from './context.js';
import type { GateNames } from './names.js';

/**
 * A mixture-of-experts gate from standard layers: `weights = Dense(n, softmax)(parent)`; the n
 * expert outputs (each of width d) are stacked to [n, d] (Reshape + Concatenate) and mixed by
 * `Dot(axes 1)`: `output = sum_e weights[e] * expert_e`.
 */
export function gateMix(parent: tf.SymbolicTensor, experts: readonly tf.SymbolicTensor[], names: GateNames, ctx: BuildContext): tf.SymbolicTensor {
  const apply = <T extends tf.SymbolicTensor | tf.SymbolicTensor[]>(l: tf.layers.Layer, x: T) => ctx.track(l).apply(x) as tf.SymbolicTensor;
  const weights = apply(tf.layers.dense({ units: experts.length, activation: 'softmax', kernelInitializer: ctx.kernelInitializer(names.weights), name: names.weights }), parent);
  const rows = experts.map((e, i) => apply(tf.layers.reshape({ targetShape: [1, e.shape[e.shape.length - 1]!], name: names.experts[i]! }), e));
  const stacked = rows.length > 1 ? apply(tf.layers.concatenate({ axis: 1, name: names.concat! }), rows) : rows[0]!;
  return apply(tf.layers.dot({ axes: 1, name: names.mix }), [weights, stacked]);
}
