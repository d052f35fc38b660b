/**
 * Ensemble folders (Node): saveEnsemble writes ensemble-format.ts's files into a folder
 * atomically, loadEnsemble reads them back with every check of a saved model. Loaded through
 * src/platform only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError, OptionsError, show } from '../errors.js';
import type { MtgraphEnsemble } from '../tune/fit-ensemble.js';
import { exists, kindOf } from './files.js';
import { recoverInterruptedSave } from './folder.js';
import {
  ENSEMBLE_FILE,
  ENSEMBLE_FOLDER,
  ensembleFolderFiles,
  readEnsembleSource,
} from './ensemble-format.js';
import { folderSource } from './model-file.js';
import { writeFolderAtomic } from './outputs.js';

const SCOPE = 'mtgraph/io';

const checkDir = (dir: unknown): string => {
  if (typeof dir !== 'string' || dir === '')
    throw new OptionsError(
      `${SCOPE}: the ensemble folder must be a non-empty path (got ${show(dir)}) → at dir.`,
      { path: 'dir', got: dir },
    );
  return dir;
};

/**
 * Saves an ensemble (what fitEnsemble returns) to the folder `dir`, atomically as saveModel does:
 * ensemble.json and each member's model files under `member-<n>.`.
 */
export async function saveEnsemble(ensemble: MtgraphEnsemble, dir: string): Promise<void> {
  checkDir(dir);
  await writeFolderAtomic(dir, await ensembleFolderFiles(ensemble), ENSEMBLE_FOLDER);
}

/** Whether `dir` is a folder holding an ensemble.json (an ensemble rather than a model). */
export async function isEnsembleFolder(dir: string): Promise<boolean> {
  return exists(path.join(path.resolve(dir), ENSEMBLE_FILE));
}

/** Loads an ensemble saved by saveEnsemble (or mtgraph tune --ensemble). */
export async function loadEnsemble(dir: string): Promise<MtgraphEnsemble> {
  checkDir(dir);
  const root = await recoverInterruptedSave(path.resolve(dir));
  let stat: import('node:fs').Stats;
  try {
    stat = await fs.stat(root);
  } catch {
    throw new FileError(
      `${SCOPE}: ${dir} is not an mtgraph ensemble folder: it does not exist. Check the path.`,
      { path: dir },
    );
  }
  if (!stat.isDirectory() || !(await exists(path.join(root, ENSEMBLE_FILE))))
    throw new FileError(
      `${SCOPE}: ${dir} is not an mtgraph ensemble folder: ${stat.isDirectory() ? `it holds no ${ENSEMBLE_FILE}` : `it is ${kindOf(stat)}`}. Give the folder that saveEnsemble or mtgraph tune --ensemble wrote.`,
      { path: dir },
    );
  return readEnsembleSource(folderSource(root));
}
