import { TOP_K, topKHits } from './precision-at-k.js';
import { registerMetric, type MetricInput } from './registry.js';

/**
 * Mean over rows with at least one positive label of (positives among the k highest-scored labels)
 * / (positives of the row); NaN when no row has a positive.
 */
export function recallAtK(input: MetricInput, k: number): number {
  let sum = 0;
  let count = 0;
  topKHits(input, k, (hits, relevant) => {
    if (relevant === 0) return;
    sum += hits / relevant;
    count++;
  });
  return count === 0 ? NaN : sum / count;
}

for (const k of TOP_K) {
  registerMetric({
    name: `recall@${k}`,
    summary: `share of a row's positive labels found among its ${k} highest-scored labels, averaged over rows with a positive (multilabel)`,
    higherIsBetter: true,
    compute: (input) => recallAtK(input, k),
  });
}
