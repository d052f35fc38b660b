import { createRegistry } from '../../registry.js';
import { accuracy, argmaxRows } from './functions.js';

/**
 * One task's labels and predictions on the host. `truth` and `mask` have `width` columns
 * (class indexes for multiclass: width 1), `pred` has `outputs` columns; row-major.
 */
export interface MetricInput {
  rows: number;
  width: number;
  outputs: number;
  truth: Float32Array;
  pred: Float32Array;
  mask: Float32Array;
}

/** A metric: a name, whether larger is better, and a pure function of labelled rows only. */
export interface Metric {
  readonly name: string;
  readonly summary: string;
  readonly higherIsBetter: boolean;
  compute(input: MetricInput): number;
}

const metrics = createRegistry<Metric>((m) => m.name);

/** Registers a metric under its name (a later registration replaces an earlier one). */
export function registerMetric(metric: Metric): Metric {
  return metrics.register(metric);
}

export function getMetric(name: string): Metric | undefined {
  return metrics.get(name);
}

export function metricNames(): string[] {
  return metrics.names();
}

/** True when the task predicts a distribution over classes from one class-index column (multiclass). */
export function categorical(input: MetricInput): boolean {
  return input.width === 1 && input.outputs > 1;
}

/** Labelled entries of one column (labels as wide as outputs), or of every column when `column` is undefined. */
export function labelledValues(
  input: MetricInput,
  column?: number,
): { truth: Float32Array; pred: Float32Array } {
  const { rows, width, mask } = input;
  let count = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = column ?? 0; j < (column === undefined ? width : column + 1); j++)
      if (mask[i * width + j]! > 0) count++;
  }
  const truth = new Float32Array(count);
  const pred = new Float32Array(count);
  let k = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = column ?? 0; j < (column === undefined ? width : column + 1); j++) {
      const at = i * width + j;
      if (!(mask[at]! > 0)) continue;
      truth[k] = input.truth[at]!;
      pred[k++] = input.pred[i * input.outputs + j]!;
    }
  }
  return { truth, pred };
}

/** Labelled rows of a multiclass task: class indexes and the rows × classes probabilities. */
export function labelledClasses(input: MetricInput): {
  truth: Int32Array;
  probabilities: Float32Array;
} {
  const { rows, outputs, mask } = input;
  let count = 0;
  for (let i = 0; i < rows; i++) if (mask[i]! > 0) count++;
  const truth = new Int32Array(count);
  const probabilities = new Float32Array(count * outputs);
  let k = 0;
  for (let i = 0; i < rows; i++) {
    if (!(mask[i]! > 0)) continue;
    truth[k] = input.truth[i]!;
    probabilities.set(input.pred.subarray(i * outputs, (i + 1) * outputs), k * outputs);
    k++;
  }
  return { truth, probabilities };
}

/** Predicted classes (argmax) for multiclass, else 0/1 per entry (probability >= 0.5). */
export function decided(input: MetricInput): { truth: ArrayLike<number>; pred: ArrayLike<number> } {
  if (categorical(input)) {
    const { truth, probabilities } = labelledClasses(input);
    return { truth, pred: argmaxRows(probabilities, input.outputs) };
  }
  const { truth, pred } = labelledValues(input);
  return { truth, pred: pred.map((p) => (p >= 0.5 ? 1 : 0)) };
}

/** The mean of a per-column metric over the columns where it is defined. */
export function columnMean(
  input: MetricInput,
  f: (truth: Float32Array, pred: Float32Array) => number,
): number {
  let sum = 0;
  let count = 0;
  for (let j = 0; j < input.width; j++) {
    const { truth, pred } = labelledValues(input, j);
    const v = f(truth, pred);
    if (Number.isNaN(v)) continue;
    sum += v;
    count++;
  }
  return count === 0 ? NaN : sum / count;
}
