import type * as tf from '@tensorflow/tfjs';
import { DataError, show } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import type { FlatMatrix } from './types.js';

/** Who is reading the data (the error scope) and where the data sits in the call (`validationData`). */
export interface Where {
  /** e.g. `mtgraph/fit` */
  scope: string;
  /** Path prefix, '' at the top level or e.g. `validationData`. */
  prefix: string;
}

export function pathOf(where: Where, path: string): string {
  return where.prefix ? `${where.prefix}.${path}` : path;
}

/** A DataError in the house format: `<scope>: <what> → at <path>. <fix>` */
export function dataError(
  where: Where,
  path: string,
  what: string,
  fix: string,
  got?: unknown,
): DataError {
  const full = pathOf(where, path);
  return new DataError(`${where.scope}: ${what} → at ${full}. ${fix}`, { path: full, got });
}

/** True for a tfjs tensor (duck-typed, so a second copy of tfjs-core still counts). */
export function isTensor(value: unknown): value is tf.Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as tf.Tensor).dataSync === 'function' &&
    Array.isArray((value as tf.Tensor).shape) &&
    typeof (value as tf.Tensor).dtype === 'string'
  );
}

export function isTypedArray(
  value: unknown,
): value is Float32Array | Float64Array | Int32Array | Uint8Array {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

export function isFlatMatrix(value: unknown): value is FlatMatrix {
  return isPlainObject(value) && 'values' in value && 'shape' in value;
}

/** Keys of a plain object, refusing anything else. */
export function objectKeys(where: Where, value: unknown, path: string, example: string): string[] {
  if (!isPlainObject(value)) {
    throw dataError(
      where,
      path,
      `${path} must be an object keyed by task id (got ${show(value)})`,
      `Write e.g. ${example}.`,
      value,
    );
  }
  return Object.keys(value);
}

/** Formats a number for an error message. */
export function num(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return show(value);
}

/** Reads a tensor's values without creating any tensor (used to validate before conversion). */
export function tensorValues(t: tf.Tensor): ArrayLike<number> {
  if (t.isDisposed) throw new TypeError('disposed tensor');
  return t.dataSync() as ArrayLike<number>;
}
