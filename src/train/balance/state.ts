import * as tf from '@tensorflow/tfjs';
import { isPlainObject } from '../../schema/common.js';

/** Helpers for balancers' getState / setState: small JSON records checked on the way back in. */

/** A saved state did not fit the balancer (the checkpoint reader reports it as a FileError). */
export function badState(method: string, what: string): Error {
  return new Error(`the saved state of '${method}' does not fit: ${what}`);
}

/** The fields of a saved state object. */
export function stateObject(method: string, state: unknown): Record<string, unknown> {
  if (!isPlainObject(state)) throw badState(method, 'expected an object');
  return state;
}

/** A saved vector of `length` numbers (NaN allowed). */
export function numberList(method: string, value: unknown, length: number, name: string): number[] {
  if (
    !Array.isArray(value) ||
    value.length !== length ||
    !value.every((v) => typeof v === 'number')
  ) {
    throw badState(method, `${name} must be ${length} numbers`);
  }
  return value as number[];
}

/** A variable's values as a plain list (exact for float32). */
export function valuesOf(variable: tf.Variable): number[] {
  return Array.from(variable.dataSync());
}

/** Assigns saved values to a 1-D variable. */
export function assignValues(variable: tf.Variable, values: readonly number[]): void {
  tf.tidy(() => variable.assign(tf.tensor1d(values as number[], 'float32')));
}
