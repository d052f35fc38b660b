/** The CLI's data steps: read a CSV for a graph (fit the preprocessing) or for a saved model (reapply it), split rows. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DataError, FileError, OptionsError } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import { openRegularFile } from '../io/files.js';
import { readGraph } from '../schema/validate.js';
import {
  applyPreprocessing,
  fitPreprocessing,
  parsePreprocessing,
  preprocessingVocabularies,
  PREPROCESS_DEFAULTS,
  readCsvTable,
  splitRows,
  toCsvData,
  type CsvData,
  type CsvTable,
  type CsvTask,
  type EncodedTable,
  type Preprocessing,
  type Split,
} from '../data/index.js';
import type { CsvFlags } from './options.js';

/** SHA-256 of a file (hex), streaming. */
export async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await openRegularFile(file, 'data file', 'mtgraph/cli');
  for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface SplitFlags {
  seed: number;
  valid: number;
  test: number;
  stratify?: string;
  group?: string;
}

/** How the rows were split, as saved in the model's metadata so `eval --split test` finds the same rows. */
export interface SplitRecord {
  seed: number;
  valid: number;
  test: number;
  stratify?: string;
  group?: string;
  rows: number;
  sha256: string;
  sizes: { train: number; valid: number; test: number };
}

function column(table: CsvTable, name: string, flag: string): string[] {
  const cells = table.columns.get(name);
  if (!cells)
    throw new OptionsError(
      `mtgraph/cli: ${flag} names no column of ${table.file} (got ${JSON.stringify(name)}; the header has ${table.header.slice(0, 8).join(', ')}${table.header.length > 8 ? ', ...' : ''}) → at ${flag}. Name a column of the file, or a task.`,
      { path: flag, got: name },
    );
  return cells;
}

/** Per task, whether each row has a label in the task's first target column (not a missing cell; not -1 for a class label). */
function labelledRows(table: CsvTable, tasks: readonly CsvTask[]): boolean[][] {
  const missing = new Set<string>(PREPROCESS_DEFAULTS.missing);
  return tasks.map((t) => {
    const cells = table.columns.get(t.target[0]!);
    if (!cells) return [];
    return cells.map((c) => {
      const v = c.trim();
      return !missing.has(v) && !(t.kind !== 'regression' && v === '-1');
    });
  });
}

/** Splits a table's rows: stratified by a task's label column or a column (default: the task column in long format), or grouped by a column. */
export function splitTable(
  table: CsvTable,
  tasks: readonly CsvTask[],
  flags: SplitFlags,
  taskColumn: string | undefined,
): { split: Split; stratify?: string } {
  let stratify: string[] | undefined;
  let by = flags.stratify;
  if (by !== undefined) {
    const task = tasks.find((t) => t.id === by);
    if (task) by = task.target[0]!;
    stratify = column(table, by, '--stratify');
  } else if (taskColumn !== undefined && flags.group === undefined) {
    by = taskColumn;
    stratify = column(table, taskColumn, '--task-column');
  }
  const groups = flags.group !== undefined ? column(table, flags.group, '--group') : undefined;
  // Wide data: each task keeps a training row and gets a validation row of its own (#14).
  const labelled = taskColumn === undefined ? labelledRows(table, tasks) : undefined;
  const split = splitRows(table.rows, {
    ...(labelled ? { labelled } : {}),
    seed: flags.seed,
    valid: flags.valid,
    test: flags.test,
    ...(stratify ? { stratify } : {}),
    ...(groups ? { groups } : {}),
  });
  return { split, ...(by !== undefined && stratify ? { stratify: by } : {}) };
}

/** Everything `train` reads: the table, its split, the preprocessing fitted on the training rows, the encoded parts. */
export interface TrainingData {
  table: CsvTable;
  tasks: CsvTask[];
  preprocessing: Preprocessing;
  notes: string[];
  split: SplitRecord;
  /** The table rows of the training part, in the order of `train`'s rows. */
  trainRows: Int32Array;
  train: CsvData;
  valid?: CsvData;
  test?: CsvData;
}

export async function readTrainingData(
  graph: unknown,
  file: string,
  csv: CsvFlags,
  splitFlags: SplitFlags,
): Promise<TrainingData> {
  const tasks = readGraph(graph).tasks;
  const table = await readCsvTable(file, { delimiter: csv.delimiter });
  const { split, stratify } = splitTable(table, tasks, splitFlags, csv.taskColumn);
  if (split.train.length === 0)
    throw new OptionsError(
      `mtgraph/cli: no rows are left for training (${table.rows} row(s) in ${file}) → at --valid/--test. Use smaller fractions or more data.`,
      { path: '--test' },
    );
  const fitted = fitPreprocessing(table, graph, {
    ...(csv.taskColumn !== undefined ? { taskColumn: csv.taskColumn } : {}),
    ...(csv.categorical ? { categorical: csv.categorical } : {}),
    ...(csv.exclude ? { exclude: csv.exclude } : {}),
    standardize: csv.standardize,
    maxOneHot: csv.maxOneHot,
    impute: csv.impute,
    delimiter: csv.delimiter,
    rows: split.train,
  });
  const encoded = applyPreprocessing(table, fitted.preprocessing, tasks);
  const part = (rows: Int32Array) =>
    rows.length > 0 ? toCsvData(encoded, table, fitted.preprocessing, tasks, [], rows) : undefined;
  const train = toCsvData(encoded, table, fitted.preprocessing, tasks, [], split.train);
  if (train.unlabelled.length === tasks.length) {
    throw new DataError(
      `mtgraph/cli: no task has a label in the training rows of ${file} (every target cell is empty) → at ${file}. Fill the label columns: ${tasks
        .slice(0, 5)
        .map((t) => t.target.join('+'))
        .join(', ')}.`,
      { path: file },
    );
  }
  const record: SplitRecord = {
    seed: splitFlags.seed,
    valid: splitFlags.valid,
    test: splitFlags.test,
    ...(stratify !== undefined ? { stratify } : {}),
    ...(splitFlags.group !== undefined ? { group: splitFlags.group } : {}),
    rows: table.rows,
    sha256: await fileDigest(file),
    sizes: { train: split.train.length, valid: split.valid.length, test: split.test.length },
  };
  const valid = part(split.valid);
  const test = part(split.test);
  return {
    table,
    tasks,
    preprocessing: fitted.preprocessing,
    split: record,
    trainRows: split.train,
    notes: [
      ...fitted.notes,
      ...encoded.notes,
      ...train.notes.filter((n) => !encoded.notes.includes(n)),
    ],
    train,
    ...(valid ? { valid } : {}),
    ...(test ? { test } : {}),
  };
}

