import { columnMean, registerMetric } from './registry.js';

/**
 * Area under the precision-recall curve as average precision (as scikit-learn's
 * `average_precision_score`): `sum_k (R_k - R_(k-1)) * P_k` over the distinct score thresholds,
 * highest first, where P_k and R_k are the precision and recall of `score >= threshold_k`.
 * NaN without a positive label or with a NaN score.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i]!)) return NaN;
    if (labels[i] === 1) positives++;
  }
  if (positives === 0) return NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let tp = 0;
  let seen = 0;
  let recall = 0;
  let sum = 0;
  for (let k = 0; k < n; ) {
    const threshold = scores[order[k]!]!;
    // Every row tied at this threshold enters together.
    while (k < n && scores[order[k]!]! === threshold) {
      if (labels[order[k]!] === 1) tp++;
      seen++;
      k++;
    }
    const r = tp / positives;
    sum += (r - recall) * (tp / seen);
    recall = r;
  }
  return sum;
}

registerMetric({
  name: 'pr-auc',
  summary:
    'area under the precision-recall curve (average precision), averaged over labels with a positive',
  higherIsBetter: true,
  compute: (input) => columnMean(input, averagePrecision),
});
