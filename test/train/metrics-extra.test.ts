import { describe, expect, it } from 'vitest';
import { getMetric, type MetricInput } from '../../src/train/metrics/index.js';
import { averagePrecision } from '../../src/train/metrics/pr-auc.js';

function input(truth: number[][], pred: number[][], mask?: number[][]): MetricInput {
  const width = truth[0]!.length;
  return {
    rows: truth.length,
    width,
    outputs: width,
    truth: Float32Array.from(truth.flat()),
    pred: Float32Array.from(pred.flat()),
    mask: Float32Array.from(mask ? mask.flat() : truth.flat().map(() => 1)),
  };
}

describe('pr-auc, precision@k, recall@k', () => {
  it('average precision matches the hand computation (ties enter together)', () => {
    // Thresholds 0.9 (P 1, R .5), 0.8 (P .5), 0.7 (P 2/3, R 1): .5 * 1 + .5 * 2/3.
    expect(averagePrecision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])).toBeCloseTo(5 / 6, 10);
    // 0.8 (R 1/3, P 1), 0.5, 0.3 tie (R 2/3, P 2/4), 0.1 (R 1, P 3/5): 1/3 + 1/6 + 1/5.
    expect(averagePrecision([1, 0, 1, 1, 0, 0], [0.3, 0.3, 0.8, 0.1, 0.5, 0.05])).toBeCloseTo(
      0.7,
      10,
    );
    expect(averagePrecision([1, 0], [0.5, 0.5])).toBeCloseTo(0.5, 10);
    expect(averagePrecision([0, 0], [0.5, 0.2])).toBeNaN();
  });

  it('pr-auc averages the labels that have a positive, over labelled entries only', () => {
    const m = getMetric('pr-auc')!;
    const v = m.compute(
      input(
        [
          [1, 0],
          [0, 0],
          [1, 0],
          [0, 1],
        ],
        [
          [0.9, 0.2],
          [0.8, 0.9],
          [0.7, 0.1],
          [0.1, 0.3],
        ],
        [
          [1, 1],
          [1, 0],
          [1, 1],
          [1, 1],
        ],
      ),
    );
    // Label 0: 5/6 as above. Label 1 (row 1 masked): scores .3 (1), .2 (0), .1 (0) -> 1.
    expect(v).toBeCloseTo((5 / 6 + 1) / 2, 10);
  });

  it('precision@k and recall@k match hand counts', () => {
    const data = input(
      [
        [1, 0, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
      ],
      [
        [0.9, 0.1, 0.5, 0.6],
        [0.2, 0.8, 0.3, 0.1],
        [0.5, 0.4, 0.3, 0.2],
      ],
    );
    // Row 0 ranks cols 0, 3, 2, 1: top1 hits 1, top2 hits 1, top3 hits 2. Row 1 ranks 1, 2, 0, 3: no hit before 4. Row 2 has no positive.
    expect(getMetric('precision@1')!.compute(data)).toBeCloseTo((1 + 0 + 0) / 3, 10);
    expect(getMetric('precision@3')!.compute(data)).toBeCloseTo((2 / 3 + 0 + 0) / 3, 10);
    expect(getMetric('recall@1')!.compute(data)).toBeCloseTo((1 / 2 + 0) / 2, 10);
    expect(getMetric('recall@3')!.compute(data)).toBeCloseTo((2 / 2 + 0) / 2, 10);
    expect(getMetric('recall@5')!.compute(data)).toBeCloseTo((1 + 1) / 2, 10);
    expect(getMetric('precision@2')!.higherIsBetter).toBe(true);
  });
});
