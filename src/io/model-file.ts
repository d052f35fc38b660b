/**
 * Model folders (Node): saveModel writes the files of model-format.ts into a folder atomically,
 * loadModel reads them back with model-format.ts's checks. Loaded through src/platform only.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError, OptionsError, show } from '../errors.js';
import type { MtgraphModel } from '../network/index.js';
import { isPlainObject } from '../schema/common.js';
import { exists, kindOf, readFileLimited } from './files.js';
import { fsError } from './fs-errors.js';
import { recoverInterruptedSave } from './folder.js';
import {
  MODEL_FILES,
  MODEL_FORMAT,
  checkSavable,
  modelFolderFiles,
  readModelSource,
  rebuildModel,
  type ModelFolder,
  type ModelSource,
} from './model-format.js';
import { writeFolderAtomic, type FolderKind } from './outputs.js';

// The format is shared with the browser's forms (model-format.ts); re-exported for Node callers.
export {
  MODEL_FILES,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  MAX_WEIGHT_BYTES,
  checkSavable,
  modelFolderFiles,
  sha256,
  type ModelFolder,
  type ModelJson,
} from './model-format.js';

/** Files mtgraph writes into a model folder besides MODEL_FILES: train's report and a checkpoint's state. */
const COMPANION_FILES = ['report.html', 'checkpoint.json', 'optimizer.bin'];

/**
 * The model folder as an output (see `checkOutputs`): an existing folder is mtgraph's when its
 * metadata.json has format "mtgraph-model"; mtgraph wrote the files its `files` list names (saves
 * before that list: the model files, report.html and a checkpoint's files).
 */
export const MODEL_FOLDER: FolderKind = Object.freeze({
  what: 'model',
  marker: 'metadata.json',
  written(marker: unknown): readonly string[] | undefined {
    if (!isPlainObject(marker) || marker.format !== MODEL_FORMAT) return undefined;
    if (Array.isArray(marker.files)) return marker.files.filter((f) => typeof f === 'string');
    return [...Object.values(MODEL_FILES), ...COMPANION_FILES];
  },
});

const SCOPE = 'mtgraph/io';

/**
 * Saves a built model to the folder `dir`: `model.json` + `weights.bin` (the standard tfjs
 * layers format, loadable by tfjs-node's file://), `plan.json`, `graph.json` (when the graph is
 * known) and `metadata.json` (with the SHA-256 of the other files). Atomic: the files are written
 * and flushed to a hidden sibling folder that then replaces `dir` (see `writeFolderAtomic`), so an
 * interrupted save leaves the previous model intact, and a crash between the two renames is
 * undone by the next saveModel or loadModel.
 */
export async function saveModel(model: MtgraphModel, dir: string): Promise<void> {
  checkSavable(model);
  if (typeof dir !== 'string' || dir === '')
    throw new OptionsError(
      `${SCOPE}: the model folder must be a non-empty path (got ${show(dir)}) → at dir.`,
      { path: 'dir', got: dir },
    );
  const files = await modelFolderFiles(model);
  await writeFolderAtomic(dir, files, MODEL_FOLDER);
}

/** A model folder as a ModelSource: files under `dir`, read with the limits of files.ts. */
export function folderSource(dir: string): ModelSource {
  const at = (name: string) => path.join(dir, name);
  return {
    where: dir,
    at,
    has: (name) => exists(at(name)),
    async size(name, what) {
      const p = at(name);
      let stat: import('node:fs').Stats;
      try {
        stat = await fs.stat(p);
      } catch (cause) {
        const error = await fsError(cause, p, `read the ${what} named by ${MODEL_FILES.model},`);
        error.message += ' The model folder is incomplete: save it again.';
        throw error;
      }
      if (!stat.isFile())
        throw new FileError(
          `${SCOPE}: the ${what} ${p} is not a regular file (got ${kindOf(stat)}). Save the model again.`,
          { path: p, got: kindOf(stat) },
        );
      return stat.size;
    },
    read: (name, what, limit) => readFileLimited(at(name), what, limit),
  };
}

