import * as tf from '@tensorflow/tfjs';
import type { LayerPlan } from '../plan/types.js';
import type { BuildContext } from './context.js';
import type { StepNames } from './names.js';
import { SeededDropout } from './layers/dropout.js';
import { deriveSeed } from './seed.js';

/**
 * One planned dense layer: Dense(units, activation), then a seeded Dropout when `dropout > 0`. With
 * `batchNorm`, Dense(linear) -> BatchNormalization -> Activation -> Dropout. With `l2`, the
 * Dense kernel carries an L2 regulariser, which `fit` adds to the training loss.
 */
export function denseStep(
  input: tf.SymbolicTensor,
  layer: LayerPlan,
  names: StepNames,
  ctx: BuildContext,
): tf.SymbolicTensor {
  const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor) =>
    ctx.track(l).apply(x) as tf.SymbolicTensor;
  let x = apply(
    tf.layers.dense({
      units: layer.units,
      activation: layer.batchNorm ? 'linear' : layer.activation,
      kernelInitializer: ctx.kernelInitializer(names.dense),
      ...(layer.l2 ? { kernelRegularizer: tf.regularizers.l2({ l2: layer.l2 }) } : {}),
      name: names.dense,
    }),
    input,
  );
  if (layer.batchNorm) {
    x = apply(tf.layers.batchNormalization({ name: names.batchNorm! }), x);
    x = apply(tf.layers.activation({ activation: layer.activation, name: names.activation! }), x);
  }
  // Seeded masks, a new one at every step (see SeededDropout); fit restarts the streams each epoch.
  if (layer.dropout > 0)
    x = apply(
      new SeededDropout({
        rate: layer.dropout,
        seed: deriveSeed(ctx.seed, names.dropout!),
        name: names.dropout!,
      }),
      x,
    );
  return x;
}

/** A stack of planned dense layers on `input`. */
export function denseStack(
  input: tf.SymbolicTensor,
  layers: readonly LayerPlan[],
  names: readonly StepNames[],
  ctx: BuildContext,
): tf.SymbolicTensor {
  return layers.reduce((x, layer, i) => denseStep(x, layer, names[i]!, ctx), input);
}
