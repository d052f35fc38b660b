export { loadGraph, saveGraph, type SaveGraphOptions } from './graph-file.js';
export { readJsonFile, writeFileAtomic, MAX_JSON_BYTES } from './files.js';
export { saveModel, loadModel, MODEL_FILES, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model-file.js';
