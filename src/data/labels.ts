import type { PlanTask } from '../plan/types.js';
import { show } from '../errors.js';
import { dataError, isFlatMatrix, isTensor, isTypedArray, type Where } from './helpers.js';
import { targetOf } from './targets.js';

/** A label source seen as flat values with a shape (tensor, typed array, flat matrix), or undefined for nested arrays. */
interface Flat {
  values: ArrayLike<number>;
  shape: readonly number[];
}

function flatOf(input: unknown, where: Where, path: string): Flat | undefined {
  if (isTensor(input)) {
    if (input.isDisposed)
      throw dataError(where, path, `${path} is a disposed tensor`, 'Pass a live tensor.');
    if (input.dtype === 'string' || input.dtype === 'complex64') {
      throw dataError(
        where,
        path,
        `${path} must hold numbers (got a ${input.dtype} tensor)`,
        'Encode the labels as numbers.',
        input.dtype,
      );
    }
    return { values: input.dataSync() as ArrayLike<number>, shape: input.shape };
  }
  if (isTypedArray(input)) return { values: input as ArrayLike<number>, shape: [input.length] };
  if (isFlatMatrix(input)) {
    const shape = input.shape;
    if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
      throw dataError(
        where,
        `${path}.shape`,
        `${path}.shape must list whole numbers (got ${JSON.stringify(shape)})`,
        'Write e.g. shape: [100, 3].',
        shape,
      );
    }
    const values = input.values as ArrayLike<number>;
    const size = shape.reduce((a, b) => a * b, 1);
    if (values?.length !== size) {
      throw dataError(
        where,
        `${path}.values`,
        `${path}.values has ${values?.length ?? 'no'} numbers (expected ${size} from ${path}.shape)`,
        'Make the shape match the values.',
        values?.length,
      );
    }
    return { values, shape };
  }
  return undefined;
}

/** Checks a flat source's shape against `rows` × `width`; returns the columns per row in it (1 or width). */
function flatColumns(
  flat: Flat,
  rows: number,
  width: number,
  where: Where,
  path: string,
  noun: string,
): number {
  const { shape, values } = flat;
  const expected = width === 1 ? `[${rows}] or [${rows}, 1]` : `[${rows}, ${width}]`;
  const fix =
    width === 1
      ? `Give one ${noun} per row of x.`
      : `Give ${width} ${noun}s per row of x (row-major).`;
  if (shape.length === 1) {
    if (values.length === rows && (width === 1 || noun === 'mask value')) return 1;
    if (width > 1 && values.length === rows * width) return width;
    throw dataError(
      where,
      path,
      `${path} has ${values.length} ${noun}s (expected ${width === 1 ? rows : `${rows} × ${width} = ${rows * width}`}, ${width === 1 ? 'one per row of x' : `${width} per row of x`})`,
      fix,
      values.length,
    );
  }
  if (
    shape.length === 2 &&
    shape[0] === rows &&
    (shape[1] === width || (shape[1] === 1 && noun === 'mask value'))
  )
    return shape[1]!;
  throw dataError(
    where,
    path,
    `${path} has shape [${shape.join(', ')}] (expected ${expected})`,
    fix,
    shape,
  );
}

/**
 * Reads a task's labels: validates every labelled value with the kind's reader and returns the
 * labels (0 where missing) and the mask (1 where labelled). `given` is the user's mask or undefined.
 */
