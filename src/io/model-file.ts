import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError, MtgraphError, OptionsError, show } from '../errors.js';
import { assemble, checkPlan, nameLayers, type LayerNames, type MtgraphModel } from '../build/index.js';
import type { Plan } from '../plan/types.js';
import { TaskGraph } from '../graph/task-graph.js';
import { findUnsafeKey, isPlainObject } from '../spec/common.js';
import type { SerializedTaskGraph } from '../spec/serialized.js';
import { readJsonFile } from './files.js';

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

/** Weight files larger than this are refused before they are read (2 GiB). */
const MAX_WEIGHT_BYTES = 2 * 1024 * 1024 * 1024;
const SCOPE = 'mtgraph/io';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

function errno(cause: unknown): string {
  return (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Refuses to replace anything but an empty folder or a saved model. */
async function checkTarget(dir: string): Promise<boolean> {
  let stat;
  try {
    stat = await fs.lstat(dir);
  } catch {
    return false;
  }
  if (!stat.isDirectory()) {
    throw new FileError(`${SCOPE}: cannot save a model to ${dir}: it is a file, not a folder. Choose a folder path.`, { path: dir });
  }
  const entries = await fs.readdir(dir);
  if (entries.length > 0 && !entries.includes(MODEL_FILES.model)) {
    throw new FileError(`${SCOPE}: cannot save a model to ${dir}: the folder holds other files and no ${MODEL_FILES.model}, and saving replaces the whole folder. Choose an empty or new folder.`, { path: dir, got: entries.slice(0, 5) });
  }
  return true;
}

function captureArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  const handler = tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });
  return model.save(handler).then(() => captured!);
}

/**
 * Saves a built model to the folder `dir`: `model.json` + `weights.bin` (the standard tfjs
 * layers format, loadable by tfjs-node's file://), `plan.json`, `graph.json` (when the graph is
 * known) and `metadata.json`. The files are written to a temporary sibling folder that then
 * replaces `dir`, so an interrupted save leaves the previous model intact.
 */
export async function saveModel(model: MtgraphModel, dir: string): Promise<void> {
  if (!(model?.model instanceof tf.LayersModel) || !Array.isArray(model.plan?.tasks)) {
    throw new OptionsError(`${SCOPE}: saveModel needs what build(plan) or compile(graph, options) returns (got ${show(model)}) → at model. Build it first, or save a bare tfjs model with model.save().`, { path: 'model', got: model });
  }
  if (typeof dir !== 'string' || dir === '') throw new OptionsError(`${SCOPE}: the model folder must be a non-empty path (got ${show(dir)}) → at dir.`, { path: 'dir', got: dir });
  const target = path.resolve(dir);
  const replacing = await checkTarget(target);
  const artifacts = await captureArtifacts(model.model);
  if (!artifacts.weightSpecs || artifacts.weightData === undefined) {
    throw new FileError(`${SCOPE}: tfjs returned no weights for the model (got ${show(artifacts.weightData)}). This is a bug: please report it.`, { path: target });
  }
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
  const modelJson = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [MODEL_FILES.weights], weights: artifacts.weightSpecs }],
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
  };
  const metadata = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    savedAt: new Date().toISOString(),
    backend: tf.getBackend(),
    tasks: model.plan.tasks.map((t) => t.id),
    metadata: model.metadata,
  };
  let metadataText: string;
  try {
    metadataText = `${JSON.stringify(metadata, null, 2)}\n`;
  } catch (cause) {
    throw new FileError(`${SCOPE}: model.metadata cannot be written as JSON (${(cause as Error).message}) → at metadata. Keep only plain values in it.`, { path: 'metadata', cause });
  }
  const files: Array<[string, string | Uint8Array]> = [
    [MODEL_FILES.model, JSON.stringify(modelJson)],
    [MODEL_FILES.weights, weights],
    [MODEL_FILES.plan, `${JSON.stringify(model.plan, null, 2)}\n`],
    [MODEL_FILES.metadata, metadataText],
  ];
  if (model.graph !== undefined) files.push([MODEL_FILES.graph, `${JSON.stringify(model.graph, null, 2)}\n`]);

  const parent = path.dirname(target);
  const base = path.basename(target);
  const tag = randomBytes(6).toString('hex');
  const tmp = path.join(parent, `.${base}.${tag}.tmp`);
  const old = path.join(parent, `.${base}.${tag}.old`);
  try {
    await fs.mkdir(tmp, { recursive: true });
    for (const [name, content] of files) {
      const handle = await fs.open(path.join(tmp, name), 'w');
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (cause) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new FileError(`${SCOPE}: cannot write the model to ${parent} (${errno(cause)}). Check the folder is writable and the disk has room.`, { path: target, cause });
  }
  try {
    if (replacing) await fs.rename(target, old);
    try {
      await fs.rename(tmp, target);
    } catch (cause) {
      if (replacing) await fs.rename(old, target);
      throw cause;
    }
  } catch (cause) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new FileError(`${SCOPE}: cannot move the saved model into ${target} (${errno(cause)}). The previous model, if any, is unchanged.`, { path: target, cause });
  }
  if (replacing) await fs.rm(old, { recursive: true, force: true });
}

interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  trainingConfig?: tf.io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
}

function readModelJson(value: unknown, file: string): ModelJson {
  const bad = (what: string) => new FileError(`${SCOPE}: ${file} is not a tfjs layers model: ${what}. Save the model again with saveModel.`, { path: file });
  if (!isPlainObject(value)) throw bad(`expected an object (got ${show(value)})`);
  if (!isPlainObject(value.modelTopology)) throw bad('modelTopology is missing');
  if (value.format !== undefined && value.format !== 'layers-model') throw bad(`format is ${show(value.format)}, expected "layers-model"`);
  const manifest = value.weightsManifest;
  if (!Array.isArray(manifest)) throw bad('weightsManifest is missing');
  for (const group of manifest) {
    if (!isPlainObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) throw bad('a weightsManifest entry lacks paths or weights');
    for (const p of group.paths) {
      if (typeof p !== 'string' || p === '' || p === '.' || p === '..' || p.includes('/') || p.includes('\\')) {
        throw bad(`the weights path ${show(p)} must be a file name inside the model folder`);
      }
    }
    for (const w of group.weights) {
      if (!isPlainObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0) || typeof w.dtype !== 'string' || !(w.dtype in DTYPE_BYTES)) {
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

async function readWeights(dir: string, json: ModelJson, file: string): Promise<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const name of group.paths) {
      const p = path.join(dir, name);
      let size: number;
      try {
        size = (await fs.stat(p)).size;
      } catch (cause) {
        throw new FileError(`${SCOPE}: cannot read the weights file ${p} named by ${file} (${errno(cause)}). The model folder is incomplete: save it again.`, { path: p, cause });
      }
      if (size > MAX_WEIGHT_BYTES) throw new FileError(`${SCOPE}: the weights file ${p} is too large (got ${size} bytes; the limit is ${MAX_WEIGHT_BYTES}).`, { path: p, got: size });
      chunks.push(new Uint8Array(await fs.readFile(p)));
    }
  }
  const total = chunks.reduce((s, c) => s + c.byteLength, 0);
  const expected = expectedBytes(json.weightsManifest.flatMap((g) => g.weights));
  if (expected !== undefined && expected !== total) {
    throw new FileError(`${SCOPE}: the weights in ${dir} do not match ${file} (got ${total} bytes; the manifest needs ${expected}). The files are from different saves or truncated: save the model again.`, { path: path.join(dir, MODEL_FILES.weights), got: total });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
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
  const mismatch = (what: string) => new FileError(`${SCOPE}: ${MODEL_FILES.plan} does not match ${MODEL_FILES.model} in ${dir}: ${what}. The files come from different models: save the model again.`, { path: path.join(dir, MODEL_FILES.plan) });
  const expected = plan.tasks.map((t) => names.heads.get(t.id)!);
  if (JSON.stringify(model.outputNames) !== JSON.stringify(expected)) throw mismatch(`the model's outputs are ${model.outputNames.join(', ')}, the plan's tasks give ${expected.join(', ')}`);
  const width = model.inputs[0]?.shape[1];
  if (model.inputs.length !== 1 || width !== plan.input.features) throw mismatch(`the model reads ${show(width)} features, the plan ${plan.input.features}`);
  plan.tasks.forEach((t, i) => {
    const units = model.outputs[i]!.shape[1];
    if (units !== plan.heads[t.id]!.units) throw mismatch(`the output of "${t.id}" has ${show(units)} units, the plan's head ${plan.heads[t.id]!.units}`);
  });
  const present = new Set(model.layers.map((l) => l.name));
  const wanted = [
    ...[...names.blocks.values(), ...names.towers.values()].flat().map((s) => s.dense),
    ...[...names.gates.values()].map((g) => g.weights),
    ...names.couplings.values(),
  ];
  const missing = wanted.filter((n) => !present.has(n));
  if (missing.length > 0) throw mismatch(`the model has no layer ${missing.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
  return names;
}

/**
 * Loads a model saved by `saveModel`: the tfjs model (custom layers come back through the tfjs
 * serialization registry), its plan (unknown versions are refused), graph and metadata, with the
 * plan's penalties attached again. Files that do not belong together raise a FileError.
 */
export async function loadModel(dir: string): Promise<MtgraphModel> {
  const root = path.resolve(dir);
  const modelFile = path.join(root, MODEL_FILES.model);
  const planFile = path.join(root, MODEL_FILES.plan);
  const metadataFile = path.join(root, MODEL_FILES.metadata);
  const graphFile = path.join(root, MODEL_FILES.graph);

  const json = readModelJson(await readJsonFile(modelFile, 'model file'), modelFile);
  const planData = await readJsonFile(planFile, 'plan file');
  const plan = inFile(planFile, () => checkPlan(planData));
  const metadata = (await exists(metadataFile)) ? readMetadata(await readJsonFile(metadataFile, 'metadata file'), metadataFile) : {};
  let graph: SerializedTaskGraph | undefined;
  if (await exists(graphFile)) {
    const data = await readJsonFile(graphFile, 'graph file');
    const g = inFile(graphFile, () => TaskGraph.from(data));
    const unknown = plan.tasks.filter((t) => !g.hasNode(t.id)).map((t) => t.id);
    if (unknown.length > 0) {
      throw new FileError(`${SCOPE}: ${MODEL_FILES.graph} does not match ${MODEL_FILES.plan} in ${root}: the plan's task(s) ${unknown.slice(0, 3).map((t) => JSON.stringify(t)).join(', ')} are not in the graph. The files come from different models: save the model again.`, { path: graphFile, got: unknown });
    }
    graph = data as SerializedTaskGraph;
  }
  const weightData = await readWeights(root, json, modelFile);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData,
      format: json.format ?? 'layers-model',
      ...(json.generatedBy !== undefined ? { generatedBy: json.generatedBy } : {}),
      ...(json.convertedBy != null ? { convertedBy: json.convertedBy } : {}),
      ...(json.trainingConfig ? { trainingConfig: json.trainingConfig } : {}),
      ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
    }));
  } catch (cause) {
    throw new FileError(`${SCOPE}: tfjs cannot rebuild the model from ${modelFile} (${(cause as Error).message.split('\n')[0]}). The file is damaged or was written by another program: save the model again.`, { path: modelFile, cause });
  }
  try {
    const names = checkAgainstPlan(model, plan, root);
    return assemble(model, plan, names, { ...(graph ? { graph } : {}), metadata });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

function readMetadata(value: unknown, file: string): Record<string, unknown> {
  if (!isPlainObject(value) || value.format !== MODEL_FORMAT) {
    throw new FileError(`${SCOPE}: ${file} is not mtgraph model metadata (got format ${show(isPlainObject(value) ? value.format : value)}; expected ${JSON.stringify(MODEL_FORMAT)}). Save the model again with saveModel.`, { path: file });
  }
  if (value.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new FileError(`${SCOPE}: unknown model format version in ${file} (got ${show(value.formatVersion)}; expected ${MODEL_FORMAT_VERSION}). Load it with the mtgraph version that saved it, or save it again.`, { path: file, got: value.formatVersion });
  }
  const inner = value.metadata ?? {};
  if (!isPlainObject(inner)) throw new FileError(`${SCOPE}: the metadata in ${file} must be an object (got ${show(inner)}).`, { path: file });
  const unsafe = findUnsafeKey(inner, 'metadata');
  if (unsafe) throw new FileError(`${SCOPE}: the key ${JSON.stringify(unsafe.key)} is not allowed → at ${unsafe.path} in ${file}. The file was tampered with.`, { path: file, got: unsafe.key });
  return inner;
}
