import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { FileError, MtgraphError, OptionsError, show } from '../errors.js';
import {
  assemble,
  checkPlan,
  nameLayers,
  type LayerNames,
  type MtgraphModel,
} from '../network/index.js';
import type { Plan } from '../plan/types.js';
import { TaskGraph } from '../graph/task-graph.js';
import { findUnsafeKey, isPlainObject } from '../schema/common.js';
import type { SerializedTaskGraph } from '../schema/serialized.js';
import { MAX_JSON_BYTES, described, exists, kindOf, parseJson, readFileLimited } from './files.js';
import { fsError } from './fs-errors.js';
import { recoverInterruptedSave } from './folder.js';
import { writeFolderAtomic, type FolderKind } from './outputs.js';

/** The files of a saved model folder. */
export const MODEL_FILES = Object.freeze({
  model: 'model.json',
  weights: 'weights.bin',
  plan: 'plan.json',
  graph: 'graph.json',
  metadata: 'metadata.json',
});

/** `metadata.json`'s format tag and version. */
export const MODEL_FORMAT = 'mtgraph-model';
export const MODEL_FORMAT_VERSION = 1;

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

/** Weight files larger than this are refused before they are read (2 GiB). */
export const MAX_WEIGHT_BYTES = 2 * 1024 * 1024 * 1024;
const SCOPE = 'mtgraph/io';

const DTYPE_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  uint8: 1,
  uint16: 2,
  float16: 2,
  complex64: 8,
};

function captureArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  const handler = tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });
  return model.save(handler).then(() => captured!);
}

/** A file's SHA-256, hex. */
export function sha256(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The files of a saved model folder: `model.json` + `weights.bin` (the standard tfjs layers format),
 * `plan.json`, `graph.json` (when the graph is known) and, last, `metadata.json`, which records the
 * SHA-256 of every other file so that files of different saves are never loaded together.
 */
export async function modelFolderFiles(
  model: MtgraphModel,
  options: {
    /** Names of other files written into the same folder (a report, a checkpoint's state), listed in metadata.json's `files`. */
    also?: readonly string[];
  } = {},
): Promise<Array<[string, string | Uint8Array]>> {
  let metadataText: string;
  try {
    metadataText = JSON.stringify(model.metadata ?? {});
  } catch (cause) {
    throw new FileError(
      `${SCOPE}: model.metadata cannot be written as JSON (${(cause as Error).message}) → at metadata. Keep only plain values in it.`,
      { path: 'metadata', cause },
    );
  }
  const artifacts = await captureArtifacts(model.model);
  if (!artifacts.weightSpecs || artifacts.weightData === undefined) {
    throw new FileError(
      `${SCOPE}: tfjs returned no weights for the model (got ${show(artifacts.weightData)}). This is a bug: please report it.`,
    );
  }
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [MODEL_FILES.weights], weights: artifacts.weightSpecs }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata
      ? { userDefinedMetadata: artifacts.userDefinedMetadata }
      : {}),
  };
  const files: Array<[string, string | Uint8Array]> = [
    [MODEL_FILES.model, JSON.stringify(modelJson)],
    [MODEL_FILES.weights, weights],
    [MODEL_FILES.plan, `${JSON.stringify(model.plan, null, 2)}\n`],
  ];
  if (model.graph !== undefined)
    files.push([MODEL_FILES.graph, `${JSON.stringify(model.graph, null, 2)}\n`]);
  const metadata = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    savedAt: new Date().toISOString(),
    backend: tf.getBackend(),
    tasks: model.plan.tasks.map((t) => t.id),
    sha256: Object.fromEntries(files.map(([name, content]) => [name, sha256(content)])),
    files: [...files.map(([name]) => name), MODEL_FILES.metadata, ...(options.also ?? [])],
    metadata: JSON.parse(metadataText) as unknown,
  };
  files.push([MODEL_FILES.metadata, `${JSON.stringify(metadata, null, 2)}\n`]);
  return files;
}

