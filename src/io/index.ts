export { loadGraph, saveGraph, type SaveGraphOptions } from './graph-file.js';
export { readJsonFile, writeFileAtomic, MAX_JSON_BYTES } from './files.js';
