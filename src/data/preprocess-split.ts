import { OptionsError, show } from '../errors.js';
import { seededRandom } from '../graph/random.js';
import { parseNumber } from './preprocess-cells.js';

/** Options of `splitRows`. */
export interface SplitOptions {
  /** Seed of the shuffling (default 0). */
  seed?: number;
  /** Fraction of the rows for validation, in [0, 1) (default 0). */
  valid?: number;
  /** Fraction of the rows for testing, in [0, 1) (default 0). */
  test?: number;
  /**
   * One value per row: each value's rows are split in the same proportions (e.g. a class label,
   * or the task column in long format). Numeric values with more than 20 distinct values are
   * first binned into 10 quantiles.
   */
  stratify?: readonly string[];
  /** One value per row: rows with the same value stay in the same part (e.g. a patient or trajectory id). */
  groups?: readonly string[];
  /**
   * Per task, one flag per row: true where the task has a label (wide data where tasks label
   * different rows). After the split, a task with two or more labelled rows keeps at least one
   * for training and, when `valid` > 0, gets at least one validation row; a task with one keeps
   * it for training. Rows move between parts only where no other task loses its last training row.
   */
  labelled?: readonly (readonly boolean[])[];
}

/** Row indices (ascending) of each part. */
export interface Split {
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
}

const SCOPE = 'mtgraph/split';

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Stratum keys: the values, or decile bins of them when they are numbers with many distinct values. */
function strata(values: readonly string[]): string[] {
  const distinct = new Set(values);
  if (distinct.size <= 20) return [...values];
  const numbers = values.map((v) => parseNumber(v));
  if (numbers.some((n, i) => n === undefined && values[i] !== '')) return [...values];
  const sorted = numbers.filter((n): n is number => n !== undefined).sort((a, b) => a - b);
  const cuts = Array.from(
    { length: 9 },
    (_, k) => sorted[Math.floor(((k + 1) * sorted.length) / 10)]!,
  );
  return numbers.map((n) => (n === undefined ? '' : `q${cuts.filter((c) => n >= c).length}`));
}

function checkFraction(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new OptionsError(
      `${SCOPE}: ${name} must be a fraction in [0, 1) (got ${show(value)}) → at options.${name}. Use e.g. ${name}: 0.2.`,
      { path: `options.${name}`, got: value },
    );
  }
  return value;
}

/**
 * Moves rows between parts so that every task with two or more labelled rows has one for
 * training and (with `wantValid`) one for validation, and a task's only labelled row trains;
 * smallest tasks first, and a row leaves training only when each of its tasks keeps another.
 */
function keepEveryTask(
  part: Int8Array,
  labelled: readonly (readonly boolean[])[],
  wantValid: boolean,
): void {
  const rowsOf = labelled.map((flags) => {
    const out: number[] = [];
    flags.forEach((f, r) => {
      if (f) out.push(r);
    });
    return out;
  });
  const tasksOf = new Map<number, number[]>();
  rowsOf.forEach((rows, t) => {
    for (const r of rows) {
      const list = tasksOf.get(r);
      if (list) list.push(t);
      else tasksOf.set(r, [t]);
    }
  });
  const trainCount = (t: number) => rowsOf[t]!.filter((r) => part[r] === 0).length;
  const order = rowsOf.map((_, t) => t).sort((a, b) => rowsOf[a]!.length - rowsOf[b]!.length);
  for (const t of order) {
    const rows = rowsOf[t]!;
    if (rows.length === 0) continue;
    if (trainCount(t) === 0) {
      // the task's first held-out row (validation before test) goes back to training
      const back = rows.find((r) => part[r] === 1) ?? rows[0]!;
      part[back] = 0;
    }
    if (!wantValid || rows.length < 2 || rows.some((r) => part[r] === 1)) continue;
    // a test row of the task becomes its validation row, else a training row its tasks can spare
    const out =
      rows.find((r) => part[r] === 2 && rows.filter((q) => part[q] === 2).length >= 2) ??
      rows.find((r) => part[r] === 0 && tasksOf.get(r)!.every((other) => trainCount(other) >= 2)) ??
      rows.find((r) => part[r] === 2);
    if (out !== undefined) part[out] = 1;
  }
}

