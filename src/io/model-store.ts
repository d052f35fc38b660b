/**
 * saveModel / loadModel for the public entry. Where a model goes or comes from is chosen by the
 * target: a folder path (Node, through the platform seam), 'indexeddb://name' or
 * 'downloads://name' (browsers), an `http(s)://` URL (loadModel), or the files in memory
 * (`saveModel(model)` returns them; `loadModel({ files })` and `loadModel(input.files)` take them).
 * Every form is checked alike (model-format.ts: sizes, manifest, finite weights, SHA-256).
 */
import type { MtgraphModel } from '../network/types.js';
import { FileError, OptionsError, show } from '../errors.js';
import { nodeParts } from '../platform/index.js';
import {
  MODEL_FILES,
  checkSavable,
  modelFolderFiles,
  readModelSource,
  rebuildModel,
  type ModelSource,
} from './model-format.js';
import {
  downloadFiles,
  httpSource,
  indexedDbSource,
  isModelFiles,
  memorySource,
  pickedFiles,
  saveToIndexedDb,
  toModelFiles,
  type HttpInit,
  type ModelFiles,
  type NamedFile,
} from './model-stores.js';

const SCOPE = 'mtgraph/io';
const INSTEAD =
  "In a browser save to 'indexeddb://name' or 'downloads://name', or keep the files in memory with saveModel(model).";

/** Options of `loadModel`. */
export interface LoadModelOptions {
  /**
   * Refuse a model without metadata.json (default false). Without it the files cannot be checked
   * against each other (metadata.json records their SHA-256): a folder written by tfjs's own
   * `model.save()` plus a plan.json loads, but nothing proves its files come from one save.
   */
  requireChecksums?: boolean;
  /** Passed to `fetch` for an http(s) URL (headers, credentials). */
  requestInit?: HttpInit;
}

/** Where loadModel reads a model from: a folder path or URL, the files in memory, or picked files. */
export type ModelInput = string | ModelFiles | ArrayLike<NamedFile> | Iterable<NamedFile>;

const scheme = (target: string, prefix: string): string | undefined =>
  target.startsWith(prefix) ? target.slice(prefix.length) : undefined;

function storeName(name: string, target: string): string {
  if (name === '' || name.includes('/'))
    throw new OptionsError(
      `${SCOPE}: ${JSON.stringify(target)} needs a model name after the scheme, without '/' (got ${JSON.stringify(name)}) → at target. Write e.g. 'indexeddb://my-model'.`,
      { path: 'target', got: target },
    );
  return name;
}

/**
 * Saves a built model: to a folder (Node; atomic, see the README), to 'indexeddb://name' (one
 * IndexedDB transaction), to 'downloads://name' (the browser downloads `name-model.json`, ...),
 * or, without a target, returns the files in memory (`{ files }`, Uint8Arrays by file name).
 */
export function saveModel(model: MtgraphModel): Promise<ModelFiles>;
export function saveModel(model: MtgraphModel, target: string): Promise<undefined>;
export async function saveModel(
  model: MtgraphModel,
  target?: string,
): Promise<ModelFiles | undefined> {
  checkSavable(model);
  if (target === undefined) return toModelFiles(await modelFolderFiles(model));
  if (typeof target !== 'string' || target === '')
    throw new OptionsError(
      `${SCOPE}: the model folder must be a non-empty path (got ${show(target)}) → at dir.`,
      { path: 'dir', got: target },
    );
  const db = scheme(target, 'indexeddb://');
  if (db !== undefined) {
    await saveToIndexedDb(storeName(db, target), toModelFiles(await modelFolderFiles(model)));
    return undefined;
  }
  const download = scheme(target, 'downloads://');
  if (download !== undefined) {
    downloadFiles(storeName(download, target), toModelFiles(await modelFolderFiles(model)));
    return undefined;
  }
  if (/^https?:\/\//i.test(target))
    throw new OptionsError(
      `${SCOPE}: saveModel cannot write to a URL (got ${JSON.stringify(target)}) → at target. Save the files (saveModel(model) returns them) and upload them, or save to a folder or 'indexeddb://name'.`,
      { path: 'target', got: target },
    );
  const node = await nodeParts(SCOPE, `saveModel to the folder ${JSON.stringify(target)}`, INSTEAD);
  await node.saveModelFolder(model, target);
  return undefined;
}

async function sourceOf(input: ModelInput, options: LoadModelOptions): Promise<ModelSource> {
  if (typeof input === 'string') {
    const db = scheme(input, 'indexeddb://');
    if (db !== undefined) return indexedDbSource(storeName(db, input));
    if (/^https?:\/\//i.test(input)) return httpSource(input, options.requestInit);
    if (input.startsWith('downloads://'))
      throw new OptionsError(
        `${SCOPE}: loadModel cannot read ${JSON.stringify(input)}: downloads are files the user keeps → at source. Let them pick the files (<input type="file" multiple>) and pass input.files to loadModel.`,
        { path: 'source', got: input },
      );
    throw new Error('unreachable: folders are read by the Node part');
  }
  if (isModelFiles(input)) return memorySource(input.files, 'the in-memory files');
  if (
    typeof input === 'object' &&
    input !== null &&
    (Symbol.iterator in input || typeof (input as ArrayLike<unknown>).length === 'number')
  ) {
    const picked = await pickedFiles(input as ArrayLike<NamedFile>);
    return memorySource(picked.files, 'the picked files');
  }
  throw new OptionsError(
    `${SCOPE}: loadModel needs a folder path, 'indexeddb://name', an http(s) URL, { files } or picked files (got ${show(input)}) → at source.`,
    { path: 'source', got: input },
  );
}

/**
 * Loads a model saved by saveModel, from any of its forms (a folder, 'indexeddb://name', an
 * http(s) URL of the folder, `{ files }`, or the files picked after a 'downloads://' save), with
 * the same checks for all: files that do not belong together, are truncated, too large or hold
 * non-finite weights raise a FileError.
 */
export async function loadModel(
  source: ModelInput,
  options: LoadModelOptions = {},
): Promise<MtgraphModel> {
  if (source === '' || source === null || source === undefined)
    throw new OptionsError(
      `${SCOPE}: the model folder must be a non-empty path (got ${show(source)}) → at dir.`,
      { path: 'dir', got: source },
    );
  const isFolder =
    typeof source === 'string' &&
    !/^(indexeddb|downloads):\/\//.test(source) &&
    !/^https?:\/\//i.test(source);
  if (isFolder) {
    const node = await nodeParts(
      SCOPE,
      `loadModel from the folder ${JSON.stringify(source)}`,
      INSTEAD,
    );
    return node.loadModelFolder(source, options);
  }
  const from = await sourceOf(source, options);
  if (options.requireChecksums && !(await from.has(MODEL_FILES.metadata)))
    throw new FileError(
      `${SCOPE}: ${from.where} has no ${MODEL_FILES.metadata}, so its files cannot be checked against each other (requireChecksums is set). Save the model with saveModel, or load it without requireChecksums.`,
      { path: from.at(MODEL_FILES.metadata) },
    );
  return rebuildModel(await readModelSource(from), from);
}
