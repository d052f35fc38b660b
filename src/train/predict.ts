import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import type { FeatureInput } from '../data/types.js';
import { prepareFeatures } from '../data/prepare.js';
import { forward, INFERENCE_CHUNK } from './forward.js';
import { checkModel } from './model-check.js';
import { OptionsError, show } from '../errors.js';
import type { PlanTask } from '../plan/types.js';

const SCOPE = 'mtgraph/predict';

export interface PredictOptions {
  /** Rows per forward pass (default 8192). */
  batchSize?: number;
  /**
   * 'tensors' (default): `{ [task]: tf.Tensor2D }`, which the caller disposes. 'arrays': plain
   * arrays, `{ [task]: { values, classes } }` (see PredictedArrays), no tensor to dispose.
   */
  as?: 'tensors' | 'arrays';
}

/** One task's predictions as plain arrays. */
export interface PredictedArrays {
  /** rows × outputs: probabilities (binary, multiclass, multilabel) or values (regression). */
  values: number[][];
  /**
   * The decided classes: the class index per row for multiclass (the first highest
   * probability), 0/1 per row for binary and 0/1 per label for multilabel (probability >= 0.5);
   * absent for regression.
   */
  classes?: number[] | number[][];
}

/** Rows × width arrays of a flat row-major buffer. */
function rowsOf(flat: ArrayLike<number>, width: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < flat.length; i += width)
    out.push(Array.from({ length: width }, (_, j) => flat[i + j]!));
  return out;
}

/** A task's outputs as PredictedArrays (the kind decides the classes). */
export function toArrays(task: PlanTask, flat: ArrayLike<number>): PredictedArrays {
  const values = rowsOf(flat, task.outputs);
  switch (task.kind) {
    case 'multiclass':
      return { values, classes: values.map((r) => r.indexOf(Math.max(...r))) };
    case 'binary':
      return { values, classes: values.map((r) => (r[0]! >= 0.5 ? 1 : 0)) };
    case 'multilabel':
      return { values, classes: values.map((r) => r.map((p) => (p >= 0.5 ? 1 : 0))) };
    default:
      return { values };
  }
}

/**
 * Each task's outputs for the rows of x (inference mode): `{ [task]: tf.Tensor2D [rows, outputs] }`
 * (probabilities for binary, multiclass and multilabel tasks). The caller disposes them.
 * x is validated first (width, finite values).
 */
export function predict(
  model: MtgraphModel,
  x: FeatureInput,
  options: PredictOptions & { as: 'arrays' },
): Record<string, PredictedArrays>;
export function predict(
  model: MtgraphModel,
  x: FeatureInput,
  options?: PredictOptions & { as?: 'tensors' },
): Record<string, tf.Tensor2D>;
export function predict(
  model: MtgraphModel,
  x: FeatureInput,
  options?: PredictOptions,
): Record<string, tf.Tensor2D> | Record<string, PredictedArrays>;
export function predict(
  model: MtgraphModel,
  x: FeatureInput,
  options: PredictOptions = {},
): Record<string, tf.Tensor2D> | Record<string, PredictedArrays> {
  if (options.as !== undefined && options.as !== 'tensors' && options.as !== 'arrays') {
    throw new OptionsError(
      `${SCOPE}: unknown options.as (got ${show(options.as)}; expected 'tensors' or 'arrays') → at options.as. Use 'arrays' for plain arrays.`,
      { path: 'options.as', got: options.as },
    );
  }
  if (options.as === 'arrays') {
    const tensors = predict(model, x, { ...options, as: 'tensors' });
    try {
      return Object.fromEntries(
        model.plan.tasks.map((t) => [t.id, toArrays(t, tensors[t.id]!.dataSync())]),
      );
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }
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