/**
 * Splits `rows` rows into train / validation / test parts, seeded: plainly at random, stratified
 * (each stratum split in the same proportions, so every class or task is in every part), or
 * grouped (whole groups go to one part). The parts' sizes are within a row (a group) of the fractions.
 */
export function splitRows(rows: number, options: SplitOptions = {}): Split {
  if (!Number.isInteger(rows) || rows < 0)
    throw new OptionsError(
      `${SCOPE}: rows must be a whole number >= 0 (got ${show(rows)}) → at rows.`,
      { path: 'rows', got: rows },
    );
  const valid = checkFraction(options.valid, 'valid');
  const test = checkFraction(options.test, 'test');
  if (valid + test >= 1) {
    throw new OptionsError(
      `${SCOPE}: valid + test must leave rows for training (got ${valid} + ${test} >= 1) → at options. Use smaller fractions, e.g. valid: 0.1, test: 0.2.`,
      { path: 'options', got: valid + test },
    );
  }
  if (options.stratify && options.groups) {
    throw new OptionsError(
      `${SCOPE}: stratify and groups cannot be combined → at options. Pass one of them.`,
      { path: 'options' },
    );
  }
  for (const key of ['stratify', 'groups'] as const) {
    const values = options[key];
    if (values !== undefined && (!Array.isArray(values) || values.length !== rows)) {
      throw new OptionsError(
        `${SCOPE}: options.${key} must hold one value per row (got ${show(values)}; expected ${rows}) → at options.${key}.`,
        { path: `options.${key}`, got: values },
      );
    }
  }
  const random = seededRandom(options.seed ?? 0);
  const part = new Int8Array(rows); // 0 train, 1 valid, 2 test
  if (options.groups) {
    const byGroup = new Map<string, number[]>();
    options.groups.forEach((g, r) => {
      const list = byGroup.get(g);
      if (list) list.push(r);
      else byGroup.set(g, [r]);
    });
    const order = shuffle([...byGroup.keys()].sort(), random);
    let testRows = 0;
    let validRows = 0;
    for (const g of order) {
      const members = byGroup.get(g)!;
      let p = 0;
      if (testRows + members.length / 2 <= test * rows) {
        p = 2;
        testRows += members.length;
      } else if (validRows + members.length / 2 <= valid * rows) {
        p = 1;
        validRows += members.length;
      }
      for (const r of members) part[r] = p;
    }
  } else {
    const keys = options.stratify ? strata(options.stratify) : new Array<string>(rows).fill('');
    const byStratum = new Map<string, number[]>();
    keys.forEach((k, r) => {
      const list = byStratum.get(k);
      if (list) list.push(r);
      else byStratum.set(k, [r]);
    });
    // Carry the rounding remainders from one stratum to the next, so the totals stay on target.
    let carryTest = 0;
    let carryValid = 0;
    for (const k of [...byStratum.keys()].sort()) {
      const members = shuffle(byStratum.get(k)!, random);
      const n = members.length;
      // At least one row of each stratum (a task in long format) stays for training.
      const nTest = Math.min(Math.max(0, n - 1), Math.floor(n * test + carryTest + 1e-9));
      carryTest += n * test - nTest;
      const nValid = Math.min(
        Math.max(0, n - 1 - nTest),
        Math.floor(n * valid + carryValid + 1e-9),
      );
      carryValid += n * valid - nValid;
      members.forEach((r, i) => {
        part[r] = i < nTest ? 2 : i < nTest + nValid ? 1 : 0;
      });
    }
  }
  if (options.labelled && !options.groups) keepEveryTask(part, options.labelled, valid > 0);
  const pick = (p: number) => {
    const out: number[] = [];
    for (let r = 0; r < rows; r++) if (part[r] === p) out.push(r);
    return Int32Array.from(out);
  };
  return { train: pick(0), valid: pick(1), test: pick(2) };
}