/**
 * Reads a model folder with the checks of `readModelSource` (format, versions, sizes, manifest,
 * finite weights, checksums); no tensor is created.
 */
export function readModelFolder(dir: string): Promise<ModelFolder> {
  return readModelSource(folderSource(dir));
}

/** Options of `loadModel`. */
/** Options of `loadModel` for folders (the public entry's LoadModelOptions adds the other forms'). */
export interface LoadModelOptions {
  /**
   * Refuse a folder without metadata.json (default false). Without it the files cannot be checked
   * against each other (metadata.json records their SHA-256): a folder written by tfjs's own
   * `model.save()` plus a plan.json loads, but nothing proves its files come from one save.
   */
  requireChecksums?: boolean;
}

/** Refuses, in words, a path that is not a model folder: missing, a file, or a folder without model.json. */
async function checkModelFolder(
  dir: string,
  root: string,
  options: LoadModelOptions,
): Promise<void> {
  const not = (what: string, fix = 'Give the folder that saveModel or mtgraph train wrote.') =>
    new FileError(`${SCOPE}: ${dir} is not an mtgraph model folder: ${what}. ${fix}`, {
      path: dir,
    });
  let stat: import('node:fs').Stats;
  try {
    stat = await fs.stat(root);
  } catch (cause) {
    const c = (cause as NodeJS.ErrnoException).code;
    if (c === 'ENOENT') throw not('it does not exist (ENOENT)', 'Check the path.');
    if (c === 'ENOTDIR') throw not('a part of its path is a file (ENOTDIR)', 'Check the path.');
    throw await fsError(cause, dir, 'read the model folder');
  }
  if (!stat.isDirectory())
    throw not(
      `it is ${kindOf(stat)}, not a folder`,
      'Give the folder that holds model.json, not a file in it.',
    );
  let model: import('node:fs').Stats | undefined;
  try {
    model = await fs.stat(path.join(root, MODEL_FILES.model));
  } catch {
    model = undefined;
  }
  if (model === undefined) {
    if (await exists(path.join(root, 'ensemble.json')))
      throw not(
        'it holds an ensemble (ensemble.json: several models and their weights)',
        'mtgraph predict and eval read it (loadEnsemble in code); to export or draw one model, train it with mtgraph train or tune without --ensemble.',
      );
    throw not(`it holds no ${MODEL_FILES.model}`);
  }
  if (options.requireChecksums && !(await exists(path.join(root, MODEL_FILES.metadata))))
    throw new FileError(
      `${SCOPE}: ${dir} has no ${MODEL_FILES.metadata}, so its files cannot be checked against each other (requireChecksums is set). Save the model with saveModel, or load it without requireChecksums.`,
      { path: path.join(dir, MODEL_FILES.metadata) },
    );
}

/**
 * Loads a model saved by `saveModel`: the tfjs model (custom layers come back through the tfjs
 * serialization registry), its plan (unknown versions are refused), graph and metadata, with the
 * plan's penalties attached again. Files that do not belong together, are truncated, too large or
 * hold non-finite weights raise a FileError. When `dir` is missing because a save was interrupted
 * between its two renames, the previous model is restored first (see `recoverInterruptedSave`),
 * and stale temporaries of killed saves are removed. A folder without metadata.json (no SHA-256
 * of its files) loads without that check unless `options.requireChecksums` refuses it.
 */
export async function loadModel(
  dir: string,
  options: LoadModelOptions = {},
): Promise<MtgraphModel> {
  if (typeof dir !== 'string' || dir === '')
    throw new OptionsError(
      `${SCOPE}: the model folder must be a non-empty path (got ${show(dir)}) → at dir.`,
      { path: 'dir', got: dir },
    );
  const root = await recoverInterruptedSave(path.resolve(dir));
  await checkModelFolder(dir, root, options);
  const source = folderSource(root);
  return rebuildModel(await readModelSource(source), source);
}
