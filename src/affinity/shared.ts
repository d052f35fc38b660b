import type * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../build/types.js';
import type { Plan } from '../plan/types.js';

/** The blocks of a plan that serve two tasks or more: a shared trunk, group blocks, experts. */
export function sharedBlocks(plan: Plan): string[] {
  return plan.blocks.filter((b) => b.tasks.length >= 2).map((b) => b.id);
}

/**
 * The trainable variables of the shared blocks (dense kernels and biases, batch-norm scales),
 * found through `model.layerNames`: the parameters every task's gradient reaches.
 */
export function sharedVariables(model: MtgraphModel): tf.Variable[] {
  const out: tf.Variable[] = [];
  const seen = new Set<tf.Variable>();
  for (const id of sharedBlocks(model.plan)) {
    for (const step of model.layerNames.blocks.get(id) ?? []) {
      for (const name of [step.dense, step.batchNorm]) {
        if (name === undefined) continue;
        for (const w of model.model.getLayer(name).trainableWeights) {
          const v = w.read() as tf.Variable;
          if (!seen.has(v)) {
            seen.add(v);
            out.push(v);
          }
        }
      }
    }
  }
  return out;
}
