/**
 * mtgraph: graph-based multi-task learning. Declare tasks and affinities as a graphology
 * graph, compile it into a Plan (the parameter-sharing network), and train it jointly.
 */
export * from './errors.js';
export {
  TaskAttributesSchema, AffinityAttributesSchema, GraphAttributesSchema, SerializedGraphSchema, LayerStackSchema,
  TASK_KINDS, ACTIVATIONS, SHARING_MODES, readGraph,
  type TaskAttributes, type TaskKindName, type TaskKind, type RegressionTask, type BinaryTask, type MulticlassTask, type MultilabelTask,
  type AffinityAttributes, type SharingMode, type GraphAttributes, type InputSpec, type SerializedTaskGraph,
  type GraphSpec, type TaskSpec, type AffinitySpec, type Activation,
} from './schema/index.js';
export * from './graph/index.js';
export * from './plan/index.js';
export { loadGraph, saveGraph, type SaveGraphOptions, MAX_JSON_BYTES } from './io/index.js';
export {
  initBackend, untrainableLayers, assertTrainable, BACKEND_NAMES, patchWasmMatMul, restoreWasmMatMul, wasmMatMulPatched, patchWasmSlice, restoreWasmSlice, wasmSlicePatched, patchWasmGather, restoreWasmGather, wasmGatherPatched, patchWasmTranspose, restoreWasmTranspose, wasmTransposePatched, patchWasmSum, restoreWasmSum, wasmSumPatched, patchWasmConcat, restoreWasmConcat, wasmConcatPatched, patchWasmSplit, restoreWasmSplit, wasmSplitPatched, WASM_KERNEL_REPLACEMENTS, patchWasmKernels, restoreWasmKernels,
  type BackendName, type BackendReport, type BackendAttempt, type InitBackendOptions, type UntrainableLayer,
} from './backend/index.js';
export {
  build, compile, checkPlan, CrossStitch, LaplacianPenalty, registerHead, registerCouplingBuilder, SeededDropout, reseedDropout, planLayerClasses,
  type BuildOptions, type SeededDropoutArgs, type MtgraphModel, type Penalty, type LayerNames, type HeadBuilder, type CouplingBuilder,
} from './network/index.js';
export { saveModel, loadModel } from './io/index.js';
export { generateTaskFamily, type TaskFamily, type TaskFamilyOptions, type TaskFamilyData } from './synthetic/task-family.js';
export {
  fit, evaluate, predict, FIT_DEFAULTS, targetScale,
  registerLoss, getLoss, lossNames, registerBalance, getBalance, balanceNames,
  registerMetric, getMetric, metricNames, registerOptimizer, optimizerNames,
  type FitOptions, type History, type EpochLogs, type Evaluation, type EvaluateOptions, type PredictOptions,
  type LossFunction, type BalanceMethod, type Balancer, type BalanceContext, type Combined,
  type Metric, type MetricInput, type OptimizerFactory, type TargetScale,
} from './train/index.js';
export {
  prepareData, TARGETS,
  type TaskData, type FeatureInput, type LabelInput, type MaskInput, type FlatMatrix, type PreparedData,
} from './data/index.js';
export {
  measureAffinity, groupTasks, AFFINITY_DEFAULTS, EXHAUSTIVE_MAX_TASKS,
  registerAffinityMethod, getAffinityMethod, affinityMethodNames,
  type AffinityResult, type MeasureAffinityOptions, type GroupTasksOptions, type TaskGroups,
  type AffinityMethod, type AffinityInput, type AffinityMeasurement,
} from './affinity/index.js';
export {
  renderGraphSvg, layoutGraph, toGexf, toGraphml, renderPlanSvg, renderReport,
  GRAPH_SVG_DEFAULTS, PLAN_SVG_DEFAULTS, REPORT_DEFAULTS,
  type GraphSvgOptions, type LayoutOptions, type GexfOptions, type GraphmlOptions,
  type PlanSvgOptions, type ReportOptions, type ReportInput, type AffinityMatrix, type SizeFunction,
} from './viz/index.js';
export {
  defineBalance, taskParameters, sharedRepresentation,
  type BalanceNeeds, type LossBalancer, type GradientBalancer, type GradientCombination, type TaskGradients,
  type TaskParameters, type SharedRepresentation, type UncertaintyOptions, type DwaOptions, type GradnormOptions,
  type MgdaOptions, type CagradOptions,
} from './train/index.js';
export {
  readCsv, readCsvTable, fitPreprocessing, applyPreprocessing, parsePreprocessing, splitRows, toCsvData,
  PREPROCESS_DEFAULTS, PreprocessingSchema,
  type CsvData, type CsvTaskData, type ReadCsvOptions, type CsvTable, type ReadCsvTableOptions,
  type Preprocessing, type FeatureEncoding, type PreprocessOptions, type FittedPreprocessing,
  type EncodedTable, type ApplyPreprocessingOptions, type SplitOptions, type Split,
} from './data/index.js';
