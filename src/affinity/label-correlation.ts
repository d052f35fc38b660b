import { plan } from '../plan/compile-plan.js';
import type { PlanTask } from '../plan/types.js';
import { prepareData } from '../data/prepare.js';
import { isFlatMatrix, isTensor } from '../data/helpers.js';
import type { PreparedTask } from '../data/types.js';
import { isPlainObject } from '../schema/common.js';
import {
  registerAffinityMethod,
  type AffinityInput,
  type AffinityMeasurement,
} from './registry.js';

/** One label column as a correlation variable: a value and a 0/1 mask per row. */
interface Column {
  values: Float32Array;
  mask: Float32Array;
}

/**
 * The correlation variables of a task: each label column (one for regression and binary, one
 * per output or label for multi-output regression and multilabel), or one 0/1 indicator per
 * class for a multiclass task (class indexes are not ordered, so they are not correlated as numbers).
 */
function columnsOf(task: PlanTask, prepared: PreparedTask, rows: number): Column[] {
  const w = prepared.width;
  if (task.kind === 'multiclass') {
    return Array.from({ length: task.outputs }, (_, k) => ({
      values: Float32Array.from({ length: rows }, (_, r) => (prepared.labels[r] === k ? 1 : 0)),
      mask: prepared.mask,
    }));
  }
  if (w === 1) return [{ values: prepared.labels, mask: prepared.mask }];
  return Array.from({ length: w }, (_, c) => ({
    values: Float32Array.from({ length: rows }, (_, r) => prepared.labels[r * w + c]!),
    mask: Float32Array.from({ length: rows }, (_, r) => prepared.mask[r * w + c]!),
  }));
}

/** Why a pair of columns has no correlation. */
type Missing = 'few' | 'constant';

/**
 * Pearson correlation of two columns on the rows where both are labelled (two passes, in
 * doubles). For two 0/1 columns this is the phi coefficient. Returns the reason instead when
 * fewer than `minRows` rows are common or one column is constant on them.
 */
export function pearson(a: Column, b: Column, minRows: number): number | Missing {
  const rows = a.values.length;
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let r = 0; r < rows; r++) {
    if (a.mask[r] !== 1 || b.mask[r] !== 1) continue;
    n++;
    sa += a.values[r]!;
    sb += b.values[r]!;
  }
  if (n < minRows) return 'few';
  const ma = sa / n;
  const mb = sb / n;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  for (let r = 0; r < rows; r++) {
    if (a.mask[r] !== 1 || b.mask[r] !== 1) continue;
    const da = a.values[r]! - ma;
    const db = b.values[r]! - mb;
    saa += da * da;
    sbb += db * db;
    sab += da * db;
  }
  // Relative to the scale of the values, so float32 rounding of a constant column does not count as variance.
  const tiny = 1e-12 * n;
  if (saa <= tiny * (1 + ma * ma) || sbb <= tiny * (1 + mb * mb)) return 'constant';
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/** Features per row of the caller's x, when it can be read without validating (the graph may not say). */
function featureCount(x: unknown): number | undefined {
  if (isTensor(x)) return x.rank === 2 ? x.shape[1] : undefined;
  if (isFlatMatrix(x))
    return Array.isArray(x.shape) && typeof x.shape[1] === 'number' ? x.shape[1] : undefined;
  if (Array.isArray(x) && Array.isArray(x[0])) return x[0].length;
  return undefined;
}

/**
 * Label correlation: for each pair of tasks, the Pearson correlation of their targets on the
 * rows where both are labelled (the phi coefficient for two binary tasks). A task with several
 * columns (multi-output regression, multilabel) or classes (multiclass, as one 0/1 indicator per
 * class) is reduced to the column pair with the largest |correlation|, keeping its sign: "the
 * strongest linear relation between any target of one task and any target of the other". That
 * maximum is biased upwards for tasks with many columns (more chances of a large chance
 * correlation), and for multiclass tasks its sign depends on which class it picked.
 * No training: a cheap prior before any model exists. A pair with fewer than `minRows` common
 * labelled rows, or a constant target on them, gets no edge.
 */
export async function labelCorrelation(input: AffinityInput): Promise<AffinityMeasurement> {
  const { spec, options, scope } = input;
  const data = input.data;
  const x = isPlainObject(data) ? data.x : undefined;
  const features = spec.input?.features ?? featureCount(x) ?? 1;
  const p = plan(input.graph, { strategy: 'single', trunk: { units: [] }, input: { features } });
  const prepared = prepareData(p, data, { scope });
  const rows = prepared.rows;
  const T = p.tasks.length;
  const columns = p.tasks.map((task, i) => columnsOf(task, prepared.tasks[i]!, rows));
  const matrix = Array.from({ length: T }, (_, i) =>
    Array.from({ length: T }, (_, j) => (i === j ? 1 : NaN)),
  );
  let few = 0;
  let constant = 0;
  for (let i = 0; i < T; i++) {
    for (let j = i + 1; j < T; j++) {
      let best = NaN;
      let why: Missing = 'few';
      for (const a of columns[i]!) {
        for (const b of columns[j]!) {
          const r = pearson(a, b, options.minRows);
          if (typeof r === 'number') {
            if (Number.isNaN(best) || Math.abs(r) > Math.abs(best)) best = r;
          } else if (r === 'constant') {
            why = 'constant';
          }
        }
      }
      if (Number.isNaN(best)) {
        if (why === 'few') few++;
        else constant++;
      }
      matrix[i]![j] = best;
      matrix[j]![i] = best;
    }
  }
  const notes = [
    `label-correlation: Pearson correlation of the targets on rows labelled for both tasks (${rows} rows; several columns or classes reduced to the strongest column pair, sign kept).`,
  ];
  if (few > 0)
    notes.push(
      `${few} pair(s) have fewer than ${options.minRows} rows labelled for both tasks: no edge (lower minRows to keep them).`,
    );
  if (constant > 0)
    notes.push(`${constant} pair(s) have a constant target on their common rows: no edge.`);
  return { matrix, raw: matrix.map((r) => [...r]), steps: 0, trainingSteps: 0, notes };
}

registerAffinityMethod({
  name: 'label-correlation',
  summary: 'correlation of the targets on rows labelled for both tasks (no training)',
  optionKeys: ['minRows'],
  measure: labelCorrelation,
});
