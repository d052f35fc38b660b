import {
  accuracy,
  argmaxRows,
  binaryLogLoss,
  categoricalLogLoss,
  macroF1,
  meanAbsoluteError,
  meanSquaredError,
  microF1,
  r2Score,
  rocAuc,
} from './functions.js';

export * from './functions.js';
export * from './registry.js';
import {
  categorical,
  columnMean,
  decided,
  labelledClasses,
  labelledValues,
  registerMetric,
} from './registry.js';
import './pr-auc.js';
import './precision-at-k.js';
import './recall-at-k.js';

registerMetric({
  name: 'mse',
  summary: 'mean squared error over labelled values',
  higherIsBetter: false,
  compute: (input) => {
    const v = labelledValues(input);
    return meanSquaredError(v.truth, v.pred);
  },
});
registerMetric({
  name: 'rmse',
  summary: 'root mean squared error over labelled values',
  higherIsBetter: false,
  compute: (input) => {
    const v = labelledValues(input);
    return Math.sqrt(meanSquaredError(v.truth, v.pred));
  },
});
registerMetric({
  name: 'mae',
  summary: 'mean absolute error over labelled values',
  higherIsBetter: false,
  compute: (input) => {
    const v = labelledValues(input);
    return meanAbsoluteError(v.truth, v.pred);
  },
});
registerMetric({
  name: 'r2',
  summary: 'coefficient of determination, averaged over outputs',
  higherIsBetter: true,
  compute: (input) => columnMean(input, r2Score),
});
registerMetric({
  name: 'auc',
  summary: 'area under the ROC curve (ties count one half)',
  higherIsBetter: true,
  compute: (input) => columnMean(input, rocAuc),
});
registerMetric({
  name: 'mean-auc',
  summary: 'ROC AUC averaged over the labels that have both classes',
  higherIsBetter: true,
  compute: (input) => columnMean(input, rocAuc),
});
registerMetric({
  name: 'accuracy',
  summary: 'share of correct predictions (argmax for multiclass, probability >= 0.5 otherwise)',
  higherIsBetter: true,
  compute: (input) => {
    const d = decided(input);
    return accuracy(d.truth, d.pred);
  },
});
registerMetric({
  name: 'logloss',
  summary: 'cross-entropy of the predicted probabilities',
  higherIsBetter: false,
  compute: (input) => {
    if (categorical(input)) {
      const { truth, probabilities } = labelledClasses(input);
      return categoricalLogLoss(truth, probabilities, input.outputs);
    }
    const v = labelledValues(input);
    return binaryLogLoss(v.truth, v.pred);
  },
});
registerMetric({
  name: 'macro-f1',
  summary: 'F1 averaged over the classes present in truth or predictions',
  higherIsBetter: true,
  compute: (input) => {
    const d = decided(input);
    return macroF1(d.truth, d.pred);
  },
});
registerMetric({
  name: 'micro-f1',
  summary: 'F1 of the positive labels pooled over every label (multilabel)',
  higherIsBetter: true,
  compute: (input) => {
    const d = decided(input);
    return categorical(input) ? accuracy(d.truth, d.pred) : microF1(d.truth, d.pred);
  },
});