export function readLabels(
  input: unknown,
  task: PlanTask,
  rows: number,
  where: Where,
  given: Float32Array | undefined,
): { labels: Float32Array; mask: Float32Array } {
  const encoder = targetOf(task);
  const width = encoder.width(task);
  const path = `y.${task.id}`;
  const labels = new Float32Array(rows * width);
  const mask = new Float32Array(rows * width);
  const put = (k: number, i: number, j: number, value: unknown) => {
    if (given !== undefined && given[k] === 0) return;
    const v = encoder.encode(value, task);
    if (v === undefined) {
      const at = width === 1 ? `${path}[${i}]` : `${path}[${i}][${j}]`;
      const outside =
        task.kind === 'regression'
          ? 'a label that is not a finite number'
          : 'a label outside its classes';
      throw dataError(
        where,
        at,
        `${outside} for ${task.kind} task "${task.id}" (got ${show(value)}; expected ${encoder.expected(task)})`,
        task.kind === 'regression'
          ? 'Use NaN for a missing label; scale very large targets.'
          : 'Fix the label, or mark it missing with -1 / NaN or a 0 in mask.',
        value,
      );
    }
    if (Number.isNaN(v)) return;
    labels[k] = v;
    mask[k] = 1;
  };
  const flat = flatOf(input, where, path);
  if (flat) {
    const columns = flatColumns(flat, rows, width, where, path, 'label');
    const values = flat.values;
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < columns; j++) put(i * width + j, i, j, values[i * columns + j]);
    return { labels, mask };
  }
  if (!Array.isArray(input)) {
    throw dataError(
      where,
      path,
      `the labels of task "${task.id}" must be a list, a typed array or a tensor (got ${show(input)})`,
      width === 1
        ? 'Give one label per row of x, e.g. [0, 1, 1].'
        : `Give rows of ${width} labels, e.g. [[...], ...].`,
      input,
    );
  }
  if (input.length !== rows) {
    throw dataError(
      where,
      path,
      `task "${task.id}" has ${input.length} labels (expected ${rows}, one per row of x)`,
      'Give one label (or one row of labels) per row of x; use NaN / -1 for a missing one.',
      input.length,
    );
  }
  for (let i = 0; i < rows; i++) {
    const row = input[i] as unknown;
    if (Array.isArray(row)) {
      if (row.length !== width) {
        throw dataError(
          where,
          `${path}[${i}]`,
          `row ${i} of the labels of task "${task.id}" has ${row.length} values (expected ${width}${width > 1 ? ` = ${task.kind === 'regression' ? 'outputs' : 'labels'} of the task` : ''})`,
          `Give ${width} value${width > 1 ? 's' : ''} per row.`,
          row.length,
        );
      }
      for (let j = 0; j < width; j++) put(i * width + j, i, j, row[j]);
    } else if (width === 1 || row === null || row === undefined) {
      for (let j = 0; j < width; j++) put(i * width + j, i, j, row);
    } else {
      throw dataError(
        where,
        `${path}[${i}]`,
        `task "${task.id}" needs a row of ${width} labels per row of x (got ${show(row)})`,
        `Give rows of ${width} values, e.g. [${Array(width).fill(0).join(', ')}].`,
        row,
      );
    }
  }
  return { labels, mask };
}

/** Reads a mask (0/1 or booleans, per row or per label column) into rows * width values. */
export function readMask(
  input: unknown,
  task: PlanTask,
  rows: number,
  width: number,
  where: Where,
): Float32Array {
  const path = `mask.${task.id}`;
  const out = new Float32Array(rows * width);
  const put = (i: number, j: number, columns: number, value: unknown) => {
    let v: number;
    if (value === 1 || value === true) v = 1;
    else if (value === 0 || value === false) v = 0;
    else {
      const at = columns === 1 ? `${path}[${i}]` : `${path}[${i}][${j}]`;
      throw dataError(
        where,
        at,
        `a mask value must be 0 or 1 (got ${show(value)})`,
        'Use 1 where the label counts and 0 where it is missing.',
        value,
      );
    }
    if (columns === 1) out.fill(v, i * width, (i + 1) * width);
    else out[i * width + j] = v;
  };
  const flat = flatOf(input, where, path);
  if (flat) {
    const columns = flatColumns(flat, rows, width, where, path, 'mask value');
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < columns; j++) put(i, j, columns, flat.values[i * columns + j]);
    return out;
  }
  if (!Array.isArray(input)) {
    throw dataError(
      where,
      path,
      `the mask of task "${task.id}" must be a list of 0/1 (got ${show(input)})`,
      'Give one 0/1 per row of x.',
      input,
    );
  }
  if (input.length !== rows) {
    throw dataError(
      where,
      path,
      `the mask of task "${task.id}" has ${input.length} values (expected ${rows}, one per row of x)`,
      'Give one 0/1 per row of x.',
      input.length,
    );
  }
  for (let i = 0; i < rows; i++) {
    const row = input[i] as unknown;
    if (Array.isArray(row)) {
      if (row.length !== width) {
        throw dataError(
          where,
          `${path}[${i}]`,
          `row ${i} of the mask of task "${task.id}" has ${row.length} values (expected ${width}, one per label column, or a single 0/1 per row)`,
          'Give one 0/1 per row, or one per label column.',
          row.length,
        );
      }
      for (let j = 0; j < width; j++) put(i, j, width, row[j]);
    } else {
      put(i, 0, 1, row);
    }
  }
  return out;
}
