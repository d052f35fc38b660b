export type {
  FeatureInput,
  LabelInput,
  LabelValue,
  MaskInput,
  TaskData,
  FlatMatrix,
  PreparedData,
  PreparedTask,
} from './types.js';
export { prepareData, prepareFeatures, selectRows, type PrepareOptions } from './prepare.js';
export { readFeatures, type Features } from './features.js';
export { TARGETS, targetOf, type TargetEncoder } from './targets.js';
export { toTensors, packColumns, disposeData, type DataTensors } from './tensors.js';
export { readCsv, toCsvData, type ReadCsvOptions, type CsvData, type CsvTaskData } from './csv.js';
export {
  readCsvTable,
  parseCsvText,
  csvError,
  type CsvSource,
  type CsvTable,
  type ReadCsvTableOptions,
} from './csv-table.js';
export {
  fitPreprocessing,
  applyPreprocessing,
  parsePreprocessing,
  preprocessingVocabularies,
  resolvePreprocessOptions,
  PreprocessingSchema,
  PREPROCESS_DEFAULTS,
  type Preprocessing,
  type FeatureEncoding,
  type PreprocessOptions,
  type FittedPreprocessing,
  type EncodedTable,
  type ApplyPreprocessingOptions,
  type CsvTask,
} from './preprocess.js';
export { taskResolver, parseNumber } from './preprocess-cells.js';
export {
  fitVocabularies,
  stableHash,
  hashBucket,
  type FitVocabulariesOptions,
} from './embed.js';
export { splitRows, type SplitOptions, type Split } from './preprocess-split.js';
