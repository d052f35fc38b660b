export { loadGraph, saveGraph, graphFileText, type SaveGraphOptions } from './graph-file.js';
export {
  readJsonFile,
  readFileLimited,
  openRegularFile,
  parseJson,
  findUnsafeJsonKey,
  writeFileDurable,
  MAX_JSON_BYTES,
} from './files.js';
export { fsError } from './fs-errors.js';
export { recoverInterruptedSave } from './folder.js';
export {
  checkOutputs,
  commitOutputs,
  writeFolderAtomic,
  writeFileAtomic,
  removeStaleTemporaries,
  foreignEntries,
  type FolderKind,
  type FolderFiles,
  type OutputTarget,
  type CheckedOutput,
  type OutputContent,
} from './outputs.js';
export {
  saveModel,
  loadModel,
  readModelFolder,
  modelFolderFiles,
  checkSavable,
  sha256,
  MODEL_FILES,
  MODEL_FOLDER,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MAX_WEIGHT_BYTES,
  type LoadModelOptions,
  type ModelFolder,
} from './model-file.js';
export {
  saveEnsemble,
  loadEnsemble,
  isEnsembleFolder,
} from './ensemble-file.js';
export { ENSEMBLE_FOLDER, ENSEMBLE_FILE, ensembleFolderFiles } from './ensemble-format.js';
