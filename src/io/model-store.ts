/**
 * saveModel / loadModel for the public entry. Where a model goes or comes from is chosen by the
 * target: a folder path (Node, through the platform seam), 'indexeddb://name' or
 * 'downloads://name' (browsers), an `http(s)://` URL (loadModel), or the in-memory files.
 */
import type { MtgraphModel } from '../network/types.js';
import type { LoadModelOptions } from './model-file.js';
import { OptionsError, show } from '../errors.js';
import { nodeParts } from '../platform/index.js';

const SCOPE = 'mtgraph/io';
const INSTEAD =
  "In a browser save to 'indexeddb://name' or 'downloads://name', or keep the files in memory with saveModel(model) (see the README, \"Saving and loading\").";

/** Saves a built model (see the README for the targets). */
export async function saveModel(model: MtgraphModel, dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir === '')
    throw new OptionsError(
      `${SCOPE}: the model folder must be a non-empty path (got ${show(dir)}) → at dir.`,
      { path: 'dir', got: dir },
    );
  const node = await nodeParts(SCOPE, `saveModel to the folder ${JSON.stringify(dir)}`, INSTEAD);
  return node.saveModelFolder(model, dir);
}

/** Loads a model saved by saveModel (see the README for the sources). */
export async function loadModel(
  dir: string,
  options: LoadModelOptions = {},
): Promise<MtgraphModel> {
  if (typeof dir !== 'string' || dir === '')
    throw new OptionsError(
      `${SCOPE}: the model folder must be a non-empty path (got ${show(dir)}) → at dir.`,
      { path: 'dir', got: dir },
    );
  const node = await nodeParts(SCOPE, `loadModel from the folder ${JSON.stringify(dir)}`, INSTEAD);
  return node.loadModelFolder(dir, options);
}