/** Checks what saveModel (and a checkpoint) is given: a built model. */
export function checkSavable(model: MtgraphModel, scope = SCOPE): void {
  if (!(model?.model instanceof tf.LayersModel) || !Array.isArray(model.plan?.tasks)) {
    throw new OptionsError(
      `${scope}: saveModel needs what build(plan) or compile(graph, options) returns (got ${show(model)}) → at model. Build it first, or save a bare tfjs model with model.save().`,
      { path: 'model', got: model },
    );
  }
}

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

export interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

function readModelJson(value: unknown, file: string): ModelJson {
  const bad = (what: string) =>
    new FileError(
      `${SCOPE}: ${file} is not a tfjs layers model: ${what}. Save the model again with saveModel.`,
      { path: file },
    );
  if (!isPlainObject(value)) throw bad(`expected an object (got ${described(value)})`);
  if (!isPlainObject(value.modelTopology)) throw bad('modelTopology is missing');
  if (value.format !== undefined && value.format !== 'layers-model')
    throw bad(`format is ${described(value.format)}, expected "layers-model"`);
  const manifest = value.weightsManifest;
  if (!Array.isArray(manifest)) throw bad('weightsManifest is missing');
  for (const group of manifest) {
    if (!isPlainObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw bad('a weightsManifest entry lacks paths or weights');
    for (const p of group.paths) {
      if (
        typeof p !== 'string' ||
        p === '' ||
        p === '.' ||
        p === '..' ||
        p.includes('/') ||
        p.includes('\\')
      ) {
        throw bad(`the weights path (${described(p)}) must be a file name inside the model folder`);
      }
    }
    for (const w of group.weights) {
      if (
        !isPlainObject(w) ||
        typeof w.name !== 'string' ||
        !Array.isArray(w.shape) ||
        !w.shape.every((d) => Number.isInteger(d) && d >= 0) ||
        typeof w.dtype !== 'string' ||
        !Object.hasOwn(DTYPE_BYTES, w.dtype)
      ) {
        throw bad(`a weight spec is malformed (got ${show(w)})`);
      }
    }
  }
  return value as unknown as ModelJson;
}

function expectedBytes(specs: readonly tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const s of specs) {
    if (s.quantization) return undefined;
    total += s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype]!;
  }
  return total;
}

/** The SHA-256 of each file as metadata.json records them (saves of mtgraph before 0.1 have none). */
type Checksums = Readonly<Record<string, string>>;

/** Refuses a file whose SHA-256 differs from the one recorded in metadata.json. */
function verify(bytes: Uint8Array, name: string, dir: string, checksums: Checksums): void {
  const expected = checksums[name];
  if (expected !== undefined && sha256(bytes) !== expected) {
    throw new FileError(
      `${SCOPE}: ${name} in ${dir} does not match ${MODEL_FILES.metadata} (its SHA-256 differs from the one recorded when the model was saved). The files come from different saves, or one was changed or damaged: save the model again.`,
      { path: path.join(dir, name), got: name },
    );
  }
}

/** The bytes read of each file, checked against metadata.json's checksums once every other check has passed. */
type ReadFiles = Map<string, Uint8Array>;

async function readRecorded(
  dir: string,
  name: string,
  what: string,
  read: ReadFiles,
  limit: number,
): Promise<Uint8Array> {
  const bytes = await readFileLimited(path.join(dir, name), what, limit);
  read.set(name, bytes);
  return bytes;
}

/** The first float32 weight that is NaN or infinite, if any (by name). */
function nonFiniteWeight(
  data: ArrayBuffer,
  specs: readonly tf.io.WeightsManifestEntry[],
): string | undefined {
  let offset = 0;
  for (const s of specs) {
    const count = s.shape.reduce((a, b) => a * b, 1);
    if (s.dtype === 'float32' && !s.quantization) {
      const values = new Float32Array(data, offset, count);
      for (let i = 0; i < count; i++) if (!Number.isFinite(values[i]!)) return s.name;
    }
    offset += count * DTYPE_BYTES[s.dtype]!;
  }
  return undefined;
}

