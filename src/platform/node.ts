/**
 * The Node half of the platform seam (see ./index.ts): every part of mtgraph that needs Node's
 * file system or native modules, gathered so that the rest of the library stays browser-safe.
 * Loaded only in Node.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

export { saveModel as saveModelFolder, loadModel as loadModelFolder } from '../io/model-file.js';
export {
  saveEnsemble as saveEnsembleFolder,
  loadEnsemble as loadEnsembleFolder,
} from '../io/ensemble-file.js';
export { loadGraph, saveGraph } from '../io/graph-file.js';
export { readCsvFile } from '../data/csv-file.js';
export {
  checkCheckpointDir,
  fingerprint,
  resumeCheckpoint,
  saveCheckpoint,
} from '../train/checkpoint.js';
export { writeExportFolder } from '../export/folder.js';
// The worker thread of a two-thread fast step (issue 18).
export { startFastPeer } from './fast-peer.js';

/** Imports @tensorflow/tfjs-node (optional: it registers the 'tensorflow' backend). */
export async function importTfjsNode(): Promise<void> {
  // A variable specifier: the package is optional, so TypeScript and bundlers must not resolve it.
  const specifier = '@tensorflow/tfjs-node';
  await import(specifier);
}

/** Folder holding tfjs-backend-wasm's .wasm binaries, as a path ending in a separator. */
export function wasmFolder(): string {
  const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
  return path.dirname(main) + path.sep;
}
