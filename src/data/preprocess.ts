/**
 * Preprocessing of CSV columns into model inputs and labels. `fitPreprocessing` decides, from a
 * table and a task graph, which columns are features and how each is encoded (numeric,
 * standardised; categorical, one-hot or integer codes), and returns it as plain JSON
 * (`Preprocessing`), which is saved with a model (`model.metadata.preprocessing`).
 * `applyPreprocessing` turns a table into features and labels with a fitted preprocessing, the
 * same way at training, evaluation and prediction time.
 */
import { z } from 'zod';
import { type DataError, FileError, OptionsError, show } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import { readGraph, zodError } from '../schema/validate.js';
import { MAX_EMBED_BUCKETS } from '../schema/graph-attributes.js';
import { idLookup, vocabularyOf } from './embed.js';
import { csvError, type CsvTable } from './csv-table.js';
import {
  compareCategories,
  encodeLabelCell,
  expectedLabel,
  parseNumber,
  taskResolver,
  type CsvTask,
} from './preprocess-cells.js';

export type { CsvTask } from './preprocess-cells.js';

/** The defaults of the preprocessing options, visible to callers. */
export const PREPROCESS_DEFAULTS = Object.freeze({
  /** Standardise numeric features to mean 0, standard deviation 1 (statistics of the fitted rows). */
  standardize: true,
  /** Categorical columns with at most this many categories are one-hot encoded; above it, integer codes. */
  maxOneHot: 64,
  /** What to do with an empty numeric feature cell: 'none' (an error) or 'mean' (the column mean). */
  impute: 'none' as 'none' | 'mean',
  /** Cells that mean "missing" (in features and labels). */
  missing: Object.freeze(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?']),
});

/** How one feature column becomes model inputs. */
export type FeatureEncoding =
  /** One input: `(value - mean) / scale`; `fill` replaces a missing cell (null: a missing cell is an error). */
  | { column: string; type: 'numeric'; mean: number; scale: number; fill: number | null }
  /** One input per category (1 for the row's category, 0 elsewhere; an unseen category gives all zeros). */
  | { column: string; type: 'one-hot'; categories: string[] }
  /** One input: `(index of the category - mean) / scale`; an unseen category gives index -1. */
  | { column: string; type: 'codes'; categories: string[]; mean: number; scale: number }
  /**
   * One input holding an embedding id (graph `input.embed`): with `vocabulary`, 1 + the cell's
   * position in it, 0 (the out-of-vocabulary row) for any other cell; with `buckets`, the cell's
   * stable hash (FNV-1a of its UTF-8 text) modulo buckets.
   */
  | {
      column: string;
      type: 'embed';
      vocabulary?: string[];
      buckets?: number;
      minCount?: number;
    };

/** A fitted preprocessing: plain JSON, saved with a model and applied again to new data. */
export interface Preprocessing {
  format: 'mtgraph-preprocessing';
  version: 1;
  /** Feature columns in input order, with their encodings. */
  features: FeatureEncoding[];
  /** The model's input names, one per input (`age`, `sex=F`, ...): the plan's `input.columns`. */
  columns: string[];
  /** Each task's label column(s). */
  targets: Record<string, string[]>;
  /** Long format: each row belongs to the task its `column` names (`map` renames values to task ids). */
  taskColumn?: { column: string; map?: Record<string, string> };
  /** Cells read as missing. */
  missing: string[];
  delimiter: string;
}

export interface PreprocessOptions {
  /** Long format: the column naming each row's task (its value is a task id, or a number matching the id's trailing number). */
  taskColumn?: string;
  /** Long format: task-column values renamed to task ids (`{ "7": "school_007" }`). */
  taskMap?: Record<string, string>;
  /** The feature columns (default: the graph's `input.columns`, else every column that is no target, task column or excluded). */
  features?: string[];
  /** Feature columns to encode as categories, beyond the graph's `input.categorical` (non-numeric columns are detected). */
  categorical?: string[];
  /** Columns never used as features (ids, row numbers, split markers). */
  exclude?: string[];
  /** Default true. */
  standardize?: boolean;
  /** Default 64. */
  maxOneHot?: number;
  /** Default 'none'. */
  impute?: 'none' | 'mean';
  /** Default PREPROCESS_DEFAULTS.missing. */
  missing?: string[];
  /** Fit the statistics (means, scales, categories, detected types) on these rows only (default: all), e.g. the training split. */
  rows?: ArrayLike<number>;
  /** Field delimiter the table was read with (recorded; default ','). */
  delimiter?: string;
}

/** A fitted preprocessing and what was decided on the way (detected categorical columns...). */
export interface FittedPreprocessing {
  preprocessing: Preprocessing;
  notes: string[];
}

const SCOPE = 'mtgraph/csv';

const optionsSchema = z.strictObject({
  taskColumn: z.string().min(1).optional(),
  taskMap: z.record(z.string(), z.string()).optional(),
  features: z.array(z.string().min(1)).min(1).optional(),
  categorical: z.array(z.string().min(1)).optional(),
  exclude: z.array(z.string().min(1)).optional(),
  standardize: z.boolean().optional(),
  maxOneHot: z.int().min(1).optional(),
  impute: z.enum(['none', 'mean']).optional(),
  missing: z.array(z.string()).optional(),
  rows: z
    .custom<ArrayLike<number>>((v) => Array.isArray(v) || ArrayBuffer.isView(v), {
      error: 'rows must be a list of row indices',
    })
    .optional(),
  delimiter: z.string().min(1).optional(),
});

/** Validates preprocessing options (OptionsError) and fills the defaults. */
export function resolvePreprocessOptions(options: unknown): PreprocessOptions & {
  standardize: boolean;
  maxOneHot: number;
  impute: 'none' | 'mean';
  missing: string[];
} {
  const parsed = optionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw zodError(parsed.error, 'options', OptionsError, SCOPE);
  const o = parsed.data;
  return {
    ...o,
    standardize: o.standardize ?? PREPROCESS_DEFAULTS.standardize,
    maxOneHot: o.maxOneHot ?? PREPROCESS_DEFAULTS.maxOneHot,
    impute: o.impute ?? PREPROCESS_DEFAULTS.impute,
    missing: o.missing ?? [...PREPROCESS_DEFAULTS.missing],
  };
}

function names(list: readonly string[], max = 8): string {
  return (
    list
      .slice(0, max)
      .map((n) => JSON.stringify(n))
      .join(', ') + (list.length > max ? `, ... (${list.length} in all)` : '')
  );
}

/** A column the table lacks: names the file, the column, what wanted it and the closest existing names. */
function missingColumn(table: CsvTable, column: string, role: string, fix: string) {
  const lower = column.toLowerCase();
  const close = table.header.filter(
    (h) =>
      h.toLowerCase() === lower ||
      h.toLowerCase().includes(lower) ||
      lower.includes(h.toLowerCase()),
  );
  const hint = close.length > 0 ? ` Did you mean ${names(close, 3)}?` : '';
  return csvError(
    table.file,
    { column },
    `the column ${JSON.stringify(column)} (${role}) is not in the header (the header has ${names(table.header)})`,
    `${fix}${hint}`,
    column,
  );
}

/** The largest finite float32, the type of every tensor mtgraph trains on. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** A feature value too large for float32 (or whose standardised value is): the DataError naming its cell. */
function overflowError(
  table: CsvTable,
  r: number,
  column: string,
  cell: string,
  scaled?: number,
  others = false,
): DataError {
  const stats = others ? 'the statistics of the other rows' : "the training rows' statistics";
  const what =
    scaled === undefined
      ? `the feature value ${cell} is too large for float32 (expected |value| <= 3.4e38)`
      : `the feature value ${cell} standardised with ${stats} is ${scaled.toPrecision(3)}, too large for float32 (expected |value| <= 3.4e38)`;
  return csvError(
    table.file,
    { line: table.lines[r]!, column },
    what,
    'Fix the cell, or rescale the column (e.g. log or divide by a constant) before training.',
    cell,
  );
}

/**
 * Refuses the value farthest from the mean when, standardised by the statistics of the other
 * values, it overflows float32: a split that leaves it out of the fitted rows (a validation row)
 * would fail on it, so every split and `validate --data` refuse it alike, naming its cell.
 */
function checkOutlier(
  table: CsvTable,
  column: string,
  cells: readonly string[],
  values: Float64Array,
  rows: readonly number[],
  m: number,
): void {
  if (values.length < 2) return;
  let far = 0;
  for (let i = 1; i < values.length; i++)
    if (Math.abs(values[i]! - m) > Math.abs(values[far]! - m)) far = i;
  let sum = 0;
  for (let i = 0; i < values.length; i++) if (i !== far) sum += values[i]!;
  const restMean = sum / (values.length - 1);
  let squares = 0;
  for (let i = 0; i < values.length; i++) if (i !== far) squares += (values[i]! - restMean) ** 2;
  const restStd = Math.sqrt(squares / (values.length - 1)) || 1;
  const scaled = (values[far]! - restMean) / restStd;
  if (!(Math.abs(scaled) <= FLOAT32_MAX))
    throw overflowError(table, rows[far]!, column, cells[rows[far]!]!, scaled, true);
}

function mean(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length > 0 ? s / values.length : 0;
}

function std(values: Float64Array, m: number): number {
  let s = 0;
  for (const v of values) s += (v - m) ** 2;
  return values.length > 1 ? Math.sqrt(s / values.length) : 0;
}

/**
 * Fits the preprocessing of a CSV table for a task graph: which columns are targets (each task's
 * `target`, default its id) and features (the graph's `input.columns`, else every other column),
 * and how each feature is encoded. Categorical columns are the graph's `input.categorical`,
 * `options.categorical`, and columns whose cells are mostly not numbers; a numeric column with a
 * few non-numeric cells is an error naming the first one. Statistics come from `options.rows`.
 */
export function fitPreprocessing(
  table: CsvTable,
  graph: unknown,
  options: PreprocessOptions = {},
): FittedPreprocessing {
  const o = resolvePreprocessOptions(options);
  const spec = readGraph(graph);
  const notes: string[] = [];
  const missing = new Set(o.missing);
  const has = (c: string) => table.columns.has(c);

  const targets: Record<string, string[]> = {};
  for (const t of spec.tasks) {
    for (const c of t.target) {
      if (!has(c)) {
        throw missingColumn(
          table,
          c,
          `the target of task ${JSON.stringify(t.id)}`,
          `Set the task's target attribute to the label column's name${t.target.length === 1 && c === t.id ? ' (it defaults to the task id)' : ''}, or rename the column.`,
        );
      }
    }
    targets[t.id] = [...t.target];
  }
  if (o.taskColumn !== undefined && !has(o.taskColumn))
    throw missingColumn(
      table,
      o.taskColumn,
      'the task column',
      'Name the column that says which task each row belongs to.',
    );

  const targetColumns = new Set(Object.values(targets).flat());
  const exclude = new Set([
    ...(o.exclude ?? []),
    ...(o.taskColumn !== undefined ? [o.taskColumn] : []),
  ]);
  for (const c of o.exclude ?? [])
    if (!has(c))
      throw missingColumn(
        table,
        c,
        'an excluded column',
        'Check the spelling of the excluded columns.',
      );
  let featureColumns: string[];
  let source: string;
  if (o.features) {
    featureColumns = o.features;
    source = 'options.features';
  } else if (spec.input?.columns) {
    featureColumns = spec.input.columns;
    source = "the graph's input.columns";
  } else {
    featureColumns = table.header.filter((c) => !targetColumns.has(c) && !exclude.has(c));
    source = 'every column that is not a target';
    if (spec.input?.features !== undefined && spec.input.features !== featureColumns.length) {
      throw csvError(
        table.file,
        {},
        `the graph declares ${spec.input.features} input feature(s) but the file has ${featureColumns.length} feature column(s) (${names(featureColumns)})`,
        `Name the feature columns in the graph (input: { columns: [...] }), exclude the extra columns, or set the graph's input to ${featureColumns.length}.`,
        featureColumns.length,
      );
    }
  }
  for (const c of featureColumns) {
    if (!has(c))
      throw missingColumn(
        table,
        c,
        `a feature, from ${source}`,
        'Add the column to the file, or remove it from the feature columns.',
      );
    if (targetColumns.has(c)) {
      const task = Object.entries(targets).find(([, cs]) => cs.includes(c))![0];
      throw csvError(
        table.file,
        { column: c },
        `the column ${JSON.stringify(c)} is both a feature (from ${source}) and the target of task ${JSON.stringify(task)}`,
        'A label must not be an input: remove it from the features.',
        c,
      );
    }
    if (c === o.taskColumn)
      throw csvError(
        table.file,
        { column: c },
        `the task column ${JSON.stringify(c)} is also a feature (from ${source})`,
        'Remove it from the features.',
        c,
      );
  }
  if (featureColumns.length === 0) {
    throw csvError(
      table.file,
      {},
      'no feature columns are left (every column is a target, the task column or excluded)',
      'Add feature columns to the file, or name them in the graph (input: { columns: [...] }).',
    );
  }

  // Tasks sharing a label column without a task column: every row counts for all of them.
  if (o.taskColumn === undefined) {
    const byColumn = new Map<string, string[]>();
    for (const [id, cs] of Object.entries(targets))
      for (const c of cs) byColumn.set(c, [...(byColumn.get(c) ?? []), id]);
    for (const [c, ids] of byColumn) {
      if (ids.length > 1)
        notes.push(
          `${ids.length} tasks (${names(ids, 3)}) read the same label column ${JSON.stringify(c)}: every row is a label of each of them. If each row belongs to one task, pass taskColumn (--task-column).`,
        );
    }
  }

  const rows = o.rows ? Array.from(o.rows) : undefined;
  if (rows) {
    for (const r of rows)
      if (!Number.isInteger(r) || r < 0 || r >= table.rows)
        throw new OptionsError(
          `${SCOPE}: options.rows holds ${show(r)}, not a row of ${table.file} (0..${table.rows - 1}) → at options.rows. Pass row indices of the table.`,
          { path: 'options.rows', got: r },
        );
    if (rows.length === 0)
      throw new OptionsError(
        `${SCOPE}: options.rows is empty → at options.rows. Fit on at least one row.`,
        { path: 'options.rows' },
      );
  }
  const fitRows = rows ?? Array.from({ length: table.rows }, (_, i) => i);
  const declared = new Set([...(spec.input?.categorical ?? []), ...(o.categorical ?? [])]);
  for (const c of declared)
    if (!featureColumns.includes(c))
      throw csvError(
        table.file,
        { column: c },
        `the categorical column ${JSON.stringify(c)} is not a feature column`,
        'Add it to the features or remove it from the categorical columns.',
        c,
      );

  const embed = spec.input?.embed ?? {};
  for (const c of Object.keys(embed)) {
    if (!featureColumns.includes(c))
      throw csvError(
        table.file,
        { column: c },
        `the embedded column ${JSON.stringify(c)} (graph input.embed) is not a feature column (the features come from ${source})`,
        'Add it to the features, or remove it from input.embed.',
        c,
      );
    if (declared.has(c))
      throw csvError(
        table.file,
        { column: c },
        `the column ${JSON.stringify(c)} is both embedded (graph input.embed) and categorical (one-hot or integer codes)`,
        'Remove it from the categorical columns (--categorical): an embedded column is read as categories already.',
        c,
      );
  }

  const detected: string[] = [];
  const features: FeatureEncoding[] = featureColumns.map((column) => {
    const cells = table.columns.get(column)!;
    const embedded = embed[column];
    if (embedded) {
      if (embedded.buckets !== undefined)
        return { column, type: 'embed', buckets: embedded.buckets };
      const counts = new Map<string, number>();
      for (const r of fitRows) counts.set(cells[r]!, (counts.get(cells[r]!) ?? 0) + 1);
      const vocabulary = vocabularyOf(counts, embedded.minCount);
      notes.push(
        `column ${JSON.stringify(column)} is embedded (dim ${embedded.dim}): ${vocabulary.length} of ${counts.size} value(s) in the vocabulary${embedded.minCount > 1 ? ` (seen at least ${embedded.minCount} times)` : ''}, the rest and unseen values read the out-of-vocabulary row 0.`,
      );
      return { column, type: 'embed', vocabulary, minCount: embedded.minCount };
    }
    let categorical = declared.has(column);
    const numbers: number[] = [];
    const numberRows: number[] = [];
    let firstBad = -1;
    let bad = 0;
    let present = 0;
    if (!categorical) {
      for (const r of fitRows) {
        const cell = cells[r]!;
        if (missing.has(cell)) continue;
        present++;
        const v = parseNumber(cell);
        if (v === undefined) {
          bad++;
          if (firstBad < 0) firstBad = r;
        } else if (Math.abs(v) > FLOAT32_MAX) {
          throw overflowError(table, r, column, cell);
        } else {
          numbers.push(v);
          numberRows.push(r);
        }
      }
      if (present === 0) {
        throw csvError(
          table.file,
          { column },
          `the feature column ${JSON.stringify(column)} has no values (every cell is empty or missing)`,
          'Fill the column, or exclude it from the features.',
        );
      }
      if (bad * 2 > present) {
        categorical = true;
        detected.push(column);
      } else if (bad > 0) {
        throw csvError(
          table.file,
          { line: table.lines[firstBad]!, column },
          `the cell is not a number (got ${JSON.stringify(cells[firstBad])}) in a numeric column (${present - bad} of ${present} cells are numbers)`,
          'Fix the cell, leave it empty to mark it missing (with --impute mean), or declare the column categorical (input.categorical or --categorical).',
          cells[firstBad],
        );
      }
    }
    if (categorical) {
      const seen = new Set<string>();
      for (const r of fitRows) seen.add(cells[r]!);
      const categories = [...seen].sort(compareCategories);
      if (categories.length <= o.maxOneHot) return { column, type: 'one-hot', categories };
      const codes = new Float64Array(fitRows.length);
      const index = new Map(categories.map((c, i) => [c, i]));
      fitRows.forEach((r, i) => {
        codes[i] = index.get(cells[r]!)!;
      });
      const m = o.standardize ? mean(codes) : 0;
      const s = o.standardize ? std(codes, m) || 1 : 1;
      notes.push(
        `column ${JSON.stringify(column)} has ${categories.length} categories (more than maxOneHot ${o.maxOneHot}): encoded as integer codes.`,
      );
      return { column, type: 'codes', categories, mean: m, scale: s };
    }
    const values = Float64Array.from(numbers);
    const m = mean(values);
    const s = std(values, m);
    if (o.standardize) checkOutlier(table, column, cells, values, numberRows, m);
    return {
      column,
      type: 'numeric',
      mean: o.standardize ? m : 0,
      scale: o.standardize ? s || 1 : 1,
      fill: o.impute === 'mean' ? m : null,
    };
  });
  if (detected.length > 0)
    notes.push(
      `${detected.length} column(s) are mostly not numbers and are encoded as categories: ${names(detected)}.`,
    );
  const columns = features.flatMap((f) =>
    f.type === 'one-hot' ? f.categories.map((c) => `${f.column}=${c}`) : [f.column],
  );
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup !== undefined)
    throw csvError(
      table.file,
      {},
      `two inputs would both be named ${JSON.stringify(dup)} (a column name clashes with a one-hot column "column=category")`,
      'Rename the column.',
      dup,
    );
  const preprocessing: Preprocessing = {
    format: 'mtgraph-preprocessing',
    version: 1,
    features,
    columns,
    targets,
    ...(o.taskColumn !== undefined
      ? { taskColumn: { column: o.taskColumn, ...(o.taskMap ? { map: { ...o.taskMap } } : {}) } }
      : {}),
    missing: [...o.missing],
    delimiter: o.delimiter ?? ',',
  };
  return { preprocessing, notes };
}

