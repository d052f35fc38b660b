/**
 * Metric functions: pure, on typed arrays, no tensors. Each takes only labelled values
 * (the registry filters by mask first). They return NaN where the metric is undefined.
 */

type Values = ArrayLike<number>;

/** Clip for log losses (the same as the training losses). */
export const LOG_EPSILON = 1e-7;

export function meanSquaredError(truth: Values, pred: Values): number {
  if (truth.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < truth.length; i++) s += (pred[i]! - truth[i]!) ** 2;
  return s / truth.length;
}

export function meanAbsoluteError(truth: Values, pred: Values): number {
  if (truth.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < truth.length; i++) s += Math.abs(pred[i]! - truth[i]!);
  return s / truth.length;
}

/**
 * Coefficient of determination `1 - SS_res / SS_tot`. With constant truth (SS_tot = 0) it is 1
 * for a perfect prediction and 0 otherwise (as scikit-learn's default).
 */
export function r2Score(truth: Values, pred: Values): number {
  const n = truth.length;
  if (n === 0) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += truth[i]!;
  mean /= n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    res += (truth[i]! - pred[i]!) ** 2;
    tot += (truth[i]! - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

/**
 * Area under the ROC curve of scores against 0/1 labels: the share of (positive, negative)
 * pairs the positive scores higher, a tie counting one half (Mann-Whitney U). NaN when only one
 * class is present or a score is NaN. Sorts each class's scores natively, then counts in one sweep.
 */
export function rocAuc(labels: Values, scores: Values): number {
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) positives++;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  const pos = new Float64Array(positives);
  const neg = new Float64Array(negatives);
  for (let i = 0, p = 0, q = 0; i < n; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s)) return NaN;
    if (labels[i] === 1) pos[p++] = s;
    else neg[q++] = s;
  }
  pos.sort();
  neg.sort();
  // For each positive in ascending order: negatives below it count 1, negatives equal to it 1/2.
  let below = 0;
  let upTo = 0;
  let pairs = 0;
  for (let i = 0; i < positives; i++) {
    const s = pos[i]!;
    while (below < negatives && neg[below]! < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < negatives && neg[upTo]! <= s) upTo++;
    pairs += below + (upTo - below) / 2;
  }
  return pairs / (positives * negatives);
}

/** Share of 0/1 labels matched by `probability >= threshold`. */
export function binaryAccuracy(labels: Values, probabilities: Values, threshold = 0.5): number {
  if (labels.length === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < labels.length; i++)
    if ((probabilities[i]! >= threshold ? 1 : 0) === labels[i]) hits++;
  return hits / labels.length;
}

/** Mean binary cross-entropy of probabilities against 0/1 labels (probabilities clipped to [eps, 1 - eps]). */
export function binaryLogLoss(labels: Values, probabilities: Values): number {
  if (labels.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(Math.max(probabilities[i]!, LOG_EPSILON), 1 - LOG_EPSILON);
    s -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / labels.length;
}

/** Index of the largest value of each row of a rows × classes matrix (the first on ties). */
export function argmaxRows(probabilities: Values, classes: number): Int32Array {
  const rows = probabilities.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++)
      if (probabilities[r * classes + c]! > probabilities[r * classes + best]!) best = c;
    out[r] = best;
  }
  return out;
}

/** Share of equal entries. */
export function accuracy(truth: Values, pred: Values): number {
  if (truth.length === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === pred[i]) hits++;
  return hits / truth.length;
}

/** Mean of -log p[label] over rows of a rows × classes probability matrix (clipped at eps). */
export function categoricalLogLoss(labels: Values, probabilities: Values, classes: number): number {
  if (labels.length === 0) return NaN;
  let s = 0;
  for (let r = 0; r < labels.length; r++)
    s -= Math.log(Math.max(probabilities[r * classes + labels[r]!]!, LOG_EPSILON));
  return s / labels.length;
}

/**
 * Macro-averaged F1 over the classes that occur in the truth or the predictions (as
 * scikit-learn does): a class never seen nor predicted is left out; a class predicted but
 * never true scores 0.
 */
export function macroF1(truth: Values, pred: Values): number {
  if (truth.length === 0) return NaN;
  const stats = new Map<number, { tp: number; fp: number; fn: number }>();
  const of = (c: number) => {
    let s = stats.get(c);
    if (!s) stats.set(c, (s = { tp: 0, fp: 0, fn: 0 }));
    return s;
  };
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = pred[i]!;
    if (t === p) of(t).tp++;
    else {
      of(p).fp++;
      of(t).fn++;
    }
  }
  let sum = 0;
  for (const { tp, fp, fn } of stats.values()) sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  return sum / stats.size;
}

/** F1 of the positive class pooled over every entry of 0/1 truth and 0/1 predictions (0 when there is no positive at all). */
export function microF1(truth: Values, pred: Values): number {
  if (truth.length === 0) return NaN;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < truth.length; i++) {
    if (pred[i] === 1 && truth[i] === 1) tp++;
    else if (pred[i] === 1) fp++;
    else if (truth[i] === 1) fn++;
  }
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}
