import type { Plan } from '../plan/types.js';
import { show } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import { readFeatures, type Features } from './features.js';
import { encodeEmbedded } from './embed.js';
import { readLabels, readMask } from './labels.js';
import { targetOf } from './targets.js';
import { dataError, objectKeys, type Where } from './helpers.js';
import type { PreparedData, PreparedTask } from './types.js';

export interface PrepareOptions {
  /** Error scope, e.g. `mtgraph/fit`. */
  scope: string;
  /** Path prefix of this data in the call, e.g. `validationData` (default ''). */
  prefix?: string;
  /** Accept a task whose every label is missing (a validation split may leave one empty); default false. */
  allowUnlabelled?: boolean;
}

const EXAMPLE = '{ x, y: { taskA: [...], taskB: [...] } }';

/** Validates features only (for predict): the right width, finite values. Creates no tensor. */
export function prepareFeatures(plan: Plan, x: unknown, options: PrepareOptions): Features {
  const features = readFeatures(x, plan.input.features, {
    scope: options.scope,
    prefix: options.prefix ?? '',
  });
  encodeEmbedded(plan, features);
  return features;
}

/**
 * Validates `{ x, y, mask? }` against a plan and returns the features and, per task, labels and
 * masks as typed arrays (in `plan.tasks` order). Every check runs before any tensor exists;
 * a mistake raises a DataError naming where (`y.segment[12]`, `x[3][7]`), what and how to fix it.
 *
 * A task may be left out of `y` only when `mask[task]` is given and all zeros (the task is
 * excluded on purpose); any other task without a single labelled row is an error.
 */
export function prepareData(plan: Plan, data: unknown, options: PrepareOptions): PreparedData {
  const where: Where = { scope: options.scope, prefix: options.prefix ?? '' };
  const root = where.prefix || 'the data';
  if (!isPlainObject(data)) {
    throw dataError(
      where,
      where.prefix || '(root)',
      `${root} must be an object ${EXAMPLE} (got ${show(data)})`,
      `Pass ${EXAMPLE}.`,
      data,
    );
  }
  for (const key of Object.keys(data)) {
    if (key !== 'x' && key !== 'y' && key !== 'mask') {
      throw dataError(
        where,
        key,
        `unknown key ${JSON.stringify(key)} in ${root} (expected x, y and optionally mask)`,
        'Check the spelling or remove it.',
        key,
      );
    }
  }
  const features = readFeatures(data.x, plan.input.features, where);
  // Embedded columns: values -> ids (vocabulary, hash), as the plan says.
  encodeEmbedded(plan, features);
  const rows = features.rows;
  const ids = plan.tasks.map((t) => t.id);
  const known = new Set(ids);
  const yKeys = objectKeys(where, data.y, 'y', '{ y: { taskA: [0, 1, ...] } }');
  const y = data.y as Record<string, unknown>;
  const maskKeys =
    data.mask === undefined
      ? []
      : objectKeys(where, data.mask, 'mask', '{ mask: { taskA: [1, 0, ...] } }');
  const masks = (data.mask ?? {}) as Record<string, unknown>;
  for (const [keys, what] of [
    [yKeys, 'y'],
    [maskKeys, 'mask'],
  ] as const) {
    for (const key of keys) {
      if (!known.has(key)) {
        throw dataError(
          where,
          `${what}.${key}`,
          `unknown task ${JSON.stringify(key)} in ${what} (expected any of: ${ids.join(', ')})`,
          'Check the spelling, or remove it.',
          key,
        );
      }
    }
  }
  const tasks: PreparedTask[] = plan.tasks.map((task) => {
    const width = targetOf(task).width(task);
    const given =
      Object.hasOwn(masks, task.id) && masks[task.id] !== undefined
        ? readMask(masks[task.id], task, rows, width, where)
        : undefined;
    const maskedOut = given !== undefined && given.every((v) => v === 0);
    if (!Object.hasOwn(y, task.id) || y[task.id] === undefined) {
      if (maskedOut)
        return {
          id: task.id,
          width,
          labels: new Float32Array(rows * width),
          mask: new Float32Array(rows * width),
          labelled: 0,
          excluded: true,
        };
      throw dataError(
        where,
        `y.${task.id}`,
        `task "${task.id}" has no labels in y`,
        `Add y.${task.id} (one label per row of x; NaN or -1 where missing), or leave the task out on purpose with mask: { ${task.id}: an array of ${rows} zeros }.`,
      );
    }
    const { labels, mask } = readLabels(y[task.id], task, rows, where, given);
    let labelled = 0;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < width; j++) {
        if (mask[i * width + j] === 1) {
          labelled++;
          break;
        }
      }
    }
    if (labelled === 0 && !maskedOut && !options.allowUnlabelled) {
      throw dataError(
        where,
        `y.${task.id}`,
        `task "${task.id}" has no labelled row (all ${rows} labels are missing or masked)`,
        `Give at least one label, or leave the task out on purpose with mask: { ${task.id}: an array of ${rows} zeros }.`,
      );
    }
    return { id: task.id, width, labels, mask, labelled, excluded: maskedOut };
  });
  return { rows, features: features.features, x: features.values, tasks };
}

/** The rows `indices` of prepared data (in that order); counts labelled rows again. */
export function selectRows(data: PreparedData, indices: ArrayLike<number>): PreparedData {
  const n = indices.length;
  const d = data.features;
  const x = new Float32Array(n * d);
  for (let r = 0; r < n; r++) x.set(data.x.subarray(indices[r]! * d, (indices[r]! + 1) * d), r * d);
  const tasks = data.tasks.map((t) => {
    const w = t.width;
    const labels = new Float32Array(n * w);
    const mask = new Float32Array(n * w);
    let labelled = 0;
    for (let r = 0; r < n; r++) {
      const from = indices[r]! * w;
      let any = false;
      for (let j = 0; j < w; j++) {
        labels[r * w + j] = t.labels[from + j]!;
        const m = t.mask[from + j]!;
        mask[r * w + j] = m;
        if (m > 0) any = true;
      }
      if (any) labelled++;
    }
    return { ...t, labels, mask, labelled };
  });
  return { rows: n, features: d, x, tasks };
}
