import type { PreparedData } from '../data/types.js';
import type { Plan } from '../plan/types.js';
import type { Evaluation } from '../train/evaluate.js';
import { scorePredictions } from '../train/evaluate.js';

/**
 * Ensemble selection (Caruana, Niculescu-Mizil, Crew & Ksikes, "Ensemble selection from libraries
 * of models", ICML 2004), as auto-sklearn and AutoGluon build their final model: starting from
 * nothing, each round adds (with replacement) the trial whose validation predictions most improve
 * the score of the running mean of the chosen trials' predictions; the ensemble kept is the best
 * prefix of the rounds, so its validation score is never below the best single trial's. A trial
 * chosen k times out of n weighs k / n.
 */

/** Trials considered for the ensemble: the best this many by validation score. */
export const ENSEMBLE_POOL = 16;

/** One scored trial's validation predictions: per task (base plan order), its outputs on that task's labelled rows. */
export interface PooledTrial {
  trial: number;
  value: number;
  predictions: Float32Array[];
}

/** The labelled rows of each task of validated data, and how to compact and expand predictions to them. */
export class LabelledRows {
  private readonly rows: Uint32Array[];

  constructor(
    private readonly plan: Plan,
    private readonly prepared: PreparedData,
  ) {
    this.rows = prepared.tasks.map((task) => {
      const out: number[] = [];
      for (let r = 0; r < prepared.rows; r++) {
        for (let c = 0; c < task.width; c++) {
          if (task.mask[r * task.width + c]! > 0) {
            out.push(r);
            break;
          }
        }
      }
      return Uint32Array.from(out);
    });
  }

  /**
   * Each task's predictions on its labelled rows only (base plan order), from a model's
   * predictions in the order of `order` (its plan's task ids).
   */
  compact(predictions: readonly Float32Array[], order: readonly string[]): Float32Array[] {
    return this.plan.tasks.map((task, i) => {
      const from = predictions[order.indexOf(task.id)]!;
      const w = task.outputs;
      const rows = this.rows[i]!;
      const out = new Float32Array(rows.length * w);
      rows.forEach((r, k) => out.set(from.subarray(r * w, r * w + w), k * w));
      return out;
    });
  }

  /** Scores compacted predictions as evaluate would score a model with these outputs. */
  score(compacted: readonly Float32Array[]): Evaluation {
    const full = this.plan.tasks.map((task, i) => {
      const w = task.outputs;
      const out = new Float32Array(this.prepared.rows * w);
      const part = compacted[i]!;
      this.rows[i]!.forEach((r, k) => out.set(part.subarray(k * w, k * w + w), r * w));
      return out;
    });
    return scorePredictions(this.plan, this.prepared, full);
  }
}

/**
 * Greedy ensemble selection over `pool` for `rounds` rounds; `value` scores an ensemble's
 * evaluation (higher is better). Returns how many times each pooled trial was chosen in the best
 * prefix, and that prefix's value and evaluation.
 */
export function selectEnsemble(
  pool: readonly PooledTrial[],
  rounds: number,
  rows: LabelledRows,
  value: (evaluation: Evaluation) => number,
): { counts: number[]; value: number; evaluation: Evaluation } {
  const counts = pool.map(() => 0);
  if (pool.length === 0) throw new Error('selectEnsemble: empty pool');
  const sum = pool[0]!.predictions.map((p) => new Float64Array(p.length));
  let best = { counts: [...counts], value: -Infinity, evaluation: {} as Evaluation };
  for (let round = 1; round <= rounds; round++) {
    let pick = { index: -1, value: -Infinity, evaluation: {} as Evaluation };
    pool.forEach((candidate, index) => {
      const mean = sum.map((s, t) => {
        const p = candidate.predictions[t]!;
        const out = new Float32Array(s.length);
        for (let k = 0; k < s.length; k++) out[k] = (s[k]! + p[k]!) / round;
        return out;
      });
      const evaluation = rows.score(mean);
      const v = value(evaluation);
      // Ties keep the earlier (better-ranked) trial.
      if (v > pick.value || pick.index < 0) pick = { index, value: v, evaluation };
    });
    counts[pick.index]!++;
    const chosen = pool[pick.index]!.predictions;
    sum.forEach((s, t) => {
      const p = chosen[t]!;
      for (let k = 0; k < s.length; k++) s[k] = s[k]! + p[k]!;
    });
    if (pick.value > best.value)
      best = { counts: [...counts], value: pick.value, evaluation: pick.evaluation };
  }
  return best;
}
