export { fit } from './fit.js';
export { evaluate, type Evaluation, type EvaluateOptions } from './evaluate.js';
export { predict, type PredictOptions, type PredictedArrays } from './predict.js';
export {
  FIT_DEFAULTS,
  resolveFitOptions,
  type FitOptions,
  type ResolvedFitOptions,
} from './options.js';
export type { History, EpochLogs } from './history.js';
export {
  registerLoss,
  getLoss,
  lossNames,
  EPSILON,
  HUBER_DELTA,
  type LossFunction,
} from './losses.js';
export {
  registerBalance,
  getBalance,
  balanceNames,
  defineBalance,
  uncertaintyObjective,
  uncertaintyScales,
  dwaWeights,
  gradnormGradient,
  pcgradWeights,
  minNormWeights,
  gradientNormalizers,
  rlwWeights,
  cagradWeights,
  type BalanceMethod,
  type Balancer,
  type BalanceContext,
  type BalanceNeeds,
  type Combined,
  type LossBalancer,
  type GradientBalancer,
  type GradientCombination,
  type TaskGradients,
  type UncertaintyOptions,
  type DwaOptions,
  type GradnormOptions,
  type MgdaOptions,
  type CagradOptions,
} from './balance/index.js';
export {
  taskParameters,
  sharedRepresentation,
  type TaskParameters,
  type SharedRepresentation,
} from './parameters.js';
export {
  registerOptimizer,
  getOptimizer,
  optimizerNames,
  type OptimizerFactory,
} from './optimizers.js';
export {
  registerMetric,
  getMetric,
  metricNames,
  type Metric,
  type MetricInput,
} from './metrics/index.js';
export { Objective } from './objective.js';
export { targetScale, type TargetScale } from './target-scale.js';
export { resolveTaskMetrics, scoreTasks, type TaskScores } from './task-metrics.js';
