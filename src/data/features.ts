import { show } from '../errors.js';
import { dataError, isFlatMatrix, isTensor, type Where } from './helpers.js';

/** Validated features: row-major values and the shape. */
export interface Features {
  rows: number;
  features: number;
  values: Float32Array;
}

const FORMS =
  'Pass x as a tf.Tensor2D, rows of numbers (number[][]) or { values: Float32Array, shape: [rows, features] }.';

/**
 * Validates features against the plan's input width and copies them into one Float32Array.
 * Raises a DataError naming the first bad place (`x[3][7]`); creates no tensor.
 */
export function readFeatures(x: unknown, expected: number, where: Where): Features {
  if (x === undefined || x === null)
    throw dataError(where, 'x', `the data has no features (got ${show(x)})`, FORMS, x);
  if (isTensor(x)) {
    if (x.isDisposed)
      throw dataError(
        where,
        'x',
        'x is a disposed tensor',
        'Pass a live tensor (do not dispose it before fit / evaluate / predict).',
      );
    if (x.rank !== 2) {
      throw dataError(
        where,
        'x',
        `x must be a rank-2 tensor [rows, features] (got shape [${x.shape.join(', ')}])`,
        `Reshape it to [rows, ${expected}].`,
        x.shape,
      );
    }
    if (x.dtype === 'string' || x.dtype === 'complex64') {
      throw dataError(
        where,
        'x',
        `x must hold numbers (got a ${x.dtype} tensor)`,
        'Encode the features as numbers first.',
        x.dtype,
      );
    }
    const [rows, features] = x.shape as [number, number];
    checkShape(rows, features, expected, where, `x has shape [${rows}, ${features}]`);
    const values = Float32Array.from(x.dataSync() as ArrayLike<number>);
    checkFinite(values, features, where);
    return { rows, features, values };
  }
  if (isFlatMatrix(x)) {
    const shape = x.shape;
    if (
      !Array.isArray(shape) ||
      shape.length !== 2 ||
      !shape.every((s) => Number.isInteger(s) && s >= 0)
    ) {
      throw dataError(
        where,
        'x.shape',
        `x.shape must be [rows, features] (got ${JSON.stringify(shape)})`,
        `Write e.g. shape: [100, ${expected}].`,
        shape,
      );
    }
    const [rows, features] = shape as [number, number];
    checkShape(rows, features, expected, where, `x.shape is [${rows}, ${features}]`);
    const given = x.values as ArrayLike<number>;
    if (given === null || typeof given !== 'object' || typeof given.length !== 'number') {
      throw dataError(
        where,
        'x.values',
        `x.values must be a Float32Array or a list of numbers (got ${show(given)})`,
        FORMS,
        given,
      );
    }
    if (given.length !== rows * features) {
      throw dataError(
        where,
        'x.values',
        `x.values has ${given.length} numbers (expected ${rows} × ${features} = ${rows * features} from x.shape)`,
        'Make the shape match the values.',
        given.length,
      );
    }
    const values =
      given instanceof Float32Array ? Float32Array.from(given) : new Float32Array(rows * features);
    if (!(given instanceof Float32Array)) {
      for (let k = 0; k < values.length; k++) {
        const v = given[k];
        if (typeof v !== 'number') throw badValue(v, Math.floor(k / features), k % features, where);
        values[k] = v;
        // Checked here, on the given value, so that 1e300 (float32 Infinity) is reported as 1e300.
        if (!Number.isFinite(values[k]!))
          throw badValue(v, Math.floor(k / features), k % features, where);
      }
    }
    checkFinite(values, features, where);
    return { rows, features, values };
  }
  if (Array.isArray(x)) {
    const rows = x.length;
    if (rows === 0)
      throw dataError(where, 'x', 'x has no rows', 'Pass at least one row of features.', x);
    const first = x[0];
    if (!Array.isArray(first)) {
      throw dataError(
        where,
        'x[0]',
        `each row of x must be a list of ${expected} numbers (got ${show(first)})`,
        FORMS,
        first,
      );
    }
    if (first.length !== expected) {
      throw dataError(
        where,
        'x[0]',
        `x has ${first.length} features per row (expected ${expected}, the plan's input.features)`,
        `Pass rows of ${expected} numbers, or plan the graph with input: { features: ${first.length} }.`,
        first.length,
      );
    }
    const values = new Float32Array(rows * expected);
    for (let i = 0; i < rows; i++) {
      const row = x[i];
      if (!Array.isArray(row) || row.length !== expected) {
        const got = Array.isArray(row) ? `${row.length} values` : show(row);
        throw dataError(
          where,
          `x[${i}]`,
          `row ${i} of x has ${got} (expected ${expected} numbers like every row)`,
          'Give every row the same number of features.',
          row,
        );
      }
      const base = i * expected;
      for (let j = 0; j < expected; j++) {
        const v = row[j];
        if (typeof v !== 'number') throw badValue(v, i, j, where);
        values[base + j] = v;
        if (!Number.isFinite(values[base + j]!)) throw badValue(v, i, j, where);
      }
    }
    return { rows, features: expected, values };
  }
  throw dataError(where, 'x', `x must be features (got ${show(x)})`, FORMS, x);
}

function checkShape(
  rows: number,
  features: number,
  expected: number,
  where: Where,
  said: string,
): void {
  if (rows === 0)
    throw dataError(
      where,
      'x',
      `x has no rows (${said})`,
      'Pass at least one row of features.',
      rows,
    );
  if (features !== expected) {
    throw dataError(
      where,
      'x',
      `${said}: ${features} features per row (expected ${expected}, the plan's input.features)`,
      `Pass ${expected} features per row, or plan the graph with input: { features: ${features} }.`,
      features,
    );
  }
}

function checkFinite(values: Float32Array, features: number, where: Where): void {
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k]!))
      throw badValue(values[k], Math.floor(k / features), k % features, where);
  }
}

function badValue(v: unknown, i: number, j: number, where: Where) {
  const what =
    typeof v === 'number'
      ? `x[${i}][${j}] is ${v} (features must be finite numbers${Number.isFinite(v) ? ' within float32 range' : ''})`
      : `x[${i}][${j}] is not a number (got ${show(v)})`;
  const fix =
    typeof v === 'number' && Number.isNaN(v)
      ? 'Impute missing features (e.g. with the column mean) or drop the row; only labels may be missing.'
      : 'Replace it with a finite number (scale very large values, encode categories as numbers).';
  return dataError(where, `x[${i}][${j}]`, what, fix, v);
}
