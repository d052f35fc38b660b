import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../build/types.js';

/** Rows per forward pass when predicting or evaluating (bounds the activations' memory). */
export const INFERENCE_CHUNK = 8192;

/** Runs the model on a batch; returns the outputs in model output order. */
export function forward(model: MtgraphModel, x: tf.Tensor2D, training: boolean): tf.Tensor[] {
  const out = model.model.apply(x, { training }) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/** Calls `f` on consecutive row chunks of the given tensors (each chunk inside `tf.tidy`). */
export function forChunks(rows: number, chunk: number, f: (start: number, size: number) => void): void {
  for (let start = 0; start < rows; start += chunk) {
    const size = Math.min(chunk, rows - start);
    f(start, size);
  }
}
