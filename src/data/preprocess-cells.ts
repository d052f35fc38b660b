import type { PlanTask } from '../plan/types.js';
import { targetOf } from './targets.js';

/** What the CSV reader needs to know of a task (a TaskSpec or a PlanTask). */
export type CsvTask = Pick<PlanTask, 'id' | 'kind' | 'outputs' | 'outputNames' | 'target'>;

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A decimal number (`12`, `-0.5`, `1e-3`), or undefined. Hex, `Infinity` and blanks are not numbers. */
export function parseNumber(cell: string): number | undefined {
  if (!NUMBER.test(cell)) return undefined;
  const v = Number(cell);
  return Number.isFinite(v) ? v : undefined;
}

/** Orders category names: numerically when both are numbers, else by code point (locale-independent). */
export function compareCategories(a: string, b: string): number {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (x !== undefined && y !== undefined && x !== y) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

const TRUE = new Set(['true', 'yes']);
const FALSE = new Set(['false', 'no']);

/**
 * Encodes one label cell of a task column: the number to store, NaN when the cell is missing,
 * or undefined when it is not a label of the task. Multiclass cells match a class name first,
 * then a class index; binary and multilabel cells take 0/1, true/false or yes/no.
 */
export function encodeLabelCell(
  cell: string,
  task: CsvTask,
  missing: ReadonlySet<string>,
): number | undefined {
  if (missing.has(cell)) return NaN;
  let value: unknown;
  if (task.kind === 'multiclass' && task.outputNames.includes(cell)) value = cell;
  else {
    const n = parseNumber(cell);
    if (n !== undefined) value = n;
    else if (task.kind === 'binary' || task.kind === 'multilabel') {
      const lower = cell.toLowerCase();
      value = TRUE.has(lower) ? true : FALSE.has(lower) ? false : cell;
    } else value = cell;
  }
  const v = targetOf(task as PlanTask).encode(value, task as PlanTask);
  return v;
}

/** What a label cell of the task may hold, for messages. */
export function expectedLabel(task: CsvTask): string {
  return (
    targetOf(task as PlanTask)
      .expected(task as PlanTask)
      .replace(/ \([^)]*missing label\)$/, '') + ' (an empty cell for a missing label)'
  );
}

/**
 * Maps the values of a task column to tasks: a value names the task with that id, the task the
 * explicit `map` gives, or the task whose id ends in the same number (`7` and `"07"` match
 * `school_007`, when only one task id ends in 7). Returns the task index, or -1.
 */
export function taskResolver(
  tasks: readonly CsvTask[],
  map: Readonly<Record<string, string>> = {},
): (value: string) => number {
  const byId = new Map(tasks.map((t, i) => [t.id, i]));
  const byNumber = new Map<number, number>();
  const ambiguous = new Set<number>();
  tasks.forEach((t, i) => {
    const m = /(\d+)$/.exec(t.id);
    if (!m) return;
    const n = Number(m[1]);
    if (byNumber.has(n)) ambiguous.add(n);
    byNumber.set(n, i);
  });
  const cache = new Map<string, number>();
  return (value) => {
    const hit = cache.get(value);
    if (hit !== undefined) return hit;
    let index =
      byId.get(value) ?? (Object.hasOwn(map, value) ? (byId.get(map[value]!) ?? -1) : undefined);
    if (index === undefined) {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      index = Number.isInteger(n) && !ambiguous.has(n) ? (byNumber.get(n) ?? -1) : -1;
    }
    cache.set(value, index);
    return index;
  };
}