const name = z.string().min(1);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const scale = finite.refine((v) => v > 0, 'must be positive');
export const PreprocessingSchema = z.strictObject({
  format: z.literal('mtgraph-preprocessing'),
  version: z.literal(1),
  features: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({
          column: name,
          type: z.literal('numeric'),
          mean: finite,
          scale,
          fill: finite.nullable(),
        }),
        z.strictObject({
          column: name,
          type: z.literal('one-hot'),
          categories: z.array(z.string()).min(1),
        }),
        z.strictObject({
          column: name,
          type: z.literal('codes'),
          categories: z.array(z.string()).min(1),
          mean: finite,
          scale,
        }),
        z
          .strictObject({
            column: name,
            type: z.literal('embed'),
            vocabulary: z.array(z.string()).optional(),
            buckets: z.int().min(1).max(MAX_EMBED_BUCKETS).optional(),
            minCount: z.int().min(1).optional(),
          })
          .refine((e) => (e.vocabulary === undefined) !== (e.buckets === undefined), {
            message: 'an embedded column has either a vocabulary or buckets',
          }),
      ]),
    )
    .min(1),
  columns: z.array(name),
  targets: z.record(z.string(), z.array(name).min(1)),
  taskColumn: z
    .strictObject({ column: name, map: z.record(z.string(), z.string()).optional() })
    .optional(),
  missing: z.array(z.string()),
  delimiter: z.string().min(1),
});

