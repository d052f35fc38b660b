import { registerMetric, type MetricInput } from './registry.js';

/** The k values registered as `precision@k` and `recall@k` (the multilabel kind lists the same). */
export const TOP_K = [1, 2, 3, 5, 10] as const;

/**
 * Per row of a multilabel task, the labelled columns ranked by score (highest first; a tie keeps
 * the column order), and how many of the first k are positive. Rows without a labelled column are
 * left out. `visit(hits, relevant)` is called once per row.
 */
export function topKHits(
  input: MetricInput,
  k: number,
  visit: (hits: number, relevant: number) => void,
): void {
  const { rows, width, outputs, mask, truth, pred } = input;
  const columns: number[] = [];
  for (let r = 0; r < rows; r++) {
    columns.length = 0;
    let relevant = 0;
    for (let j = 0; j < width; j++) {
      if (!(mask[r * width + j]! > 0)) continue;
      columns.push(j);
      if (truth[r * width + j] === 1) relevant++;
    }
    if (columns.length === 0) continue;
    columns.sort((a, b) => pred[r * outputs + b]! - pred[r * outputs + a]! || a - b);
    let hits = 0;
    for (let i = 0; i < Math.min(k, columns.length); i++)
      if (truth[r * width + columns[i]!] === 1) hits++;
    visit(hits, relevant);
  }
}

/** Mean over rows of (positives among the k highest-scored labels) / k; NaN without a labelled row. */
export function precisionAtK(input: MetricInput, k: number): number {
  let sum = 0;
  let count = 0;
  topKHits(input, k, (hits) => {
    sum += hits / k;
    count++;
  });
  return count === 0 ? NaN : sum / count;
}

for (const k of TOP_K) {
  registerMetric({
    name: `precision@${k}`,
    summary: `share of positives among the ${k} highest-scored labels of a row, averaged over rows (multilabel)`,
    higherIsBetter: true,
    compute: (input) => precisionAtK(input, k),
  });
}