async function readWeights(
  dir: string,
  json: ModelJson,
  file: string,
  read: ReadFiles,
): Promise<ArrayBuffer> {
  // Sizes first: a weights file of the wrong size is refused before a byte of it is read.
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const expected = expectedBytes(specs);
  const names = json.weightsManifest.flatMap((g) => g.paths);
  let total = 0;
  for (const name of names) {
    const p = path.join(dir, name);
    let stat: import('node:fs').Stats;
    try {
      stat = await fs.stat(p);
    } catch (cause) {
      const error = await fsError(cause, p, `read the weights file named by ${file},`);
      error.message += ' The model folder is incomplete: save it again.';
      throw error;
    }
    if (!stat.isFile())
      throw new FileError(
        `${SCOPE}: the weights file ${p} is not a regular file (got ${kindOf(stat)}). Save the model again.`,
        { path: p, got: kindOf(stat) },
      );
    if (stat.size > MAX_WEIGHT_BYTES)
      throw new FileError(
        `${SCOPE}: the weights file ${p} is too large (got ${stat.size} bytes; the limit is ${MAX_WEIGHT_BYTES}).`,
        { path: p, got: stat.size },
      );
    total += stat.size;
  }
  const mismatch = (got: number) =>
    new FileError(
      `${SCOPE}: the weights in ${dir} do not match ${file} (got ${got} bytes; the manifest needs ${expected}). The files are from different saves or truncated: save the model again.`,
      { path: path.join(dir, MODEL_FILES.weights), got },
    );
  if (expected !== undefined && expected !== total) throw mismatch(total);
  const chunks: Uint8Array[] = [];
  for (const name of names)
    chunks.push(await readRecorded(dir, name, 'weights file', read, MAX_WEIGHT_BYTES));
  total = chunks.reduce((s, c) => s + c.byteLength, 0);
  if (expected !== undefined && expected !== total) throw mismatch(total);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  const bad = expected === undefined ? undefined : nonFiniteWeight(out.buffer, specs);
  if (bad !== undefined) {
    throw new FileError(
      `${SCOPE}: the weights in ${dir} hold a NaN or infinite value (first in ${JSON.stringify(bad)}). The model diverged before it was saved, or the file is damaged: train or save it again.`,
      { path: path.join(dir, MODEL_FILES.weights), got: bad },
    );
  }
  return out.buffer;
}

function inFile<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof MtgraphError) error.message = `${error.message}\n  (in ${file})`;
    throw error;
  }
}

/** Checks that the tfjs model is the model of `plan`: input width, one output per task with its units, every named layer present. */
function checkAgainstPlan(model: tf.LayersModel, plan: Plan, dir: string): LayerNames {
  const names = nameLayers(plan);
  const mismatch = (what: string) =>
    new FileError(
      `${SCOPE}: ${MODEL_FILES.plan} does not match ${MODEL_FILES.model} in ${dir}: ${what}. The files come from different models: save the model again.`,
      { path: path.join(dir, MODEL_FILES.plan) },
    );
  const expected = plan.tasks.map((t) => names.heads.get(t.id)!);
  if (JSON.stringify(model.outputNames) !== JSON.stringify(expected))
    throw mismatch(
      `the model's outputs are ${model.outputNames.join(', ')}, the plan's tasks give ${expected.join(', ')}`,
    );
  const width = model.inputs[0]?.shape[1];
  if (model.inputs.length !== 1 || width !== plan.input.features)
    throw mismatch(`the model reads ${show(width)} features, the plan ${plan.input.features}`);
  plan.tasks.forEach((t, i) => {
    const units = model.outputs[i]!.shape[1];
    if (units !== plan.heads[t.id]!.units)
      throw mismatch(
        `the output of "${t.id}" has ${show(units)} units, the plan's head ${plan.heads[t.id]!.units}`,
      );
  });
  const present = new Set(model.layers.map((l) => l.name));
  const wanted = [
    ...[...names.blocks.values(), ...names.towers.values()].flat().map((s) => s.dense),
    ...[...names.gates.values()].map((g) => g.weights),
    ...names.couplings.values(),
    ...names.fusedHeads.keys(),
  ];
  const missing = wanted.filter((n) => !present.has(n));
  const unfused = [...names.fusedHeads.keys()].filter((n) => !present.has(n));
  if (unfused.length > 0 && unfused.length === missing.length) {
    throw new FileError(
      `${SCOPE}: ${MODEL_FILES.model} in ${dir} has one Dense head per task where this version of mtgraph builds the heads that read one block as one layer (${unfused.map((n) => JSON.stringify(n)).join(', ')}): the model was saved by an earlier version. Train and save it again with this version.`,
      { path: path.join(dir, MODEL_FILES.model) },
    );
  }
  if (missing.length > 0)
    throw mismatch(
      `the model has no layer ${missing
        .slice(0, 3)
        .map((n) => JSON.stringify(n))
        .join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`,
    );
  return names;
}

