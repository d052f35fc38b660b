import { describe, expect, it } from 'vitest';
import {
  accuracy,
  binaryAccuracy,
  binaryLogLoss,
  categoricalLogLoss,
  getMetric,
  macroF1,
  meanAbsoluteError,
  meanSquaredError,
  metricNames,
  microF1,
  r2Score,
  rocAuc,
  type MetricInput,
} from '../../src/train/metrics/index.js';
import { TASK_KINDS } from '../../src/schema/kinds/index.js';

const f32 = (v: number[]) => Float32Array.from(v);

describe('metric functions', () => {
  it('rocAuc matches the hand count, ties counting one half', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    // positives 0.35, 0.8, 0.4 against negatives 0.1, 0.4, 0.4: (1 + 3 + 2) / 9
    expect(rocAuc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4])).toBeCloseTo(6 / 9, 12);
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(rocAuc([1, 1, 1], [0.1, 0.2, 0.3])).toBeNaN();
  });

  it('rocAuc equals the pairwise count on random scores with many ties, and is NaN for a NaN score', () => {
    let state = 9;
    const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
    for (let trial = 0; trial < 5; trial++) {
      const labels = Array.from({ length: 301 }, () => (random() < 0.3 ? 1 : 0));
      const scores = labels.map((l) => Math.round((l * 0.2 + random()) * 20) / 20);
      let pairs = 0;
      let count = 0;
      labels.forEach((li, i) =>
        labels.forEach((lj, j) => {
          if (li !== 1 || lj !== 0) return;
          count++;
          pairs += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }),
      );
      expect(rocAuc(labels, scores)).toBeCloseTo(pairs / count, 12);
    }
    expect(rocAuc([0, 1, 0, 1], [0.1, NaN, 0.3, 0.9])).toBeNaN();
  });

  it('macroF1 averages over classes seen in truth or predictions', () => {
    // class 0: 2*1/(2+1+1) = 0.5; class 1: 4/5; class 2: 2/3; class 3 never occurs and is left out
    expect(macroF1([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0])).toBeCloseTo(
      (0.5 + 0.8 + 2 / 3) / 3,
      12,
    );
    // class 2 predicted but never true scores 0
    expect(macroF1([0, 0, 1], [0, 2, 1])).toBeCloseTo((2 / 3 + 1 + 0) / 3, 12);
  });

  it('r2Score, mse and mae match scikit-learn', () => {
    const t = [3, -0.5, 2, 7];
    const p = [2.5, 0, 2, 8];
    expect(r2Score(t, p)).toBeCloseTo(0.9486081370449679, 12);
    expect(meanSquaredError(t, p)).toBeCloseTo(0.375, 12);
    expect(meanAbsoluteError(t, p)).toBeCloseTo(0.5, 12);
    expect(r2Score([1, 1], [1, 1])).toBe(1);
    expect(r2Score([1, 1], [1, 2])).toBe(0);
    expect(r2Score([], [])).toBeNaN();
  });

  it('log losses and accuracies', () => {
    expect(binaryLogLoss([1, 0], [0.9, 0.2])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 6);
    expect(binaryLogLoss([1], [0])).toBeCloseTo(-Math.log(1e-7), 4);
    expect(categoricalLogLoss([0, 2], [0.7, 0.2, 0.1, 0.1, 0.3, 0.6], 3)).toBeCloseTo(
      -(Math.log(0.7) + Math.log(0.6)) / 2,
      6,
    );
    expect(binaryAccuracy([1, 0, 1], [0.5, 0.49, 0.2])).toBeCloseTo(2 / 3, 12);
    expect(accuracy([0, 1, 2], [0, 2, 2])).toBeCloseTo(2 / 3, 12);
  });

  it('microF1 pools every label', () => {
    // tp 2, fp 1, fn 1
    expect(microF1([1, 0, 1, 1, 0, 0], [1, 1, 0, 1, 0, 0])).toBeCloseTo(4 / 6, 12);
    expect(microF1([0, 0], [0, 0])).toBe(0);
  });
});

describe('metric registry', () => {
  it('has every metric a task kind can name', () => {
    for (const kind of Object.values(TASK_KINDS))
      for (const m of kind.metrics) expect(metricNames()).toContain(m);
    for (const kind of Object.values(TASK_KINDS)) expect(kind.metrics).toContain(kind.compareBy);
  });

  it('metrics count labelled rows only', () => {
    // binary: the third row is unlabelled and would flip every metric
    const binary: MetricInput = {
      rows: 5,
      width: 1,
      outputs: 1,
      truth: f32([0, 1, 0, 1, 0]),
      pred: f32([0.2, 0.9, 0.99, 0.7, 0.1]),
      mask: f32([1, 1, 0, 1, 1]),
    };
    expect(getMetric('auc')!.compute(binary)).toBe(1);
    expect(getMetric('accuracy')!.compute(binary)).toBe(1);
    expect(getMetric('logloss')!.compute(binary)).toBeCloseTo(
      binaryLogLoss([0, 1, 1, 0], [0.2, 0.9, 0.7, 0.1]),
      6,
    );
  });

  it('multiclass metrics use argmax against class indexes', () => {
    const input: MetricInput = {
      rows: 4,
      width: 1,
      outputs: 3,
      truth: f32([0, 2, 1, 1]),
      mask: f32([1, 1, 1, 0]),
      pred: f32([0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.5, 0.4, 0.1, 0, 1, 0]),
    };
    expect(getMetric('accuracy')!.compute(input)).toBeCloseTo(2 / 3, 6);
    expect(getMetric('macro-f1')!.compute(input)).toBeCloseTo(macroF1([0, 2, 1], [0, 2, 0]), 6);
    expect(getMetric('logloss')!.compute(input)).toBeCloseTo(
      categoricalLogLoss([0, 2, 1], [0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.5, 0.4, 0.1], 3),
      6,
    );
  });

  it('mean-auc skips labels without both classes; micro-f1 pools labelled entries', () => {
    const input: MetricInput = {
      rows: 4,
      width: 2,
      outputs: 2,
      truth: f32([0, 1, 1, 1, 0, 1, 1, 0]),
      pred: f32([0.1, 0.8, 0.9, 0.2, 0.3, 0.7, 0.6, 0.9]),
      mask: f32([1, 1, 1, 1, 1, 1, 1, 0]),
    };
    // label 0: truth 0,1,0,1 against 0.1,0.9,0.3,0.6 -> 1; label 1: labelled truths are all 1 -> skipped
    expect(getMetric('mean-auc')!.compute(input)).toBe(1);
    // entries: (0,.1) (1,.8) (1,.9) (1,.2) (0,.3) (1,.7) (1,.6): tp 4, fn 1, fp 0
    expect(getMetric('micro-f1')!.compute(input)).toBeCloseTo(8 / 9, 6);
  });

  it('regression metrics average r2 over outputs', () => {
    const input: MetricInput = {
      rows: 4,
      width: 2,
      outputs: 2,
      truth: f32([3, 1, -0.5, 2, 2, 3, 7, 4]),
      pred: f32([2.5, 1, 0, 2, 2, 3, 8, 4]),
      mask: f32([1, 1, 1, 1, 1, 1, 1, 1]),
    };
    expect(getMetric('r2')!.compute(input)).toBeCloseTo((0.9486081370449679 + 1) / 2, 6);
    expect(getMetric('mse')!.compute(input)).toBeCloseTo(0.375 / 2, 6);
    expect(getMetric('rmse')!.compute(input)).toBeCloseTo(Math.sqrt(0.375 / 2), 6);
  });
});
