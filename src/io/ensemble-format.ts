/**
 * The saved form of a tuned ensemble (`fitEnsemble`'s members and weights), shared by folders
 * (Node) and files in memory. Browser-safe.
 *
 * One flat set of files: `ensemble.json` (format, version, each member's file prefix and weight,
 * and every file written) and, per member, the files of a saved model under a prefix
 * (`member-1.model.json`, `member-1.weights.bin`, `member-1.plan.json`, `member-1.metadata.json`,
 * ...). Each member is read back with every check of a saved model (its metadata.json holds the
 * SHA-256 of its files).
 */
import { FileError } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import type { MtgraphEnsemble } from '../tune/fit-ensemble.js';
import { parseJson } from './json.js';
import { MAX_JSON_BYTES } from './limits.js';
import {
  checkSavable,
  modelFolderFiles,
  readModelSource,
  rebuildModel,
  type ModelSource,
} from './model-format.js';
import type { FolderKind } from './outputs.js';

const SCOPE = 'mtgraph/io';

export const ENSEMBLE_FORMAT = 'mtgraph-ensemble';
export const ENSEMBLE_FORMAT_VERSION = 1;
/** The file that says a folder holds an ensemble. */
export const ENSEMBLE_FILE = 'ensemble.json';
/** Members an ensemble file may list (tune's ensemble selection keeps at most 16). */
const MAX_MEMBERS = 64;

/** An ensemble folder as an output: mtgraph's when its ensemble.json has the format; mtgraph wrote the files it lists. */
export const ENSEMBLE_FOLDER: FolderKind = Object.freeze({
  what: 'ensemble',
  marker: ENSEMBLE_FILE,
  written(marker: unknown): readonly string[] | undefined {
    if (!isPlainObject(marker) || marker.format !== ENSEMBLE_FORMAT) return undefined;
    return Array.isArray(marker.files) ? marker.files.filter((f) => typeof f === 'string') : [];
  },
});

/** The files of an ensemble: ensemble.json and each member's model files under its prefix. */
export async function ensembleFolderFiles(
  ensemble: MtgraphEnsemble,
  options: { also?: readonly string[] } = {},
): Promise<Array<[string, string | Uint8Array]>> {
  const members = ensemble?.members;
  if (!Array.isArray(members) || members.length === 0)
    throw new FileError(
      `${SCOPE}: the ensemble has no members to save → at ensemble.members. Save what fitEnsemble or loadEnsemble returned.`,
      { path: 'ensemble.members' },
    );
  members.forEach((m) => checkSavable(m.model));
  const files: Array<[string, string | Uint8Array]> = [];
  const listed: Array<{ prefix: string; weight: number }> = [];
  for (const [i, m] of members.entries()) {
    const prefix = `member-${i + 1}.`;
    listed.push({ prefix, weight: m.weight });
    for (const [name, content] of await modelFolderFiles(m.model))
      files.push([prefix + name, content]);
  }
  const marker = {
    format: ENSEMBLE_FORMAT,
    version: ENSEMBLE_FORMAT_VERSION,
    members: listed,
    files: [ENSEMBLE_FILE, ...files.map(([n]) => n), ...(options.also ?? [])],
  };
  return [[ENSEMBLE_FILE, `${JSON.stringify(marker, null, 1)}\n`], ...files];
}

/** A member's files inside the ensemble's source, read as a model source of their own. */
function prefixed(source: ModelSource, prefix: string): ModelSource {
  return {
    where: `${source.where} (${prefix.slice(0, -1)})`,
    at: (name) => source.at(prefix + name),
    has: (name) => source.has(prefix + name),
    size: (name, what) => source.size(prefix + name, what),
    read: (name, what, limit) => source.read(prefix + name, what, limit),
  };
}

/**
 * Reads an ensemble from a source of its files: ensemble.json's format, version and members are
 * checked, then each member is loaded with every check of a saved model. A member that fails
 * frees the ones already loaded.
 */
export async function readEnsembleSource(source: ModelSource): Promise<MtgraphEnsemble> {
  const bad = (what: string) =>
    new FileError(
      `${SCOPE}: ${source.at(ENSEMBLE_FILE)} is not an mtgraph ensemble file: ${what}. Save the ensemble again (saveEnsemble, or mtgraph tune --ensemble).`,
      { path: source.at(ENSEMBLE_FILE) },
    );
  const marker = parseJson(
    await source.read(ENSEMBLE_FILE, 'ensemble file', MAX_JSON_BYTES),
    source.at(ENSEMBLE_FILE),
    'ensemble file',
  );
  if (!isPlainObject(marker) || marker.format !== ENSEMBLE_FORMAT)
    throw bad(`its format is not "${ENSEMBLE_FORMAT}"`);
  if (marker.version !== ENSEMBLE_FORMAT_VERSION)
    throw bad(
      `version ${JSON.stringify(marker.version)} is not one this mtgraph reads (expected ${ENSEMBLE_FORMAT_VERSION}); upgrade mtgraph`,
    );
  const listed = marker.members;
  if (!Array.isArray(listed) || listed.length === 0 || listed.length > MAX_MEMBERS)
    throw bad(`"members" must list 1 to ${MAX_MEMBERS} members`);
  let total = 0;
  for (const m of listed) {
    if (
      !isPlainObject(m) ||
      typeof m.prefix !== 'string' ||
      !/^member-\d{1,3}\.$/.test(m.prefix) ||
      typeof m.weight !== 'number' ||
      !(m.weight > 0 && Number.isFinite(m.weight))
    )
      throw bad('each member needs a prefix "member-<n>." and a positive weight');
    total += m.weight;
  }
  if (Math.abs(total - 1) > 1e-6) throw bad(`the members' weights sum to ${total}, not 1`);
  const members: MtgraphEnsemble['members'] = [];
  const dispose = () => {
    for (const m of members) m.model.dispose();
    members.length = 0;
  };
  try {
    for (const m of listed as Array<{ prefix: string; weight: number }>) {
      const member = prefixed(source, m.prefix);
      members.push({
        model: await rebuildModel(await readModelSource(member), member),
        weight: m.weight,
      });
    }
  } catch (error) {
    dispose();
    throw error;
  }
  const tasks = (i: number) =>
    members[i]!.model.plan.tasks.map((t) => `${t.id}:${t.kind}:${t.outputs}`).join(',');
  for (let i = 1; i < members.length; i++) {
    if (tasks(i) !== tasks(0)) {
      dispose();
      throw bad(`member ${i + 1} predicts other tasks than member 1`);
    }
  }
  return { members, dispose };
}
