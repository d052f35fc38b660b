import { OptionsError, show } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import { isTensor, isTypedArray, tensorValues } from '../data/helpers.js';
import type { Plan, PlanTask } from '../plan/types.js';
import type { PreparedData } from '../data/types.js';

const SCOPE = 'mtgraph/fit';

/** Per-row weights of one task, as `fit`'s `sampleWeight` takes them (one number per row of x). */
export type SampleWeights = Readonly<Record<string, ArrayLike<number>>>;
/** Per-class weights of one task: `[w0, w1]` for binary (and each label of a multilabel task), one per class for multiclass. */
export type ClassWeights = Readonly<Record<string, readonly number[]>>;

function optionsError(path: string, what: string, fix: string, got?: unknown): OptionsError {
  return new OptionsError(`${SCOPE}: ${what} → at ${path}. ${fix}`, { path, got });
}

function taskOf(plan: Plan, id: string, path: string, option: string): PlanTask {
  const task = plan.tasks.find((t) => t.id === id);
  if (!task) {
    throw optionsError(
      path,
      `${option} names an unknown task (got ${JSON.stringify(id)}; expected one of ${plan.tasks.map((t) => t.id).join(', ')})`,
      `Key ${option} by task id.`,
      id,
    );
  }
  return task;
}

/** A weight must be finite and >= 0. */
function checkWeight(value: unknown, path: string, fix: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw optionsError(
      path,
      `a weight must be a finite number >= 0 (got ${show(value)})`,
      fix,
      value,
    );
  }
  return value;
}

/** The class weights of a task: one weight per class index its labels can take. */
function classWeightsOf(task: PlanTask, given: unknown, path: string): number[] {
  const expected = task.kind === 'multiclass' ? task.outputs : 2;
  if (task.kind === 'regression') {
    throw optionsError(
      path,
      `classWeight is for class labels, and task "${task.id}" is a regression task`,
      'Use sampleWeight for per-row weights of a regression task.',
    );
  }
  if (!Array.isArray(given) || given.length !== expected) {
    throw optionsError(
      path,
      `classWeight of ${task.kind} task "${task.id}" must be a list of ${expected} weights (got ${show(given)})`,
      task.kind === 'multiclass'
        ? `Give one weight per class, e.g. [${Array.from({ length: expected }, () => 1).join(', ')}].`
        : 'Give [weight of 0, weight of 1], e.g. [1, 10].',
      given,
    );
  }
  return given.map((w, i) => checkWeight(w, `${path}[${i}]`, 'Use e.g. [1, 10].'));
}

/** One task's per-row weights from sampleWeight (a list, typed array or tensor of one number per row). */
function rowWeightsOf(task: PlanTask, given: unknown, rows: number, path: string): Float64Array {
  let values: ArrayLike<unknown>;
  if (isTensor(given)) {
    if (given.size !== rows) {
      throw optionsError(
        path,
        `sampleWeight of task "${task.id}" has ${given.size} values (got shape [${given.shape.join(', ')}]; expected ${rows}, one per row of x)`,
        'Give one weight per row.',
      );
    }
    values = tensorValues(given);
  } else if (Array.isArray(given) || isTypedArray(given)) {
    values = given as ArrayLike<unknown>;
  } else {
    throw optionsError(
      path,
      `sampleWeight of task "${task.id}" must be a list of one weight per row (got ${show(given)})`,
      'Write e.g. sampleWeight: { click: [1, 0.5, 0, ...] }.',
    );
  }
  if (values.length !== rows) {
    throw optionsError(
      path,
      `sampleWeight of task "${task.id}" has ${values.length} weights (got ${values.length}; expected ${rows}, one per row of x)`,
      'Give one weight per row.',
    );
  }
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++)
    out[i] = checkWeight(
      values[i],
      `${path}[${i}]`,
      'Use 0 to leave a row out, 1 for a normal row.',
    );
  return out;
}

/**
 * Folds `sampleWeight` and `classWeight` into the masks of prepared training data: entry
 * `(row, column)` of a task's mask becomes `mask * sampleWeight[row] * classWeight[label]`. The
 * trainer then adds `sum(weight * loss)` over the labelled entries and divides by the number of
 * entries whose weight is above 0 (as Keras's `sample_weight`: weights scale each row's loss, and a
 * weight of 0 masks the row). Returns the data unchanged when neither option is given.
 */
export function applySampleWeights(
  plan: Plan,
  data: PreparedData,
  sampleWeight: unknown,
  classWeight: unknown,
): PreparedData {
  if (sampleWeight === undefined && classWeight === undefined) return data;
  for (const [name, value] of [
    ['sampleWeight', sampleWeight],
    ['classWeight', classWeight],
  ] as const) {
    if (value !== undefined && !isPlainObject(value)) {
      throw optionsError(
        `options.${name}`,
        `${name} must be an object keyed by task id (got ${show(value)})`,
        name === 'sampleWeight'
          ? 'Write e.g. sampleWeight: { click: [1, 0.5, ...] }.'
          : 'Write e.g. classWeight: { click: [1, 10] }.',
      );
    }
  }
  const rowWeights = new Map<string, Float64Array>();
  for (const [id, value] of Object.entries((sampleWeight ?? {}) as Record<string, unknown>)) {
    const path = `options.sampleWeight.${id}`;
    rowWeights.set(
      id,
      rowWeightsOf(taskOf(plan, id, path, 'sampleWeight'), value, data.rows, path),
    );
  }
  const classWeights = new Map<string, number[]>();
  for (const [id, value] of Object.entries((classWeight ?? {}) as Record<string, unknown>)) {
    const path = `options.classWeight.${id}`;
    classWeights.set(id, classWeightsOf(taskOf(plan, id, path, 'classWeight'), value, path));
  }
  const tasks = data.tasks.map((t) => {
    const rw = rowWeights.get(t.id);
    const cw = classWeights.get(t.id);
    if (!rw && !cw) return t;
    const w = t.width;
    const mask = new Float32Array(t.mask.length);
    let labelled = 0;
    for (let r = 0; r < data.rows; r++) {
      let any = false;
      for (let j = 0; j < w; j++) {
        const at = r * w + j;
        let m = t.mask[at]!;
        if (m > 0 && rw) m *= rw[r]!;
        if (m > 0 && cw) m *= cw[t.labels[at]!] ?? 1;
        mask[at] = m;
        if (m > 0) any = true;
      }
      if (any) labelled++;
    }
    return { ...t, mask, labelled };
  });
  return { ...data, tasks };
}

/** True when a fit call weighs rows or classes (the objective then counts entries with weight > 0). */
export function isWeighted(sampleWeight: unknown, classWeight: unknown): boolean {
  return sampleWeight !== undefined || classWeight !== undefined;
}
