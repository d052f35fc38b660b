import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import type { FeatureInput } from '../data/types.js';
import { prepareFeatures } from '../data/prepare.js';
import { forward, INFERENCE_CHUNK } from './forward.js';
import { checkModel } from './model-check.js';

const SCOPE = 'mtgraph/predict';

export interface PredictOptions {
  /** Rows per forward pass (default 8192). */
  batchSize?: number;
}

/**
 * Each task's outputs for the rows of x (inference mode): `{ [task]: tf.Tensor2D [rows, outputs] }`
 * (probabilities for binary, multiclass and multilabel tasks). The caller disposes them.
 * x is validated first (width, finite values).
 */
export function predict(
  model: MtgraphModel,
  x: FeatureInput,
  options: PredictOptions = {},
): Record<string, tf.Tensor2D> {
  checkModel(model, SCOPE);
  const features = prepareFeatures(model.plan, x, { scope: SCOPE });
  const chunk = options.batchSize ?? INFERENCE_CHUNK;
  const all = tf.tensor2d(features.values, [features.rows, features.features], 'float32');
  try {
    const parts: tf.Tensor[][] = model.plan.tasks.map(() => []);
    for (let start = 0; start < features.rows; start += chunk) {
      const size = Math.min(chunk, features.rows - start);
      const outputs = tf.tidy(() => {
        const xb = size === features.rows ? all : tf.slice(all, [start, 0], [size, -1]);
        const out = forward(model, xb, false);
        return model.plan.tasks.map((t) => out[model.outputIndex.get(t.id)!]!);
      });
      outputs.forEach((o, i) => parts[i]!.push(o));
    }
    const result: Record<string, tf.Tensor2D> = {};
    model.plan.tasks.forEach((t, i) => {
      const p = parts[i]!;
      result[t.id] = (p.length === 1 ? p[0]! : tf.concat(p, 0)) as tf.Tensor2D;
      if (p.length > 1) tf.dispose(p);
    });
    return result;
  } finally {
    all.dispose();
  }
}
