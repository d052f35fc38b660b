export type { FeatureInput, LabelInput, LabelValue, MaskInput, TaskData, FlatMatrix, PreparedData, PreparedTask } from './types.js';
export { prepareData, prepareFeatures, selectRows, type PrepareOptions } from './prepare.js';
export { readFeatures, type Features } from './features.js';
export { TARGETS, targetOf, type TargetEncoder } from './targets.js';
export { toTensors, packColumns, disposeData, type DataTensors } from './tensors.js';
