import type { PlanTask } from '../plan/types.js';
import type { TaskKindName } from '../schema/kinds/index.js';

/**
 * How labels of one task kind are read: the label columns per row and the check of one value.
 * One entry per kind; the data reader looks the kind up and never branches on it.
 */
export interface TargetEncoder {
  readonly kind: TaskKindName;
  /** Label columns per row. */
  width(task: PlanTask): number;
  /**
   * Encodes one label value: the number to store, NaN for a missing label, or undefined when
   * the value is not a valid label of the task.
   */
  encode(value: unknown, task: PlanTask): number | undefined;
  /** What a valid label looks like, for error messages. */
  expected(task: PlanTask): string;
}

const MISSING_CLASS = ' (-1, NaN or null for a missing label)';

/** 0/1 (or a boolean); -1, NaN, null and undefined are missing. */
function zeroOne(value: unknown): number | undefined {
  if (value === 0 || value === 1) return value;
  if (value === true) return 1;
  if (value === false) return 0;
  if (
    value === -1 ||
    value === null ||
    value === undefined ||
    (typeof value === 'number' && Number.isNaN(value))
  )
    return NaN;
  return undefined;
}

const regression: TargetEncoder = {
  kind: 'regression',
  width: (task) => task.outputs,
  encode(value) {
    if (typeof value === 'number') {
      if (Number.isNaN(value)) return NaN;
      return Number.isFinite(value) && Number.isFinite(Math.fround(value)) ? value : undefined;
    }
    if (value === null || value === undefined) return NaN;
    return undefined;
  },
  expected: () => 'a finite number (NaN or null for a missing label)',
};

const binary: TargetEncoder = {
  kind: 'binary',
  width: () => 1,
  encode: zeroOne,
  expected: () => `0 or 1${MISSING_CLASS}`,
};

const multiclass: TargetEncoder = {
  kind: 'multiclass',
  width: () => 1,
  encode(value, task) {
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= 0 && value < task.outputs) return value;
      return value === -1 || Number.isNaN(value) ? NaN : undefined;
    }
    if (typeof value === 'string') {
      const index = task.outputNames.indexOf(value);
      return index >= 0 ? index : undefined;
    }
    return value === null || value === undefined ? NaN : undefined;
  },
  expected: (task) =>
    `a whole class index 0..${task.outputs - 1} or a class name (${task.outputNames
      .slice(0, 5)
      .map((n) => JSON.stringify(n))
      .join(', ')}${task.outputs > 5 ? ', ...' : ''})${MISSING_CLASS}`,
};

const multilabel: TargetEncoder = {
  kind: 'multilabel',
  width: (task) => task.outputs,
  encode: zeroOne,
  expected: () => `0 or 1 for each label${MISSING_CLASS}`,
};

/** The label readers, by task kind. */
export const TARGETS: Readonly<Record<TaskKindName, TargetEncoder>> = Object.freeze({
  regression,
  binary,
  multiclass,
  multilabel,
});

export function targetOf(task: PlanTask): TargetEncoder {
  const encoder = TARGETS[task.kind];
  if (!encoder) throw new TypeError(`mtgraph/data: no label reader for task kind "${task.kind}"`);
  return encoder;
}