/** The preprocessing saved with a model, or a FileError saying the model was not trained from a CSV. */
export function savedPreprocessing(metadata: Record<string, unknown>, dir: string): Preprocessing {
  if (metadata.preprocessing === undefined) {
    throw new FileError(
      `mtgraph/cli: the model in ${dir} has no saved preprocessing (metadata.json has no metadata.preprocessing), so its CSV columns are unknown → at ${path.join(dir, 'metadata.json')}. Train it with mtgraph train, or set model.metadata.preprocessing = (await readCsv(...)).preprocessing before saveModel.`,
      { path: dir },
    );
  }
  return parsePreprocessing(
    metadata.preprocessing,
    `metadata.preprocessing in ${path.join(dir, 'metadata.json')}`,
  );
}

/** The split saved with a model (metadata.training.split), if any. */
export function savedSplit(metadata: Record<string, unknown>): SplitRecord | undefined {
  const training = metadata.training;
  if (!isPlainObject(training) || !isPlainObject(training.split)) return undefined;
  return training.split as unknown as SplitRecord;
}

export type SplitName = 'all' | 'train' | 'valid' | 'test';

/** Reads a CSV for a saved model: reapplies its preprocessing; `split` picks the rows of a part of the training split. */
export async function readModelData(
  tasks: readonly CsvTask[],
  metadata: Record<string, unknown>,
  dir: string,
  file: string,
  options: { labels: 'required' | 'optional'; split: SplitName },
): Promise<{ csv: CsvData; encoded: EncodedTable; table: CsvTable }> {
  const preprocessing = savedPreprocessing(metadata, dir);
  const table = await readCsvTable(file, { delimiter: preprocessing.delimiter });
  const encoded = applyPreprocessing(table, preprocessing, tasks, { labels: options.labels });
  let rows: Int32Array | undefined;
  if (options.split !== 'all') {
    const saved = savedSplit(metadata);
    if (!saved)
      throw new OptionsError(
        `mtgraph/cli: --split ${options.split} needs the split saved by mtgraph train, and the model in ${dir} has none → at --split. Use --split all, or pass the rows to score in their own file.`,
        { path: '--split' },
      );
    const digest = await fileDigest(file);
    if (digest !== saved.sha256 || table.rows !== saved.rows) {
      throw new OptionsError(
        `mtgraph/cli: --split ${options.split} needs the file the model was trained on, and ${file} differs from it (${table.rows} rows, sha256 ${digest.slice(0, 12)}...; trained on ${saved.rows} rows, ${saved.sha256.slice(0, 12)}...) → at --split. Pass the training file, or use --split all.`,
        { path: '--split' },
      );
    }
    const { split } = splitTable(table, tasks, saved, preprocessing.taskColumn?.column);
    rows = split[options.split];
    if (rows.length === 0)
      throw new OptionsError(
        `mtgraph/cli: the ${options.split} part of the split is empty → at --split. Use --split all.`,
        { path: '--split' },
      );
  }
  const csv = toCsvData(encoded, table, preprocessing, tasks, [], rows);
  return { csv, encoded, table };
}

/**
 * The feature columns a CSV file gives a graph (`plan --data`, `viz --data`): its preprocessing
 * fitted with the CSV flags; the fitting's notes go to `warn`.
 */
export async function featureColumnsOf(
  file: string,
  graph: unknown,
  flags: CsvFlags,
  warn: (text: string) => void,
): Promise<string[]> {
  return (await featureInputOf(file, graph, flags, warn)).columns;
}

/** As featureColumnsOf, with the embedded columns' table sizes (plan's `vocabularies`). */
export async function featureInputOf(
  file: string,
  graph: unknown,
  flags: CsvFlags,
  warn: (text: string) => void,
): Promise<{ columns: string[]; vocabularies: Record<string, { ids: number }> }> {
  const table = await readCsvTable(file, { delimiter: flags.delimiter });
  const fitted = fitPreprocessing(table, graph, {
    ...(flags.taskColumn !== undefined ? { taskColumn: flags.taskColumn } : {}),
    ...(flags.categorical ? { categorical: flags.categorical } : {}),
    ...(flags.exclude ? { exclude: flags.exclude } : {}),
    standardize: flags.standardize,
    maxOneHot: flags.maxOneHot,
    impute: flags.impute,
  });
  for (const note of fitted.notes) warn(note);
  return {
    columns: fitted.preprocessing.columns,
    vocabularies: preprocessingVocabularies(fitted.preprocessing),
  };
}
