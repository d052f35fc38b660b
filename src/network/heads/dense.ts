import * as tf from '@tensorflow/tfjs';
import { ScaledDense } from '../layers/scaled-dense.js';
import { registerHead } from './registry.js';

/**
 * The standard head: Dense(units) with the plan's activation (linear, sigmoid or softmax); a
 * ScaledDense when the plan gives the regression targets a scale (`mean + std * output`).
 */
export const denseHead = registerHead({
  kinds: ['regression', 'binary', 'multiclass', 'multilabel'],
  layerClasses: (head) => [head.scale ? 'MtgraphScaledDense' : 'Dense'],
  fusable: true,
  build(input, head, task, ctx) {
    const name = ctx.names.heads.get(task.id)!;
    const args = {
      units: head.units,
      activation: head.activation,
      kernelInitializer: ctx.kernelInitializer(name),
      name,
    };
    const layer = ctx.track(
      head.scale
        ? new ScaledDense({ ...args, mean: head.scale.mean, std: head.scale.std })
        : tf.layers.dense(args),
    );
    return layer.apply(input) as tf.SymbolicTensor;
  },
});