/** The files of a saved model folder, read and checked against each other; no tensor is created. */
export interface ModelFolder {
  dir: string;
  json: ModelJson;
  plan: Plan;
  graph?: SerializedTaskGraph;
  metadata: Record<string, unknown>;
  /** weights.bin, its length checked against the manifest and its values finite. */
  weightData: ArrayBuffer;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /**
   * Refuses files whose SHA-256 differs from metadata.json's record, or listed there and missing.
   * Called last, so that a specific mistake (an unknown plan version, a plan of another model, a
   * truncated weights file) is named first.
   */
  verifyChecksums(): void;
}

/**
 * Reads a model folder: metadata.json (format and version), model.json, plan.json (its version),
 * graph.json (its tasks against the plan) and the weights (size against the manifest), each file
 * checked against the SHA-256 that metadata.json recorded, JSON files at most MAX_JSON_BYTES and
 * weights at most MAX_WEIGHT_BYTES. Any mismatch raises a FileError (a PlanError for a plan).
 */
export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const root = dir;
  const metadataFile = path.join(root, MODEL_FILES.metadata);
  const modelFile = path.join(root, MODEL_FILES.model);
  const planFile = path.join(root, MODEL_FILES.plan);
  const graphFile = path.join(root, MODEL_FILES.graph);
  const { metadata, checksums } = (await exists(metadataFile))
    ? readMetadata(
        parseJson(
          await readFileLimited(metadataFile, 'metadata file', MAX_JSON_BYTES),
          metadataFile,
          'metadata file',
        ),
        metadataFile,
      )
    : { metadata: {}, checksums: {} };
  const read: ReadFiles = new Map();
  const json = readModelJson(
    parseJson(
      await readRecorded(root, MODEL_FILES.model, 'model file', read, MAX_JSON_BYTES),
      modelFile,
      'model file',
    ),
    modelFile,
  );
  const planData = parseJson(
    await readRecorded(root, MODEL_FILES.plan, 'plan file', read, MAX_JSON_BYTES),
    planFile,
    'plan file',
  );
  const plan = inFile(planFile, () => checkPlan(planData));
  let graph: SerializedTaskGraph | undefined;
  if (checksums[MODEL_FILES.graph] !== undefined || (await exists(graphFile))) {
    const data = parseJson(
      await readRecorded(root, MODEL_FILES.graph, 'graph file', read, MAX_JSON_BYTES),
      graphFile,
      'graph file',
    );
    const g = inFile(graphFile, () => TaskGraph.from(data));
    const unknown = plan.tasks.filter((t) => !g.hasNode(t.id)).map((t) => t.id);
    if (unknown.length > 0) {
      throw new FileError(
        `${SCOPE}: ${MODEL_FILES.graph} does not match ${MODEL_FILES.plan} in ${root}: the plan's task(s) ${unknown
          .slice(0, 3)
          .map((t) => JSON.stringify(t))
          .join(
            ', ',
          )} are not in the graph. The files come from different models: save the model again.`,
        { path: graphFile, got: unknown },
      );
    }
    graph = data as SerializedTaskGraph;
  }
  const weightData = await readWeights(root, json, modelFile, read);
  const verifyChecksums = () => {
    for (const [name, bytes] of read) verify(bytes, name, root, checksums);
    for (const name of Object.keys(checksums)) {
      if (!read.has(name))
        throw new FileError(
          `${SCOPE}: ${name} is missing from ${root} (${MODEL_FILES.metadata} says the model was saved with it). The folder is incomplete: save the model again.`,
          { path: path.join(root, name) },
        );
    }
  };
  return {
    verifyChecksums,
    dir: root,
    json,
    plan,
    ...(graph ? { graph } : {}),
    metadata,
    weightData,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
  };
}

