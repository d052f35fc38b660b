/**
 * mtgraph: graph-based multi-task learning. Declare tasks and affinities as a graphology
 * graph, compile it into a Plan (the parameter-sharing network), and train it jointly.
 */
export * from './errors.js';
export {
  TaskAttributesSchema,
  AffinityAttributesSchema,
  GraphAttributesSchema,
  SerializedGraphSchema,
  LayerStackSchema,
  TASK_KINDS,
  ACTIVATIONS,
  SHARING_MODES,
  readGraph,
  type TaskAttributes,
  type TaskKindName,
  type TaskKind,
  type RegressionTask,
  type BinaryTask,
  type MulticlassTask,
  type MultilabelTask,
  type AffinityAttributes,
  type SharingMode,
  type GraphAttributes,
  type InputSpec,
  type SerializedTaskGraph,
  type GraphSpec,
  type TaskSpec,
  type AffinitySpec,
  type Activation,
} from './schema/index.js';
export * from './graph/index.js';
export * from './plan/index.js';
export { loadGraph, saveGraph, type SaveGraphOptions } from './io/graph-store.js';
export { MAX_JSON_BYTES } from './io/limits.js';
// Backend: picking TensorFlow.js's backend. The backend's knobs (the wasm kernel replacements,
// the tested tfjs version) are on the `mtgraph/backend` subpath (src/backend/index.ts).
export {
  initBackend,
  untrainableLayers,
  assertTrainable,
  BACKEND_NAMES,
  type BackendName,
  type BackendReport,
  type BackendAttempt,
  type InitBackendOptions,
  type UntrainableLayer,
} from './backend/index.js';
export {
  build,
  compile,
  checkPlan,
  CrossStitch,
  LaplacianPenalty,
  registerHead,
  registerCouplingBuilder,
  SeededDropout,
  reseedDropout,
  planLayerClasses,
  type BuildOptions,
  type SeededDropoutArgs,
  type MtgraphModel,
  type Penalty,
  type LayerNames,
  type HeadBuilder,
  type CouplingBuilder,
} from './network/index.js';
export {
  saveModel,
  loadModel,
  type LoadModelOptions,
  type ModelInput,
} from './io/model-store.js';
export type { ModelFiles, NamedFile, HttpInit } from './io/model-stores.js';
export {
  generateTaskFamily,
  type TaskFamily,
  type TaskFamilyOptions,
  type TaskFamilyData,
} from './synthetic/task-family.js';
export {
  fit,
  evaluate,
  predict,
  FIT_DEFAULTS,
  targetScale,
  registerLoss,
  getLoss,
  lossNames,
  registerBalance,
  getBalance,
  balanceNames,
  registerMetric,
  getMetric,
  metricNames,
  registerOptimizer,
  optimizerNames,
  type FitOptions,
  type History,
  type EpochLogs,
  type Evaluation,
  type EvaluateOptions,
  type PredictOptions,
  type LossFunction,
  type BalanceMethod,
  type Balancer,
  type BalanceContext,
  type Combined,
  type Metric,
  type MetricInput,
  type OptimizerFactory,
  type TargetScale,
} from './train/index.js';
// Issue 17: predictions as arrays, learning-rate schedules, task chains' generated family.
export type { PredictedArrays } from './train/predict.js';
export type { ScheduleOptions } from './train/schedule.js';
export type { PlateauOptions } from './train/plateau.js';
export {
  generateClickPurchase,
  type ClickPurchaseOptions,
  type ClickPurchaseData,
} from './synthetic/click-purchase.js';
export {
  prepareData,
  TARGETS,
  type TaskData,
  type FeatureInput,
  type LabelInput,
  type MaskInput,
  type FlatMatrix,
  type PreparedData,
} from './data/index.js';
export {
  measureAffinity,
  groupTasks,
  AFFINITY_DEFAULTS,
  EXHAUSTIVE_MAX_TASKS,
  registerAffinityMethod,
  getAffinityMethod,
  affinityMethodNames,
  type AffinityResult,
  type MeasureAffinityOptions,
  type GroupTasksOptions,
  type TaskGroups,
  type AffinityMethod,
  type AffinityInput,
  type AffinityMeasurement,
} from './affinity/index.js';
export {
  renderGraphSvg,
  layoutGraph,
  toGexf,
  toGraphml,
  renderPlanSvg,
  renderReport,
  GRAPH_SVG_DEFAULTS,
  PLAN_SVG_DEFAULTS,
  REPORT_DEFAULTS,
  type GraphSvgOptions,
  type LayoutOptions,
  type GexfOptions,
  type GraphmlOptions,
  type PlanSvgOptions,
  type ReportOptions,
  type ReportInput,
  type AffinityMatrix,
  type SizeFunction,
} from './viz/index.js';
export {
  defineBalance,
  taskParameters,
  sharedRepresentation,
  type BalanceNeeds,
  type LossBalancer,
  type GradientBalancer,
  type GradientCombination,
  type TaskGradients,
  type TaskParameters,
  type SharedRepresentation,
  type UncertaintyOptions,
  type DwaOptions,
  type GradnormOptions,
  type MgdaOptions,
  type CagradOptions,
} from './train/index.js';
export {
  readCsv,
  readCsvTable,
  fitPreprocessing,
  applyPreprocessing,
  parsePreprocessing,
  splitRows,
  toCsvData,
  PREPROCESS_DEFAULTS,
  PreprocessingSchema,
  type CsvData,
  type CsvTaskData,
  type ReadCsvOptions,
  type CsvTable,
  type ReadCsvTableOptions,
  type Preprocessing,
  type FeatureEncoding,
  type PreprocessOptions,
  type FittedPreprocessing,
  type EncodedTable,
  type ApplyPreprocessingOptions,
  type SplitOptions,
  type Split,
} from './data/index.js';
// Issue 17: embedded columns (graph input.embed): vocabularies fitted from in-memory data, the stable hash.
export {
  fitVocabularies,
  stableHash,
  hashBucket,
  type FitVocabulariesOptions,
} from './data/index.js';
export type { EmbeddingPlan } from './plan/types.js';
export type { EmbedSpec } from './schema/graph-attributes.js';
// Export for serving and scaling elsewhere (#16): plain tfjs, ONNX, PyTorch; files in memory, writeExport in Node.
export {
  exportModel,
  writeExport,
  importWeights,
  registerExportFormat,
  exportFormatNames,
  type ExportOptions,
  type ExportResult,
  type ExportSignature,
  type ExportFormat,
  type ExportFiles,
} from './export/index.js';
// Tuning (#19): strategies and their settings searched on validation rows (successive halving).
export {
  tune,
  fitEnsemble,
  predictEnsemble,
  evaluateEnsemble,
  ENSEMBLE_POOL,
  TUNE_DEFAULTS,
  registerSearchSpace,
  getSearchSpace,
  searchSpaceNames,
  type TuneOptions,
  type TuneResult,
  type TuneBest,
  type TuneEnsemble,
  type TuneEnsembleMember,
  type MtgraphEnsemble,
  type FitEnsembleOptions,
  type TuneTrial,
  type TuneProgress,
  type TuneObjective,
  type TrialScores,
  type SearchSpace,
  type SearchContext,
  type Candidate,
} from './tune/index.js';
export { saveEnsemble, loadEnsemble } from './io/ensemble-store.js';
export { holdOutPerTask, type HoldOut } from './data/holdout.js';
