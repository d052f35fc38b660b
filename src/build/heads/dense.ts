import * as tf from '@tensorflow/tfjs';
import { registerHead } from './registry.js';

/** The standard head: Dense(units) with the plan's activation (linear, sigmoid or softmax). */
export const denseHead = registerHead({
  kinds: ['regression', 'binary', 'multiclass', 'multilabel'],
  layerClasses: ['Dense'],
  fusable: true,
  build(input, head, task, ctx) {
    const name = ctx.names.heads.get(task.id)!;
    const layer = ctx.track(tf.layers.dense({ units: head.units, activation: head.activation, kernelInitializer: ctx.kernelInitializer(name), name }));
    return layer.apply(input) as tf.SymbolicTensor;
  },
});