/** Validates a saved preprocessing (e.g. `model.metadata.preprocessing`); a FileError names the problem. */
/**
 * What plan() needs of a preprocessing's embedded columns: each one's table rows, as
 * `options.vocabularies` (`{ ids: rows }`: the encoded data holds the ids). Empty when none.
 */
export function preprocessingVocabularies(p: Preprocessing): Record<string, { ids: number }> {
  return Object.fromEntries(
    p.features.flatMap((f) =>
      f.type === 'embed'
        ? [[f.column, { ids: f.vocabulary ? f.vocabulary.length + 1 : f.buckets! }]]
        : [],
    ),
  );
}

export function parsePreprocessing(value: unknown, where = 'preprocessing'): Preprocessing {
  if (!isPlainObject(value)) {
    throw new FileError(
      `${SCOPE}: ${where} is not a saved preprocessing (got ${show(value)}). Train the model from a CSV file (mtgraph train), or save model.metadata.preprocessing from readCsv.`,
      { path: where, got: value },
    );
  }
  const parsed = PreprocessingSchema.safeParse(value);
  if (!parsed.success) throw zodError(parsed.error, where, FileError, SCOPE);
  const p = parsed.data as Preprocessing;
  const width = p.features.reduce(
    (s, f) => s + (f.type === 'one-hot' ? f.categories.length : 1),
    0,
  );
  if (width !== p.columns.length) {
    throw new FileError(
      `${SCOPE}: ${where} is inconsistent: its features make ${width} inputs but it names ${p.columns.length} → at ${where}.columns. Save the model again.`,
      { path: `${where}.columns` },
    );
  }
  return p;
}

