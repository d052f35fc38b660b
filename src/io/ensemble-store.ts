/**
 * Saving and loading tuned ensembles: folders (Node, through the platform seam) and files in
 * memory (anywhere). Browser-safe.
 */
import { OptionsError, show } from '../errors.js';
import { nodeParts } from '../platform/index.js';
import type { MtgraphEnsemble } from '../tune/fit-ensemble.js';
import { ensembleFolderFiles, readEnsembleSource } from './ensemble-format.js';
import { isModelFiles, memorySource, toModelFiles, type ModelFiles } from './model-stores.js';

const SCOPE = 'mtgraph/io';
const INSTEAD = 'In a browser, call saveEnsemble(ensemble) for its files in memory.';

/**
 * Saves an ensemble (what fitEnsemble returns): to a folder (Node; atomic), or without a target
 * returns its files in memory (`{ files }`), which loadEnsemble takes back.
 */
export function saveEnsemble(ensemble: MtgraphEnsemble): Promise<ModelFiles>;
export function saveEnsemble(ensemble: MtgraphEnsemble, dir: string): Promise<undefined>;
export async function saveEnsemble(
  ensemble: MtgraphEnsemble,
  dir?: string,
): Promise<ModelFiles | undefined> {
  if (dir === undefined) return toModelFiles(await ensembleFolderFiles(ensemble));
  const node = await nodeParts(SCOPE, `saveEnsemble to the folder ${show(dir)}`, INSTEAD);
  await node.saveEnsembleFolder(ensemble, dir);
  return undefined;
}

/** Loads an ensemble saved by saveEnsemble: from a folder (Node) or from its files in memory. */
export async function loadEnsemble(source: string | ModelFiles): Promise<MtgraphEnsemble> {
  if (isModelFiles(source))
    return readEnsembleSource(memorySource(source.files, 'the in-memory files'));
  if (typeof source !== 'string' || source === '')
    throw new OptionsError(
      `${SCOPE}: loadEnsemble needs a folder path or { files } (got ${show(source)}) → at source.`,
      { path: 'source', got: source },
    );
  const node = await nodeParts(SCOPE, `loadEnsemble from the folder ${show(source)}`, INSTEAD);
  return node.loadEnsembleFolder(source);
}
