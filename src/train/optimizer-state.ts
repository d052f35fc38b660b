import * as tf from '@tensorflow/tfjs';
import { isPlainObject } from '../schema/common.js';

/**
 * The whole state of a tfjs optimizer, for checkpoints: `getWeights()` (the iteration count, then
 * the slot variables such as Adam's moments, in the order the optimizer first saw the gradients)
 * and the scalar variables it keeps outside them (Adam's running `beta^t` products), so that a
 * restored optimizer takes exactly the steps the original would have.
 *
 * Slots are restored by position, not by variable name: tfjs gives a second model built in the
 * same process suffixed variable names, but the same variables in the same order.
 */
export interface OptimizerSnapshot {
  /** `getWeights()` in order; the first is the iteration count. */
  weights: Array<{ name: string; tensor: tf.Tensor }>;
  /** Scalar variables kept outside `getWeights()`, by property name. */
  scalars: Record<string, number>;
  /** Frees the tensors made for the snapshot (the slot variables stay the optimizer's). */
  dispose(): void;
}

/** Own scalar variables of an optimizer that `getWeights` does not return (Adam's accBeta1 / accBeta2). */
function scalarVariables(
  optimizer: tf.Optimizer,
  listed: ReadonlySet<tf.Tensor>,
): Array<[string, tf.Variable]> {
  return Object.entries(optimizer as unknown as Record<string, unknown>)
    .filter(
      (entry): entry is [string, tf.Variable] =>
        entry[1] instanceof tf.Variable && entry[1].size === 1 && !listed.has(entry[1]),
    )
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function captureOptimizer(optimizer: tf.Optimizer): Promise<OptimizerSnapshot> {
  const weights = await optimizer.getWeights();
  const listed = new Set(weights.map((w) => w.tensor));
  const scalars = Object.fromEntries(
    scalarVariables(optimizer, listed).map(([key, v]) => [key, v.dataSync()[0]!]),
  );
  const made = weights.map((w) => w.tensor).filter((t) => !(t instanceof tf.Variable));
  return { weights, scalars, dispose: () => tf.dispose(made) };
}

/**
 * Restores a snapshot into a fresh optimizer of the same kind (one that has taken no step).
 * `values` are the tensors of `getWeights()` in order (the caller keeps and disposes them).
 */
export async function restoreOptimizer(
  optimizer: tf.Optimizer,
  values: readonly tf.Tensor[],
  scalars: Readonly<Record<string, number>>,
): Promise<void> {
  await optimizer.setWeights(
    values.map((tensor, i) => ({ name: i === 0 ? 'iter' : `slot/${i}`, tensor })),
  );
  const own = new Map(scalarVariables(optimizer, new Set()));
  for (const [key, value] of Object.entries(scalars)) {
    const v = own.get(key);
    if (!v) throw new Error(`the optimizer has no scalar state "${key}"`);
    tf.tidy(() => v.assign(tf.scalar(value, v.dtype)));
  }
}

/** A small optimizer's snapshot as JSON (a balancer's own optimizer, e.g. gradnorm's). */
export async function optimizerToJson(optimizer: tf.Optimizer): Promise<unknown> {
  const snap = await captureOptimizer(optimizer);
  try {
    return {
      weights: snap.weights.map((w) => ({
        shape: w.tensor.shape,
        dtype: w.tensor.dtype,
        values: Array.from(w.tensor.dataSync()),
      })),
      scalars: snap.scalars,
    };
  } finally {
    snap.dispose();
  }
}

/** Restores what `optimizerToJson` returned; throws when it does not fit. */
export async function optimizerFromJson(
  optimizer: tf.Optimizer,
  value: unknown,
  owner: string,
): Promise<void> {
  const bad = () =>
    new Error(`the saved state of '${owner}' does not fit: its optimizer state is malformed`);
  if (!isPlainObject(value) || !Array.isArray(value.weights) || !isPlainObject(value.scalars))
    throw bad();
  const scalars = value.scalars;
  if (!Object.values(scalars).every((v) => typeof v === 'number')) throw bad();
  const tensors = value.weights.map((w: unknown) => {
    if (
      !isPlainObject(w) ||
      !Array.isArray(w.shape) ||
      !w.shape.every((d) => Number.isInteger(d) && d >= 0) ||
      (w.dtype !== 'float32' && w.dtype !== 'int32') ||
      !Array.isArray(w.values) ||
      !w.values.every((v) => typeof v === 'number') ||
      w.values.length !== (w.shape as number[]).reduce((a, b) => a * b, 1)
    )
      throw bad();
    return w;
  });
  const made = tensors.map((w) =>
    tf.tensor(w.values as number[], w.shape as number[], w.dtype as 'float32' | 'int32'),
  );
  try {
    await restoreOptimizer(optimizer, made, scalars as Record<string, number>);
  } finally {
    tf.dispose(made);
  }
}
