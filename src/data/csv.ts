/**
 * readCsv: a CSV file with a header row -> data for fit / evaluate / predict, with the fitted
 * preprocessing to save alongside the model (`model.metadata.preprocessing`).
 */
import { OptionsError, show } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import { readGraph } from '../schema/validate.js';
import type { MtgraphModel } from '../network/types.js';
import { readCsvTable, type CsvSource, type CsvTable } from './csv-table.js';
import {
  applyPreprocessing,
  fitPreprocessing,
  parsePreprocessing,
  preprocessingVocabularies,
  type ApplyPreprocessingOptions,
  type CsvTask,
  type EncodedTable,
  type PreprocessOptions,
  type Preprocessing,
} from './preprocess.js';
import type { FlatMatrix, TaskData } from './types.js';

export interface ReadCsvOptions extends PreprocessOptions, ApplyPreprocessingOptions {
  /** A preprocessing fitted before (e.g. `model.metadata.preprocessing`): applied as it is, nothing is fitted. */
  preprocessing?: unknown;
}

/** Task data read from a CSV file: flat features, labels per task (NaN where missing), masks of left-out tasks. */
export interface CsvTaskData extends TaskData {
  x: FlatMatrix & { values: Float32Array; shape: [number, number] };
  y: Record<
    string,
    Float32Array | (FlatMatrix & { values: Float32Array; shape: [number, number] })
  >;
  mask?: Record<string, Float32Array>;
}

/** What `readCsv` returns. */
export interface CsvData {
  /** `{ x, y, mask? }` for fit / evaluate / measureAffinity; `predict(model, csv.data.x)`. */
  data: CsvTaskData;
  rows: number;
  /** The model's input names (`age`, `sex=F`, ...): plan with `input: { columns }` so the width matches. */
  columns: string[];
  /**
   * The embedded columns' table sizes (graph `input.embed`; the data holds their ids): plan with
   * `vocabularies` so the tables match. Empty when nothing is embedded.
   */
  vocabularies: Record<string, { ids: number }>;
  /** The file line of each row (1-based). */
  lines: Int32Array;
  /** Long format: each row's task id. */
  rowTasks?: string[];
  /** The fitted (or given) preprocessing: save it with the model as `model.metadata.preprocessing`. */
  preprocessing: Preprocessing;
  /** What was decided or noticed (detected categorical columns, unseen categories, tasks without labels). */
  notes: string[];
  /** Tasks without a single label in the file: left out of `y` and masked (so fit / evaluate skip them). */
  unlabelled: string[];
}

function isModel(value: unknown): value is MtgraphModel {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as MtgraphModel).plan?.tasks) &&
    isPlainObject((value as MtgraphModel).metadata)
  );
}

/**
 * Reads a CSV file for a task graph (or a trained model). Features and labels are encoded as the
 * preprocessing says: fitted here from the file and the graph (see `fitPreprocessing`), or the
 * one given in options, or — when `source` is a model — the one saved with it.
 *
 * ```ts
 * const csv = await readCsv('train.csv', graph, { taskColumn: 'school' });
 * const model = compile(graph, { input: { columns: csv.columns }, vocabularies: csv.vocabularies });
 * await fit(model, csv.data);
 * model.metadata.preprocessing = csv.preprocessing;   // saved by saveModel, reapplied below
 * const fresh = await readCsv('new.csv', await loadModel('out/model'), { labels: 'optional' });
 * ```
 */
export async function readCsv(
  path: CsvSource,
  source: unknown,
  options: ReadCsvOptions = {},
): Promise<CsvData> {
  if (path === '' || path === null || (typeof path !== 'string' && typeof path !== 'object'))
    throw new OptionsError(
      `mtgraph/csv: the CSV must be a non-empty path, CSV text, a File or Blob, or { text } (got ${show(path)}) → at path.`,
      { path: 'path', got: path },
    );
  const { preprocessing: given, labels, ...fitOptions } = options;
  const model = isModel(source) ? source : undefined;
  const saved = given ?? model?.metadata.preprocessing;
  const tasks: CsvTask[] = model ? model.plan.tasks : readGraph(source).tasks;
  let preprocessing =
    saved === undefined
      ? undefined
      : parsePreprocessing(
          saved,
          given !== undefined ? 'options.preprocessing' : 'model.metadata.preprocessing',
        );
  const table = await readCsvTable(path, {
    delimiter: preprocessing?.delimiter ?? fitOptions.delimiter ?? ',',
  });
  const notes: string[] = [];
  if (!preprocessing) {
    if (model) {
      throw new OptionsError(
        'mtgraph/csv: the model has no saved preprocessing (model.metadata.preprocessing) → at source. Pass the task graph instead, or options.preprocessing.',
        { path: 'source' },
      );
    }
    const fitted = fitPreprocessing(table, source, fitOptions);
    preprocessing = fitted.preprocessing;
    notes.push(...fitted.notes);
  }
  const encoded = applyPreprocessing(table, preprocessing, tasks, { labels: labels ?? 'required' });
  return toCsvData(encoded, table, preprocessing, tasks, notes);
}

/** Assembles CsvData from an encoded table (all rows, or the rows `indices`). */
export function toCsvData(
  encoded: EncodedTable,
  table: Pick<CsvTable, 'lines'>,
  preprocessing: Preprocessing,
  tasks: readonly CsvTask[],
  notes: readonly string[] = [],
  indices?: ArrayLike<number>,
): CsvData {
  const pickRows = indices ?? Array.from({ length: encoded.rows }, (_, i) => i);
  const n = pickRows.length;
  const d = encoded.width;
  const x = new Float32Array(n * d);
  const lines = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = pickRows[i]!;
    x.set(encoded.x.subarray(r * d, (r + 1) * d), i * d);
    lines[i] = table.lines[r]!;
  }
  const y: CsvTaskData['y'] = {};
  const mask: Record<string, Float32Array> = {};
  const unlabelled: string[] = [];
  for (const task of tasks) {
    const all = encoded.labels[task.id];
    if (!all) continue;
    const w = all.length / Math.max(encoded.rows, 1);
    const labels = new Float32Array(n * w);
    let any = false;
    for (let i = 0; i < n; i++) {
      const r = pickRows[i]!;
      for (let j = 0; j < w; j++) {
        const v = all[r * w + j]!;
        labels[i * w + j] = v;
        if (!Number.isNaN(v)) any = true;
      }
    }
    if (!any) {
      unlabelled.push(task.id);
      mask[task.id] = new Float32Array(n);
      continue;
    }
    y[task.id] = w === 1 ? labels : { values: labels, shape: [n, w] };
  }
  const data: CsvTaskData = {
    x: { values: x, shape: [n, d] },
    y,
    ...(Object.keys(mask).length > 0 ? { mask } : {}),
  };
  const out: CsvData = {
    data,
    rows: n,
    columns: [...preprocessing.columns],
    vocabularies: preprocessingVocabularies(preprocessing),
    lines,
    preprocessing,
    unlabelled,
    notes: [
      ...notes,
      ...encoded.notes,
      ...(unlabelled.length > 0
        ? [
            `${unlabelled.length} task(s) have no label in these rows and are left out: ${unlabelled.slice(0, 5).join(', ')}${unlabelled.length > 5 ? ', ...' : ''}.`,
          ]
        : []),
    ],
  };
  if (encoded.rowTask) out.rowTasks = Array.from(pickRows, (r) => tasks[encoded.rowTask![r]!]!.id);
  return out;
}
