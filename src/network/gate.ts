import * as tf from '@tensorflow/tfjs';
import type { BuildContext } from './context.js';
import type { GateNames } from './names.js';
import { GateMix } from './layers/gate-mix.js';

/** The n expert outputs (each of width d) stacked to [n, d]: one Reshape each, then a Concatenate. */
export function stackExperts(
  experts: readonly tf.SymbolicTensor[],
  names: GateNames,
  ctx: BuildContext,
): tf.SymbolicTensor {
  const apply = <T extends tf.SymbolicTensor | tf.SymbolicTensor[]>(l: tf.layers.Layer, x: T) =>
    ctx.track(l).apply(x) as tf.SymbolicTensor;
  const rows = experts.map((e, i) =>
    apply(
      tf.layers.reshape({
        targetShape: [1, e.shape[e.shape.length - 1]!],
        name: names.experts[i]!,
      }),
      e,
    ),
  );
  return rows.length > 1
    ? apply(tf.layers.concatenate({ axis: 1, name: names.concat! }), rows)
    : rows[0]!;
}

/**
 * A mixture-of-experts gate: `weights = Dense(n, softmax)(parent)`, mixing the stacked experts
 * (`stackExperts`, shared by gates over the same experts): `output = sum_e weights[e] * expert_e`,
 * by a GateMix layer (what Keras's `Dot(axes 1)` computes, element-wise; models saved before it
 * keep their Dot layers).
 */
export function gateMix(
  parent: tf.SymbolicTensor,
  stacked: tf.SymbolicTensor,
  count: number,
  names: GateNames,
  ctx: BuildContext,
): tf.SymbolicTensor {
  const apply = <T extends tf.SymbolicTensor | tf.SymbolicTensor[]>(l: tf.layers.Layer, x: T) =>
    ctx.track(l).apply(x) as tf.SymbolicTensor;
  const weights = apply(
    tf.layers.dense({
      units: count,
      activation: 'softmax',
      kernelInitializer: ctx.kernelInitializer(names.weights),
      name: names.weights,
    }),
    parent,
  );
  return apply(new GateMix({ name: names.mix }), [weights, stacked]);
}
