import * as tf from '@tensorflow/tfjs';
import { prepareData } from '../data/prepare.js';
import type { TaskData } from '../data/types.js';
import { plan } from '../plan/compile-plan.js';

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
  const tasks = plan(graph, { strategy: 'single', trunk: { units: [] }, ...(width !== undefined ? { input: { features: width } } : {}) });
  const prepared = prepareData(tasks, data, { scope: 'mtgraph/targetScale', allowUnlabelled: true });
  const out: Record<string, TargetScale> = {};
  for (const t of prepared.tasks) {
    if (tasks.tasks.find((p) => p.id === t.id)?.kind !== 'regression' || t.excluded) continue;
    const mean: number[] = [];
    const std: number[] = [];
    for (let j = 0; j < t.width; j++) {
      let n = 0;
      let sum = 0;
      let squares = 0;
      for (let i = j; i < t.labels.length; i += t.width) {
        if (t.mask[i] !== 1) continue;
        n++;
        sum += t.labels[i]!;
      }
      const m = n > 0 ? sum / n : 0;
      for (let i = j; i < t.labels.length; i += t.width) if (t.mask[i] === 1) squares += (t.labels[i]! - m) ** 2;
      const s = n > 1 ? Math.sqrt(squares / n) : 0;
      mean.push(m);
      std.push(s > 1e-12 * Math.max(1, Math.abs(m)) ? s : 1);
    }
    out[t.id] = { mean, std };
  }
  return out;
}
