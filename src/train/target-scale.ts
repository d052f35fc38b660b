import * as tf from '@tensorflow/tfjs';
import { prepareData } from '../data/prepare.js';
import type { PreparedData, PreparedTask, TaskData } from '../data/types.js';
import { plan } from '../plan/compile-plan.js';
import type { Plan } from '../plan/types.js';

/** One regression task's target scale: per output, the labels' mean and standard deviation. */
export interface TargetScale {
  mean: number[];
  std: number[];
}

/** The number of feature columns of x, when its form says so. */
function featureWidth(x: unknown): number | undefined {
  if (x instanceof tf.Tensor) return x.shape[1];
  if (Array.isArray(x)) return Array.isArray(x[0]) ? (x[0] as unknown[]).length : undefined;
  const shape = (x as { shape?: unknown } | null)?.shape;
  return Array.isArray(shape) && typeof shape[1] === 'number' ? shape[1] : undefined;
}

/**
 * The mean and standard deviation of every regression task's labels in `data` (missing and
 * masked labels left out), per output: pass it as `targetScale` to `plan` / `compile` so that
 * heads predict in the targets' units while training on standardised targets. A task whose
 * labels are constant (or has a single label) gets std 1. The data is checked as `fit` checks it
 * (a DataError names what is wrong); no tensor is created from it.
 *
 *   const scale = targetScale(graph, train);
 *   const model = compile(graph, { strategy: 'hard', targetScale: scale });
 */
export function targetScale(graph: unknown, data: TaskData): Record<string, TargetScale> {
  // The width of x itself (a CSV's encoded columns may outnumber the graph's input columns); plan() checks the graph, only labels are read.
  const width = featureWidth((data as { x?: unknown } | null)?.x);
  const tasks = plan(graph, {
    strategy: 'single',
    trunk: { units: [] },
    ...(width !== undefined ? { input: { features: width } } : {}),
  });
  const prepared = prepareData(tasks, data, {
    scope: 'mtgraph/targetScale',
    allowUnlabelled: true,
  });
  const out: Record<string, TargetScale> = {};
  for (const t of prepared.tasks) {
    if (tasks.tasks.find((p) => p.id === t.id)?.kind !== 'regression' || t.excluded) continue;
    const moments = labelMoments(t);
    out[t.id] = {
      mean: moments.map((m) => m.mean),
      std: moments.map((m) => (m.std > 1e-12 * Math.max(1, Math.abs(m.mean)) ? m.std : 1)),
    };
  }
  return out;
}

/** Per label column of a task, the mean and (population) standard deviation of its labelled values (0 and 0 for none). */
function labelMoments(t: PreparedTask): Array<{ mean: number; std: number; rms: number }> {
  return Array.from({ length: t.width }, (_, j) => {
    let n = 0;
    let sum = 0;
    for (let i = j; i < t.labels.length; i += t.width) {
      if (!(t.mask[i]! > 0)) continue;
      n++;
      sum += t.labels[i]!;
    }
    const mean = n > 0 ? sum / n : 0;
    let squares = 0;
    for (let i = j; i < t.labels.length; i += t.width)
      if (t.mask[i]! > 0) squares += (t.labels[i]! - mean) ** 2;
    const std = n > 1 ? Math.sqrt(squares / n) : 0;
    return { mean, std, rms: Math.sqrt(mean * mean + std * std) };
  });
}

/** How far apart the sizes of regression targets may be before `fit` notes it (a factor of 100: 10,000 in squared error). */
export const TARGET_SIZE_RATIO = 100;

const fmt = (v: number) =>
  v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-2)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(3)));

/**
 * A note when the regression targets `fit` trains on without a target scale differ in size (root
 * mean square of the labels, the size of what each task's loss starts from) by a factor of
 * TARGET_SIZE_RATIO or more: the largest then dominates the joint loss and the smallest is
 * barely trained. Empty otherwise, and for tasks that have a scale.
 */
export function targetScaleNotes(plan: Plan, data: PreparedData): string[] {
  const sizes: Array<{ id: string; rms: number }> = [];
  for (const t of data.tasks) {
    const task = plan.tasks.find((p) => p.id === t.id);
    if (task?.kind !== 'regression' || t.excluded || t.labelled === 0 || plan.heads[t.id]?.scale)
      continue;
    sizes.push({ id: t.id, rms: Math.max(...labelMoments(t).map((m) => m.rms)) });
  }
  if (sizes.length < 2) return [];
  const small = sizes.reduce((a, b) => (b.rms < a.rms ? b : a));
  const large = sizes.reduce((a, b) => (b.rms > a.rms ? b : a));
  if (!(large.rms >= TARGET_SIZE_RATIO * Math.max(small.rms, 1e-12))) return [];
  return [
    `regression targets differ in size: "${large.id}" has a root mean square of ${fmt(large.rms)}, "${small.id}" ${fmt(small.rms)}, so the loss of "${large.id}" dominates the joint loss and "${small.id}" is barely trained. ` +
      'Compile with targetScale: targetScale(graph, data) to train each task on standardised targets while predicting in its own units (the CLI does so unless --no-target-scale).',
  ];
}