/** Features and labels encoded from a table. */
export interface EncodedTable {
  rows: number;
  /** Inputs per row (= preprocessing.columns.length). */
  width: number;
  /** rows * width, row-major. */
  x: Float32Array;
  /** Per task: rows * (label columns), NaN where the label is missing; absent when the file has no label column for it. */
  labels: Record<string, Float32Array>;
  /** Long format: each row's task index (in `tasks` order). */
  rowTask?: Int32Array;
  notes: string[];
}

export interface ApplyPreprocessingOptions {
  /** 'required' (default): every task's label columns must be in the file; 'optional': read them when present (prediction). */
  labels?: 'required' | 'optional';
}

/**
 * Encodes a table with a fitted preprocessing: the features in `preprocessing.columns` order and
 * each task's labels (class names to indices, empty cells to NaN; in long format only the row's
 * own task is labelled). Every cell is checked; a bad one raises a DataError with its line and column.
 */
export function applyPreprocessing(
  table: CsvTable,
  preprocessing: Preprocessing,
  tasks: readonly CsvTask[],
  options: ApplyPreprocessingOptions = {},
): EncodedTable {
  const p = preprocessing;
  const missing = new Set(p.missing);
  const rows = table.rows;
  const width = p.columns.length;
  const x = new Float32Array(rows * width);
  const notes: string[] = [];
  let offset = 0;
  for (const f of p.features) {
    const cells = table.columns.get(f.column);
    if (!cells)
      throw missingColumn(
        table,
        f.column,
        'a feature of the model',
        'The file must have every feature column the model was trained on.',
      );
    if (f.type === 'numeric') {
      for (let r = 0; r < rows; r++) {
        const cell = cells[r]!;
        let v: number | undefined;
        if (missing.has(cell)) {
          if (f.fill === null) {
            throw csvError(
              table.file,
              { line: table.lines[r]!, column: f.column },
              `the feature cell is empty or missing (got ${JSON.stringify(cell)}); only labels may be missing`,
              'Fill the cell, drop the row, or impute missing features with the column mean (--impute mean / impute: "mean").',
              cell,
            );
          }
          v = f.fill;
        } else {
          v = parseNumber(cell);
          if (v === undefined) {
            throw csvError(
              table.file,
              { line: table.lines[r]!, column: f.column },
              `the cell is not a number (got ${JSON.stringify(cell)}) in a numeric feature column`,
              'Fix the cell, or declare the column categorical (input.categorical or --categorical) and train again.',
              cell,
            );
          }
        }
        const scaled = (v - f.mean) / f.scale;
        if (!(Math.abs(scaled) <= FLOAT32_MAX))
          throw overflowError(
            table,
            r,
            f.column,
            cell,
            Math.abs(v) > FLOAT32_MAX ? undefined : scaled,
          );
        x[r * width + offset] = scaled;
      }
      offset += 1;
    } else if (f.type === 'embed') {
      const lookup = idLookup(f);
      let unseen = 0;
      for (let r = 0; r < rows; r++) {
        const id = lookup(cells[r]!);
        if (id === 0 && f.vocabulary) unseen++;
        x[r * width + offset] = id;
      }
      if (unseen > 0)
        notes.push(
          `column ${JSON.stringify(f.column)}: ${unseen} row(s) hold a value outside the embedding's vocabulary (read as the out-of-vocabulary row 0).`,
        );
      offset += 1;
    } else {
      const index = new Map(f.categories.map((c, i) => [c, i]));
      let unseen = 0;
      for (let r = 0; r < rows; r++) {
        const k = index.get(cells[r]!);
        if (k === undefined) unseen++;
        if (f.type === 'one-hot') {
          if (k !== undefined) x[r * width + offset + k] = 1;
        } else {
          x[r * width + offset] = ((k ?? -1) - f.mean) / f.scale;
        }
      }
      if (unseen > 0)
        notes.push(
          `column ${JSON.stringify(f.column)}: ${unseen} row(s) hold a category not seen in fitting (${f.type === 'one-hot' ? 'encoded as all zeros' : 'encoded as code -1'}).`,
        );
      offset += f.type === 'one-hot' ? f.categories.length : 1;
    }
  }

  let rowTask: Int32Array | undefined;
  if (p.taskColumn) {
    const { column } = p.taskColumn;
    const cells = table.columns.get(column);
    if (!cells)
      throw missingColumn(
        table,
        column,
        'the task column',
        'The file must say which task each row belongs to, as the training file did.',
      );
    const resolve = taskResolver(tasks, p.taskColumn.map);
    rowTask = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const k = resolve(cells[r]!);
      if (k < 0) {
        throw csvError(
          table.file,
          { line: table.lines[r]!, column },
          `the task column names no task of the graph (got ${JSON.stringify(cells[r])}; tasks are ${names(
            tasks.map((t) => t.id),
            5,
          )})`,
          'A value must be a task id, or a number matching the trailing number of one task id (7 for school_007); fix the value, or add the task to the graph.',
          cells[r],
        );
      }
      rowTask[r] = k;
    }
  }

  const labels: Record<string, Float32Array> = {};
  tasks.forEach((task, k) => {
    const cols = p.targets[task.id] ?? task.target;
    const absent = cols.filter((c) => !table.columns.has(c));
    if (absent.length > 0) {
      if (options.labels === 'optional') return;
      throw missingColumn(
        table,
        absent[0]!,
        `the target of task ${JSON.stringify(task.id)}`,
        'Add the label column to the file (empty cells for unknown labels), or use predict, which needs no labels.',
      );
    }
    const w = cols.length;
    const width = task.kind === 'regression' || task.kind === 'multilabel' ? task.outputs : 1;
    if (w !== width) {
      throw csvError(
        table.file,
        {},
        `task ${JSON.stringify(task.id)} needs ${width} label column(s) (got target ${names(cols)})`,
        `Set the task's target to ${width === 1 ? 'one column' : `${width} columns, one per ${task.kind === 'regression' ? 'output' : 'label'}`}.`,
        cols,
      );
    }
    const out = new Float32Array(rows * width).fill(NaN);
    const columnCells = cols.map((c) => table.columns.get(c)!);
    for (let r = 0; r < rows; r++) {
      if (rowTask && rowTask[r] !== k) continue;
      for (let j = 0; j < width; j++) {
        const cell = columnCells[j]![r]!;
        const v = encodeLabelCell(cell, task, missing);
        if (v === undefined) {
          throw csvError(
            table.file,
            { line: table.lines[r]!, column: cols[j]! },
            `the cell is not a label of ${task.kind} task ${JSON.stringify(task.id)} (got ${JSON.stringify(cell)}; expected ${expectedLabel(task)})`,
            'Fix the cell, or leave it empty to mark the label missing.',
            cell,
          );
        }
        out[r * width + j] = v;
      }
    }
    labels[task.id] = out;
  });
  return { rows, width, x, labels, ...(rowTask ? { rowTask } : {}), notes };
}