/** Options of `loadModel`. */
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
  if (model === undefined) throw not(`it holds no ${MODEL_FILES.model}`);
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
  const { json, plan, graph, metadata, weightData, weightSpecs, verifyChecksums } =
    await readModelFolder(root);
  const modelFile = path.join(root, MODEL_FILES.model);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData,
        format: json.format ?? 'layers-model',
        ...(json.generatedBy !== undefined ? { generatedBy: json.generatedBy } : {}),
        ...(json.convertedBy != null ? { convertedBy: json.convertedBy } : {}),
        ...(json.trainingConfig ? { trainingConfig: json.trainingConfig } : {}),
        ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
      }),
    );
  } catch (cause) {
    throw new FileError(
      `${SCOPE}: tfjs cannot rebuild the model from ${modelFile} (${(cause as Error).message.split('\n')[0]}). The file is damaged or was written by another program: save the model again.`,
      { path: modelFile, cause },
    );
  }
  try {
    const names = checkAgainstPlan(model, plan, root);
    verifyChecksums();
    return assemble(model, plan, names, { ...(graph ? { graph } : {}), metadata });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

const HEX = /^[0-9a-f]{64}$/;

function readMetadata(
  value: unknown,
  file: string,
): { metadata: Record<string, unknown>; checksums: Checksums } {
  if (!isPlainObject(value) || value.format !== MODEL_FORMAT) {
    throw new FileError(
      `${SCOPE}: ${file} is not mtgraph model metadata (got format ${described(isPlainObject(value) ? value.format : value)}; expected ${JSON.stringify(MODEL_FORMAT)}). Save the model again with saveModel.`,
      { path: file },
    );
  }
  if (value.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new FileError(
      `${SCOPE}: unknown model format version in ${file} (got ${described(value.formatVersion)}; expected ${MODEL_FORMAT_VERSION}). Load it with the mtgraph version that saved it, or save it again.`,
      { path: file, got: value.formatVersion },
    );
  }
  const inner = value.metadata ?? {};
  if (!isPlainObject(inner))
    throw new FileError(
      `${SCOPE}: the metadata in ${file} must be an object (got ${described(inner)}).`,
      { path: file },
    );
  const unsafe = findUnsafeKey(inner, 'metadata');
  if (unsafe)
    throw new FileError(
      `${SCOPE}: the key ${JSON.stringify(unsafe.key)} is not allowed → at ${unsafe.path} in ${file}. The file was tampered with.`,
      { path: file, got: unsafe.key },
    );
  const sums = value.sha256 ?? {};
  const known = new Set<string>(Object.values(MODEL_FILES));
  if (
    !isPlainObject(sums) ||
    !Object.entries(sums).every(
      ([name, hash]) => known.has(name) && typeof hash === 'string' && HEX.test(hash),
    )
  ) {
    throw new FileError(
      `${SCOPE}: the sha256 entry of ${file} must map model file names to SHA-256 hex digests (got ${show(sums)}). Save the model again with saveModel.`,
      { path: file },
    );
  }
  return { metadata: inner, checksums: sums as Record<string, string> };
}
