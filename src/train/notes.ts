import type { PreparedData } from '../data/types.js';
import type { Plan } from '../plan/types.js';
import type { History } from './history.js';

/** Epochs looked at for a diverging loss: the first ones, where a too-large step shows. */
export const DIVERGENCE_EPOCHS = 10;
/** Growth of the loss over those epochs that is reported: two orders of magnitude. */
export const DIVERGENCE_FACTOR = 100;

/**
 * Each task's loss of a constant prediction, the size a freshly initialised network's loss has:
 * ln 2 for binary and multilabel cross-entropy, ln(classes) for multiclass, and for regression
 * the labels' variance (their standard deviation for mae, huber and logcosh), of the standardised
 * labels when the head has a target scale. 0 when it cannot be told (no labels).
 */
export function lossBaselines(plan: Plan, data: PreparedData): Record<string, number> {
  const out: Record<string, number> = {};
  plan.tasks.forEach((task, i) => {
    const t = data.tasks[i];
    if (!t || t.excluded) return;
    if (task.kind === 'binary' || task.kind === 'multilabel') out[task.id] = Math.LN2;
    else if (task.kind === 'multiclass') out[task.id] = Math.log(Math.max(2, task.outputs));
    else {
      const scale = plan.heads[task.id]?.scale;
      let variance = 0;
      for (let j = 0; j < t.width; j++) {
        let n = 0;
        let sum = 0;
        let squares = 0;
        for (let r = 0; r < data.rows; r++) {
          if (!(t.mask[r * t.width + j]! > 0)) continue;
          const y = scale
            ? (t.labels[r * t.width + j]! - scale.mean[j]!) / scale.std[j]!
            : t.labels[r * t.width + j]!;
          n++;
          sum += y;
          squares += y * y;
        }
        if (n > 0) variance += Math.max(0, squares / n - (sum / n) ** 2) / t.width;
      }
      out[task.id] = task.loss === 'mse' ? variance : Math.sqrt(variance);
    }
  });
  return out;
}

/**
 * A note when a loss grew by orders of magnitude over the first epochs (a step size far too
 * large, e.g. adam with learning rate 1e6): a task's loss 100x or more above its baseline (the
 * loss of a constant prediction, lossBaselines) in the first 10 epochs, or the training loss
 * (each task's when the total is not positive, as with `uncertainty`) 100x above its epoch-1
 * value. Empty otherwise.
 */
export function divergenceNotes(
  history: Pick<History, 'loss' | 'taskLoss'>,
  optimizer: { name: string; learningRate?: number | undefined },
  baselines: Record<string, number> = {},
): string[] {
  const rate =
    optimizer.learningRate === undefined
      ? 'its default rate'
      : `learningRate ${optimizer.learningRate}`;
  const fix = `The step size is probably far too large (${optimizer.name} with ${rate}): lower the learning rate (e.g. 1e-3 for adam), or scale the features and targets.`;
  // A loss far above what a constant prediction scores: the very first steps already diverged.
  for (const [id, values] of Object.entries(history.taskLoss)) {
    const base = baselines[id];
    if (base === undefined || !(base > 0)) continue;
    const first = values.slice(0, DIVERGENCE_EPOCHS);
    const top = first.reduce((a, v, e) => (v > first[a]! ? e : a), 0);
    const ratio = first[top]! / base;
    if (ratio >= DIVERGENCE_FACTOR)
      return [
        `task "${id}"'s training loss reached ${first[top]!.toPrecision(3)} at epoch ${top + 1}, ${ratio.toExponential(1)}x the ${base.toPrecision(3)} a constant prediction scores: training diverges. ${fix}`,
      ];
  }
  const series: Array<[string, readonly number[]]> = history.loss.every((v) => v > 0)
    ? [['the training loss', history.loss]]
    : Object.entries(history.taskLoss).map(([id, s]) => [`task "${id}"'s training loss`, s]);
  for (const [what, values] of series) {
    const first = values[0];
    if (first === undefined || !(first > 0)) continue;
    let top = 0;
    for (let e = 1; e < Math.min(values.length, DIVERGENCE_EPOCHS); e++)
      if (values[e]! > values[top]!) top = e;
    const growth = values[top]! / first;
    if (!(growth >= DIVERGENCE_FACTOR)) continue;
    const rate =
      optimizer.learningRate === undefined
        ? 'its default rate'
        : `learningRate ${optimizer.learningRate}`;
    return [
      `${what} grew ${growth.toExponential(1)}x over the first epochs (${first.toPrecision(3)} at epoch 1, ${values[top]!.toPrecision(3)} at epoch ${top + 1}): training diverges. ${fix}`,
    ];
  }
  return [];
}
