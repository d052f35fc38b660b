import { taskKind } from '../schema/kinds/index.js';
import type { Plan } from '../plan/types.js';
import type { Evaluation } from '../train/evaluate.js';

/** What a user-given objective receives: each task's compareBy score, and everything evaluate measured. */
export interface TrialScores {
  /** Each task's compareBy metric (r2, auc, accuracy, mean-auc by its kind) on the validation rows; NaN when missing. */
  tasks: Record<string, number>;
  /** Everything `evaluate` returned on the validation rows (loss and each metric per task). */
  metrics: Evaluation;
}

/** How trials are compared: 'mean-rank', 'mean', or a function of a trial's scores (higher is better). */
export type TuneObjective = 'mean-rank' | 'mean' | ((scores: TrialScores) => number);

/** The metric a task is scored by: its kind's compareBy (unitless, higher is better). */
export function compareMetric(kind: string): string {
  return taskKind(kind)?.compareBy ?? 'loss';
}

/** The plan with each task's compareBy metric among its metrics (so that evaluate computes it). */
export function withCompareMetrics(plan: Plan): Plan {
  return {
    ...plan,
    tasks: plan.tasks.map((t) => {
      const m = compareMetric(t.kind);
      return t.metrics.includes(m) ? t : { ...t, metrics: [...t.metrics, m] };
    }),
  };
}

/** Each task's compareBy score in an evaluation (NaN when the task was not scored). */
export function taskScores(
  tasks: readonly { id: string; kind: string }[],
  evaluation: Evaluation,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tasks) {
    const v = evaluation[t.id]?.[compareMetric(t.kind)];
    out[t.id] = typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN;
  }
  return out;
}

/** Ranks (1 = best) of values where higher is better; ties share the mean rank; NaN ranks last. */
export function ranks(values: readonly number[]): number[] {
  const order = values
    .map((v, i) => [Number.isNaN(v) ? -Infinity : v, i] as const)
    .sort((a, b) => b[0] - a[0]);
  const out = new Array<number>(values.length);
  for (let k = 0; k < order.length; ) {
    let end = k;
    while (end + 1 < order.length && order[end + 1]![0] === order[k]![0]) end++;
    for (let j = k; j <= end; j++) out[order[j]![1]] = (k + end) / 2 + 1;
    k = end + 1;
  }
  return out;
}

/** Mean over tasks of each entry's rank among the entries (1 = best on every task). */
export function meanRanks(scores: readonly Record<string, number>[], tasks: readonly string[]) {
  const sums = new Array<number>(scores.length).fill(0);
  for (const t of tasks) {
    const r = ranks(scores.map((s) => s[t] ?? Number.NaN));
    r.forEach((v, i) => {
      sums[i]! += v;
    });
  }
  return sums.map((s) => s / Math.max(1, tasks.length));
}

/** Mean of the finite task scores (NaN when none). */
export function meanScore(scores: Record<string, number>): number {
  const v = Object.values(scores).filter(Number.isFinite);
  return v.length === 0 ? Number.NaN : v.reduce((a, b) => a + b, 0) / v.length;
}

/**
 * Orders scored entries best first and gives each its objective value: with 'mean-rank' the mean
 * rank among these entries (lower is better; ties broken by the mean score), otherwise the
 * objective's value (higher is better; NaN last). Stable: equal entries keep their order.
 */
export function orderByObjective(
  entries: readonly { tasks: Record<string, number>; value: number }[],
  objective: TuneObjective,
  taskIds: readonly string[],
): { order: number[]; values: number[] } {
  const idx = entries.map((_, i) => i);
  if (objective === 'mean-rank') {
    const mr = meanRanks(
      entries.map((e) => e.tasks),
      taskIds,
    );
    const means = entries.map((e) => meanScore(e.tasks));
    idx.sort(
      (a, b) =>
        mr[a]! - mr[b]! ||
        (Number.isNaN(means[b]!) ? -Infinity : means[b]!) -
          (Number.isNaN(means[a]!) ? -Infinity : means[a]!) ||
        a - b,
    );
    return { order: idx, values: mr };
  }
  const values = entries.map((e) => e.value);
  const key = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  idx.sort((a, b) => key(values[b]!) - key(values[a]!) || a - b);
  return { order: idx, values };
}
