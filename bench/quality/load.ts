/**
 * Small helpers shared by the quality benchmarks (bench/quality/*.ts): reading the numeric CSVs
 * of ../shared/data with a header row, seeded splits, preprocessing fitted on training rows only
 * (standardisation, one-hot), scores, and markdown tables.
 *
 * mtgraph's own `readCsv` fits its preprocessing on the whole file it reads, and was not exported
 * from src/index.ts when these benchmarks were written; the protocols here need the
 * preprocessing fitted on the training part of each split, so this loader stays small and local.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { seededRandom } from '../../src/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** ../shared/data next to the checkout (MTGRAPH_DATA overrides). */
export const DATA_DIR = process.env.MTGRAPH_DATA ?? resolve(HERE, '../../../shared/data');

/** The path of a data file, or exit with a clear message when ../shared/data is absent. */
export function dataPath(...parts: string[]): string {
  const path = resolve(DATA_DIR, ...parts);
  if (!existsSync(path)) {
    console.error(
      `missing ${path}: the quality benchmarks need the data sets in ../shared/data (or MTGRAPH_DATA=dir).`,
    );
    process.exit(2);
  }
  return path;
}

/** A CSV file as columns: numbers where every non-empty cell of the column parses, else strings. */
export interface Table {
  header: string[];
  rows: number;
  numeric: Map<string, Float64Array>;
  text: Map<string, string[]>;
}

export function readTable(path: string): Table {
  const records = parse(readFileSync(path, 'utf8'), {
    skip_empty_lines: true,
    trim: true,
  }) as string[][];
  const header = records[0]!;
  const body = records.slice(1);
  const numeric = new Map<string, Float64Array>();
  const text = new Map<string, string[]>();
  header.forEach((name, c) => {
    const values = new Float64Array(body.length);
    let isNumber = true;
    for (let r = 0; r < body.length; r++) {
      const cell = body[r]![c] ?? '';
      const v = cell === '' ? NaN : Number(cell);
      if (cell !== '' && !Number.isFinite(v)) {
        isNumber = false;
        break;
      }
      values[r] = v;
    }
    if (isNumber) numeric.set(name, values);
    else
      text.set(
        name,
        body.map((row) => row[c] ?? ''),
      );
  });
  return { header, rows: body.length, numeric, text };
}

export function column(table: Table, name: string): Float64Array {
  const c = table.numeric.get(name);
  if (!c) throw new Error(`column ${name} is not numeric (or absent) in the table`);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness and splits

/** mulberry32 in [0, 1): mtgraph's own seeded source (the same stream for whole-number seeds). */
export const rng = (seed: number): (() => number) => seededRandom(seed);

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Splits 0..n-1 into consecutive parts of a seeded permutation by fractions (the last takes the rest). */
export function splitIndices(n: number, fractions: number[], seed: number): number[][] {
  const order = shuffled(
    Array.from({ length: n }, (_, i) => i),
    rng(seed),
  );
  const parts: number[][] = [];
  let start = 0;
  fractions.forEach((f, k) => {
    const end = k === fractions.length - 1 ? n : start + Math.round(f * n);
    parts.push(order.slice(start, end).sort((a, b) => a - b));
    start = end;
  });
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Features: built column by column, preprocessing fitted on training rows only

export interface FeatureColumn {
  name: string;
  /** Values for every row of the table. */
  values: Float64Array;
}

/** Column mean and standard deviation over `rows` (std 1 where constant). */
export function moments(
  values: ArrayLike<number>,
  rows: ArrayLike<number>,
): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  let n = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = values[rows[i]!]!;
    if (Number.isNaN(v)) continue;
    s += v;
    s2 += v * v;
    n++;
  }
  const mean = n > 0 ? s / n : 0;
  const variance = n > 1 ? (s2 - n * mean * mean) / (n - 1) : 0;
  return { mean, std: variance > 1e-12 ? Math.sqrt(variance) : 1 };
}

/** One-hot columns of a categorical column (numeric codes or strings); categories seen in `fitRows`, sorted. */
export function oneHot(
  name: string,
  values: ArrayLike<number | string>,
  fitRows: ArrayLike<number>,
): FeatureColumn[] {
  const seen = new Set<number | string>();
  for (let i = 0; i < fitRows.length; i++) seen.add(values[fitRows[i]!]!);
  const categories = [...seen].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
  );
  return categories.map((cat) => {
    const out = new Float64Array(values.length);
    for (let r = 0; r < values.length; r++) out[r] = values[r] === cat ? 1 : 0;
    return { name: `${name}=${cat}`, values: out };
  });
}

/**
 * Row-major Float32 features of `rows` from columns, each standardised with the mean and std of
 * `fitRows` (the training part). Constant columns (on the training rows) are dropped.
 */
export function featureMatrix(
  columns: FeatureColumn[],
  fitRows: ArrayLike<number>,
): {
  names: string[];
  take(rows: ArrayLike<number>): { values: Float32Array; shape: [number, number] };
} {
  const kept: { name: string; values: Float64Array; mean: number; std: number }[] = [];
  for (const c of columns) {
    const { mean, std } = moments(c.values, fitRows);
    let constant = true;
    const first = c.values[fitRows[0]!]!;
    for (let i = 1; i < fitRows.length && constant; i++)
      if (c.values[fitRows[i]!] !== first) constant = false;
    if (constant) continue;
    kept.push({ name: c.name, values: c.values, mean, std });
  }
  const d = kept.length;
  return {
    names: kept.map((k) => k.name),
    take(rows) {
      const out = new Float32Array(rows.length * d);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        for (let j = 0; j < d; j++) {
          const k = kept[j]!;
          out[i * d + j] = (k.values[r]! - k.mean) / k.std;
        }
      }
      return { values: out, shape: [rows.length, d] };
    },
  };
}

export function pick(values: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]!]!;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scores

/** ROC AUC with ties averaged (Mann-Whitney U); NaN without both classes. */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[order[k]!]! > 0.5) {
        pos++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function rmse(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < truth.length; i++) s += (pred[i]! - truth[i]!) ** 2;
  return Math.sqrt(s / truth.length);
}

export function meanStd(values: number[]): { mean: number; std: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std };
}

// ---------------------------------------------------------------------------------------------
// Output

export function markdownTable(
  header: string[],
  rows: (string | number)[][],
  align?: ('l' | 'r')[],
): string {
  const sep = header.map((_, i) =>
    (align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---',
  );
  return [header, sep, ...rows.map((r) => r.map(String))]
    .map((r) => `| ${r.join(' | ')} |`)
    .join('\n');
}

export const QUICK = process.argv.includes('--quick');

/** The value after `--name` on the command line, if any. */
export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function elapsed(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

/** The command that ran this benchmark, with every option given (for the logs and BENCHMARKS.md). */
export function commandLine(script: string): string {
  return ['npx tsx', script, ...process.argv.slice(2)].join(' ');
}
