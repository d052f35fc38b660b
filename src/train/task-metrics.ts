import type { Plan } from '../plan/types.js';
import type { PreparedData } from '../data/types.js';
import { PlanError } from '../errors.js';
import { getMetric, metricNames, type Metric } from './metrics/index.js';

/** Per task id, per metric name: a score. */
export type TaskScores = Record<string, Record<string, number>>;

/** Looks up every task's metrics (plan order); an unknown name raises a PlanError naming the task. */
export function resolveTaskMetrics(plan: Plan, scope: string): Metric[][] {
  return plan.tasks.map((task, i) =>
    task.metrics.map((name, k) => {
      const metric = getMetric(name);
      if (!metric) {
        throw new PlanError(
          `${scope}: unknown metric for task "${task.id}" (got ${JSON.stringify(name)}; expected any of ${metricNames().join(', ')}) → at tasks[${i}].metrics[${k}]. Use a metric of the task's kind.`,
          { path: `tasks[${i}].metrics[${k}]`, got: name },
        );
      }
      return metric;
    }),
  );
}

/**
 * Copies rows `[start, start + rows)` of host outputs packed side by side (`rows × sum of outputs`,
 * tasks in plan order) into each task's own prediction array (`allRows × outputs`).
 */
export function unpackOutputs(
  values: Float32Array,
  rows: number,
  outputs: readonly number[],
  into: Float32Array[],
  start = 0,
): void {
  const width = outputs.reduce((s, w) => s + w, 0);
  let offset = 0;
  outputs.forEach((w, i) => {
    const out = into[i]!;
    if (outputs.length === 1) out.set(values.subarray(0, rows * w), start * w);
    else
      for (let r = 0; r < rows; r++)
        out.set(values.subarray(r * width + offset, r * width + offset + w), (start + r) * w);
    offset += w;
  });
}

/**
 * Each task's metrics on the labelled rows of `data` from host predictions (plan order). Tasks
 * left out on purpose (all-zero mask) are not reported; a task without labelled rows scores NaN.
 */
export function scoreTasks(
  plan: Plan,
  data: PreparedData,
  predictions: readonly Float32Array[],
  metricsOf: readonly Metric[][],
): TaskScores {
  const result: TaskScores = {};
  plan.tasks.forEach((task, i) => {
    const labels = data.tasks[i]!;
    if (labels.excluded) return;
    const input = {
      rows: data.rows,
      width: labels.width,
      outputs: task.outputs,
      truth: labels.labels,
      pred: predictions[i]!,
      mask: labels.mask,
    };
    const scores: Record<string, number> = {};
    for (const metric of metricsOf[i]!) scores[metric.name] = metric.compute(input);
    result[task.id] = scores;
  });
  return result;
}
