export { loadGraph, saveGraph, type SaveGraphOptions } from './graph-file.js';
export {
  readJsonFile,
  readFileLimited,
  parseJson,
  findUnsafeJsonKey,
  writeFileAtomic,
  writeFileDurable,
  MAX_JSON_BYTES,
} from './files.js';
export { writeFolderAtomic, recoverInterruptedSave, type FolderFiles } from './folder.js';
export {
  saveModel,
  loadModel,
  readModelFolder,
  modelFolderFiles,
  checkSavable,
  sha256,
  MODEL_FILES,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MAX_WEIGHT_BYTES,
  type ModelFolder,
} from './model-file.js';
