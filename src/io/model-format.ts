/**
 * The saved-model format, shared by every place a model is kept (a folder in Node; IndexedDB,
 * downloads, memory and http in browsers): the files saveModel writes, and the checks loadModel
 * makes on them (format and versions, sizes, the manifest, finite weights, the plan against the
 * model, the SHA-256 that metadata.json records). Browser-safe: the file access is a ModelSource.
 */
import * as tf from '@tensorflow/tfjs';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
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
import { described, parseJson } from './json.js';
import { MAX_JSON_BYTES, MAX_WEIGHT_BYTES } from './limits.js';

export { MAX_WEIGHT_BYTES };
const SCOPE = 'mtgraph/io';

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
  return bytesToHex(nobleSha256(typeof bytes === 'string' ? utf8ToBytes(bytes) : bytes));
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

export interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

export function readModelJson(value: unknown, file: string): ModelJson {
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
export type Checksums = Readonly<Record<string, string>>;

/** Refuses a file whose SHA-256 differs from the one recorded in metadata.json. */
function verify(bytes: Uint8Array, name: string, source: ModelSource, checksums: Checksums): void {
  const expected = checksums[name];
  if (expected !== undefined && sha256(bytes) !== expected) {
    throw new FileError(
      `${SCOPE}: ${name} in ${source.where} does not match ${MODEL_FILES.metadata} (its SHA-256 differs from the one recorded when the model was saved). The files come from different saves, or one was changed or damaged: save the model again.`,
      { path: source.at(name), got: name },
    );
  }
}

/**
 * Where the files of a saved model are read from. `size` and `read` raise the source's own
 * FileError for a missing or unreadable file; `read` refuses more than `limit` bytes.
 */
export interface ModelSource {
  /** Where the files are, for messages: a folder, 'indexeddb://name', a URL. */
  where: string;
  /** One file's place, for messages and error paths. */
  at(name: string): string;
  /** Whether the file exists. */
  has(name: string): Promise<boolean>;
  /** The file's size in bytes, known before it is read (raises when it is missing). */
  size(name: string, what: string): Promise<number>;
  /** The file's bytes, at most `limit` (raises when it is missing or larger). */
  read(name: string, what: string, limit: number): Promise<Uint8Array>;
}

/** The bytes read of each file, checked against metadata.json's checksums once every other check has passed. */
type ReadFiles = Map<string, Uint8Array>;

async function readRecorded(
  source: ModelSource,
  name: string,
  what: string,
  read: ReadFiles,
  limit: number,
): Promise<Uint8Array> {
  const bytes = await source.read(name, what, limit);
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
  source: ModelSource,
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
    const size = await source.size(name, 'weights file');
    if (size > MAX_WEIGHT_BYTES)
      throw new FileError(
        `${SCOPE}: the weights file ${source.at(name)} is too large (got ${size} bytes; the limit is ${MAX_WEIGHT_BYTES}).`,
        { path: source.at(name), got: size },
      );
    total += size;
  }
  const mismatch = (got: number) =>
    new FileError(
      `${SCOPE}: the weights in ${source.where} do not match ${file} (got ${got} bytes; the manifest needs ${expected}). The files are from different saves or truncated: save the model again.`,
      { path: source.at(MODEL_FILES.weights), got },
    );
  if (expected !== undefined && expected !== total) throw mismatch(total);
  const chunks: Uint8Array[] = [];
  for (const name of names)
    chunks.push(await readRecorded(source, name, 'weights file', read, MAX_WEIGHT_BYTES));
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
      `${SCOPE}: the weights in ${source.where} hold a NaN or infinite value (first in ${JSON.stringify(bad)}). The model diverged before it was saved, or the file is damaged: train or save it again.`,
      { path: source.at(MODEL_FILES.weights), got: bad },
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
function checkAgainstPlan(model: tf.LayersModel, plan: Plan, source: ModelSource): LayerNames {
  const names = nameLayers(plan);
  const mismatch = (what: string) =>
    new FileError(
      `${SCOPE}: ${MODEL_FILES.plan} does not match ${MODEL_FILES.model} in ${source.where}: ${what}. The files come from different models: save the model again.`,
      { path: source.at(MODEL_FILES.plan) },
    );
  const expected = plan.tasks.map((t) => names.outputs.get(t.id)!);
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
      `${SCOPE}: ${MODEL_FILES.model} in ${source.where} has one Dense head per task where this version of mtgraph builds the heads that read one block as one layer (${unfused.map((n) => JSON.stringify(n)).join(', ')}): the model was saved by an earlier version. Train and save it again with this version.`,
      { path: source.at(MODEL_FILES.model) },
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
  /** Where the files are (a folder, 'indexeddb://name', a URL, 'the in-memory files'). */
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
 * Reads the files of a saved model: metadata.json (format and version), model.json, plan.json (its
 * version), graph.json (its tasks against the plan) and the weights (size against the manifest),
 * each file checked against the SHA-256 that metadata.json recorded, JSON files at most
 * MAX_JSON_BYTES and weights at most MAX_WEIGHT_BYTES. Any mismatch raises a FileError (a
 * PlanError for a plan).
 */
export async function readModelSource(source: ModelSource): Promise<ModelFolder> {
  const metadataFile = source.at(MODEL_FILES.metadata);
  const modelFile = source.at(MODEL_FILES.model);
  const planFile = source.at(MODEL_FILES.plan);
  const graphFile = source.at(MODEL_FILES.graph);
  const { metadata, checksums } = (await source.has(MODEL_FILES.metadata))
    ? readMetadata(
        parseJson(
          await source.read(MODEL_FILES.metadata, 'metadata file', MAX_JSON_BYTES),
          metadataFile,
          'metadata file',
        ),
        metadataFile,
      )
    : { metadata: {}, checksums: {} };
  const read: ReadFiles = new Map();
  const json = readModelJson(
    parseJson(
      await readRecorded(source, MODEL_FILES.model, 'model file', read, MAX_JSON_BYTES),
      modelFile,
      'model file',
    ),
    modelFile,
  );
  const planData = parseJson(
    await readRecorded(source, MODEL_FILES.plan, 'plan file', read, MAX_JSON_BYTES),
    planFile,
    'plan file',
  );
  const plan = inFile(planFile, () => checkPlan(planData));
  let graph: SerializedTaskGraph | undefined;
  if (checksums[MODEL_FILES.graph] !== undefined || (await source.has(MODEL_FILES.graph))) {
    const data = parseJson(
      await readRecorded(source, MODEL_FILES.graph, 'graph file', read, MAX_JSON_BYTES),
      graphFile,
      'graph file',
    );
    const g = inFile(graphFile, () => TaskGraph.from(data));
    const unknown = plan.tasks.filter((t) => !g.hasNode(t.id)).map((t) => t.id);
    if (unknown.length > 0) {
      throw new FileError(
        `${SCOPE}: ${MODEL_FILES.graph} does not match ${MODEL_FILES.plan} in ${source.where}: the plan's task(s) ${unknown
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
  const weightData = await readWeights(source, json, modelFile, read);
  const verifyChecksums = () => {
    for (const [name, bytes] of read) verify(bytes, name, source, checksums);
    for (const name of Object.keys(checksums)) {
      if (!read.has(name))
        throw new FileError(
          `${SCOPE}: ${name} is missing from ${source.where} (${MODEL_FILES.metadata} says the model was saved with it). The files are incomplete: save the model again.`,
          { path: source.at(name) },
        );
    }
  };
  return {
    verifyChecksums,
    dir: source.where,
    json,
    plan,
    ...(graph ? { graph } : {}),
    metadata,
    weightData,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
  };
}

/**
 * Rebuilds the model from files read by readModelSource: the tfjs model (custom layers come back
 * through the tfjs serialization registry), checked against its plan and the checksums, with the
 * plan's penalties attached again.
 */
export async function rebuildModel(
  folder: ModelFolder,
  source: ModelSource,
): Promise<MtgraphModel> {
  const { json, plan, graph, metadata, weightData, weightSpecs, verifyChecksums } = folder;
  const modelFile = source.at(MODEL_FILES.model);
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
    const names = checkAgainstPlan(model, plan, source);
    verifyChecksums();
    return assemble(model, plan, names, { ...(graph ? { graph } : {}), metadata });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

const HEX = /^[0-9a-f]{64}$/;

export function readMetadata(
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
