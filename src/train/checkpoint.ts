import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { MtgraphModel } from '../network/types.js';
import type { PreparedData } from '../data/types.js';
import { FileError, MtgraphError, OptionsError, show } from '../errors.js';
import {
  checkOutputs,
  MAX_WEIGHT_BYTES,
  MODEL_FILES,
  MODEL_FOLDER,
  type FolderKind,
  modelFolderFiles,
  readFileLimited,
  readJsonFile,
  readModelFolder,
  recoverInterruptedSave,
  sha256,
  writeFolderAtomic,
} from '../io/index.js';
import { isPlainObject } from '../schema/common.js';
import { described } from '../io/files.js';
import type { Balancer } from './balance/index.js';
import type { History } from './history.js';
import { captureOptimizer, restoreOptimizer } from './optimizer-state.js';
import type { ResolvedFitOptions } from './options.js';
import type { PlateauState } from './plateau.js';

const SCOPE = 'mtgraph/fit';

/** The files a checkpoint adds to a saved model folder. */
export const CHECKPOINT_FILES = Object.freeze({
  /** Epoch, history, balancer state, early-stopping state, the options and data it was made with. */
  state: 'checkpoint.json',
  /** The optimizer's slot variables (and the best weights under early stopping), tfjs weight encoding. */
  tensors: 'optimizer.bin',
});
export const CHECKPOINT_FORMAT = 'mtgraph-checkpoint';

/** A checkpoint folder as an output: a model folder (its metadata.json lists the checkpoint's files too). */
export const CHECKPOINT_FOLDER: FolderKind = Object.freeze({ ...MODEL_FOLDER, what: 'checkpoint' });

/**
 * Refuses, before training starts, a checkpoint folder that a save could not write or must not
 * replace (a file, a read-only place, a folder holding files mtgraph did not write).
 */
export async function checkCheckpointDir(dir: string): Promise<void> {
  await checkOutputs([
    { type: 'folder', path: dir, kind: CHECKPOINT_FOLDER, flag: 'options.checkpoint.dir' },
  ]);
}
export const CHECKPOINT_VERSION = 1;

/** What must be the same for a run to resume from a checkpoint: the options that shape training, and the data. */
export interface RunFingerprint {
  seed: number;
  batchSize: number;
  optimizer: { name: string; learningRate: number };
  balance: string;
  balanceOptions: Record<string, unknown>;
  reduceLrOnPlateau: unknown;
  validation: string;
  trainRows: number;
  valRows: number;
  /** SHA-256 of the training and validation features, labels and masks. */
  data: string;
}

/** Early stopping's record between epochs. */
export interface StoppingState {
  bestValue: number;
  bestEpoch: number;
  wait: number;
}

/** Everything a training run needs to continue after `epoch` epochs. */
export interface RunState {
  /** Epochs completed. */
  epoch: number;
  history: History;
  stopping: StoppingState;
  /** The best weights so far under early stopping with restoreBestWeights (modelVariables order). */
  best: tf.Tensor[] | undefined;
  /** Reduce-on-plateau's record, when the run uses it. */
  plateau?: PlateauState;
}

/** The fingerprint of a run: its resolved options and a hash of its prepared data. */
export function fingerprint(
  opts: ResolvedFitOptions,
  train: PreparedData,
  val: PreparedData | undefined,
): RunFingerprint {
  const hash = createHash('sha256');
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const data of [train, val]) {
    if (!data) continue;
    hash.update(`${data.rows}x${data.features};`).update(bytes(data.x));
    for (const t of data.tasks)
      hash
        .update(`${t.id}:${t.width}:${t.excluded};`)
        .update(bytes(t.labels))
        .update(bytes(t.mask));
  }
  return {
    seed: opts.seed,
    batchSize: opts.batchSize,
    optimizer: opts.optimizer,
    balance: opts.balance,
    balanceOptions: opts.balanceOptions,
    reduceLrOnPlateau: opts.reduceLrOnPlateau ?? null,
    validation:
      opts.validationData !== undefined
        ? 'validationData'
        : opts.validationSplit
          ? JSON.stringify(opts.validationSplit)
          : 'none',
    trainRows: train.rows,
    valRows: val?.rows ?? 0,
    data: hash.digest('hex'),
  };
}

/** Options of fit that the fingerprint fields come from, for error paths. */
const FIELD_PATHS: Record<keyof RunFingerprint, string> = {
  seed: 'options.seed',
  batchSize: 'options.batchSize',
  optimizer: 'options.optimizer',
  balance: 'options.balance',
  balanceOptions: 'options.balanceOptions',
  reduceLrOnPlateau: 'options.reduceLrOnPlateau',
  validation: 'options.validationSplit',
  trainRows: 'data',
  valRows: 'options.validationData',
  data: 'data',
};

/** JSON with NaN and infinities kept (as the strings "NaN", "Infinity", "-Infinity"). */
function encodeNumbers(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v),
    2,
  );
}

function decodeNumbers(value: unknown): unknown {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (Array.isArray(value)) return value.map(decodeNumbers);
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeNumbers(v)]));
  return value;
}

/** Keys sorted at every level: equal plans give equal text whatever order their keys were written in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

/**
 * Writes a checkpoint folder: the model as saveModel writes it (so `loadModel(dir)` opens it),
 * plus `checkpoint.json` and `optimizer.bin`. The whole folder is replaced atomically.
 */
export async function saveCheckpoint(
  dir: string,
  parts: {
    model: MtgraphModel;
    optimizer: tf.Optimizer;
    balancer: Balancer;
    variables: readonly tf.Variable[];
    state: RunState;
    epochs: number;
    fingerprint: RunFingerprint;
    epochsTrainedBefore: number;
  },
): Promise<void> {
  const { model, optimizer, balancer, state } = parts;
  const files = await modelFolderFiles(model, {
    also: [CHECKPOINT_FILES.tensors, CHECKPOINT_FILES.state],
  });
  const snap = await captureOptimizer(optimizer);
  let tensors: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] };
  try {
    const named = [
      ...snap.weights.map((w, i) => ({ name: `optimizer/${i}`, tensor: w.tensor })),
      ...(state.best ?? []).map((tensor, i) => ({ name: `best/${i}`, tensor })),
    ];
    tensors = await tf.io.encodeWeights(named);
  } finally {
    snap.dispose();
  }
  const data = new Uint8Array(tf.io.CompositeArrayBuffer.join(tensors.data));
  const balancerState = balancer.getState ? await balancer.getState() : null;
  const record = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    savedAt: new Date().toISOString(),
    epoch: state.epoch,
    epochs: parts.epochs,
    epochsTrainedBefore: parts.epochsTrainedBefore,
    fingerprint: parts.fingerprint,
    history: state.history,
    stopping: state.stopping,
    ...(state.plateau ? { plateau: state.plateau } : {}),
    balancer: balancerState,
    optimizer: { weights: snap.weights.length, scalars: snap.scalars },
    best: state.best?.length ?? 0,
    tensors: { specs: tensors.specs, sha256: sha256(data) },
  };
  files.push(
    [CHECKPOINT_FILES.tensors, data],
    [CHECKPOINT_FILES.state, `${encodeNumbers(record)}\n`],
  );
  await writeFolderAtomic(dir, files, CHECKPOINT_FOLDER);
}

/** A checkpoint read back and applied to a model, optimizer and balancer. */
export interface Resumed {
  state: RunState;
  epochsTrainedBefore: number;
}

function fail(file: string, what: string): FileError {
  return new FileError(
    `${SCOPE}: ${file} is not a checkpoint mtgraph can resume from: ${what}. Resume from a folder fit wrote with options.checkpoint, or start again without resumeFrom.`,
    { path: file },
  );
}

/**
 * Reads the checkpoint in `dir` (recovering an interrupted write first), checks it against the
 * model's plan and the run's options and data, and restores into them: the optimizer's state, the
 * balancer's state and, last, the model's weights. Returns the history and early-stopping state to
 * go on with. The model is left untouched when anything fails.
 */
export async function resumeCheckpoint(
  dir: string,
  parts: {
    model: MtgraphModel;
    optimizer: tf.Optimizer;
    balancer: Balancer;
    variables: readonly tf.Variable[];
    fingerprint: RunFingerprint;
  },
): Promise<Resumed> {
  const root = await recoverInterruptedSave(path.resolve(dir));
  const file = path.join(root, CHECKPOINT_FILES.state);
  const raw = await readJsonFile(file, 'checkpoint file');
  if (!isPlainObject(raw) || raw.format !== CHECKPOINT_FORMAT)
    throw fail(
      file,
      `its format is ${described(isPlainObject(raw) ? raw.format : raw)}, expected ${JSON.stringify(CHECKPOINT_FORMAT)}`,
    );
  if (raw.version !== CHECKPOINT_VERSION) {
    throw new FileError(
      `${SCOPE}: unknown checkpoint version in ${file} (got ${described(raw.version)}; expected ${CHECKPOINT_VERSION}). Resume with the mtgraph version that wrote it, or start again without resumeFrom.`,
      { path: file, got: raw.version },
    );
  }
  const record = decodeNumbers(raw) as Record<string, unknown>;
  const epoch = record.epoch;
  if (!Number.isInteger(epoch) || (epoch as number) < 1)
    throw fail(file, `epoch is ${show(epoch)}`);
  const history = record.history as History;
  if (
    !isPlainObject(history) ||
    history.epochs !== epoch ||
    !Array.isArray(history.loss) ||
    history.loss.length !== epoch ||
    !isPlainObject(history.taskLoss) ||
    !isPlainObject(history.timing)
  ) {
    throw fail(file, `its history does not hold ${show(epoch)} epochs`);
  }
  const stopping = record.stopping as StoppingState;
  if (
    !isPlainObject(stopping) ||
    typeof stopping.bestValue !== 'number' ||
    !Number.isInteger(stopping.bestEpoch) ||
    !Number.isInteger(stopping.wait)
  )
    throw fail(file, 'stopping is malformed');
  const before = record.epochsTrainedBefore;
  if (typeof before !== 'number' || !(before >= 0))
    throw fail(file, 'epochsTrainedBefore is malformed');

  // The run must be the same run: same options, same data.
  const saved = record.fingerprint;
  if (!isPlainObject(saved)) throw fail(file, 'it has no fingerprint');
  for (const key of Object.keys(parts.fingerprint) as (keyof RunFingerprint)[]) {
    // A field the checkpoint predates (undefined) reads as null, its value when unused.
    if (canonical(saved[key] ?? null) === canonical(parts.fingerprint[key] ?? null)) continue;
    const at = FIELD_PATHS[key];
    const what =
      key === 'data'
        ? 'the training data differ from the data the checkpoint was made with (their SHA-256 differs)'
        : `${key} was ${canonical(saved[key])} when the checkpoint was made (got ${canonical(parts.fingerprint[key])})`;
    throw new OptionsError(
      `${SCOPE}: cannot resume from ${root}: ${what} → at ${at}. Resume with the options and data of the interrupted run, or start again without resumeFrom.`,
      { path: at, got: parts.fingerprint[key] },
    );
  }

  const folder = await readModelFolder(root);
  if (canonical(folder.plan) !== canonical(parts.model.plan)) {
    throw new OptionsError(
      `${SCOPE}: cannot resume from ${root}: the checkpoint is of another model (its ${MODEL_FILES.plan} differs from model.plan) → at model. Build the model from the same graph and options (or loadModel(${JSON.stringify(root)})).`,
      { path: 'model' },
    );
  }
  const tensorFile = path.join(root, CHECKPOINT_FILES.tensors);
  const spec = record.tensors;
  const optimizer = record.optimizer;
  const best = record.best;
  if (!isPlainObject(spec) || !Array.isArray(spec.specs) || typeof spec.sha256 !== 'string')
    throw fail(file, 'tensors is malformed');
  if (
    !isPlainObject(optimizer) ||
    !Number.isInteger(optimizer.weights) ||
    !isPlainObject(optimizer.scalars)
  )
    throw fail(file, 'optimizer is malformed');
  if (!Number.isInteger(best)) throw fail(file, 'best is malformed');
  const bytes = await readFileLimited(tensorFile, 'optimizer state file', MAX_WEIGHT_BYTES);
  if (sha256(bytes) !== spec.sha256) {
    throw new FileError(
      `${SCOPE}: ${tensorFile} does not match ${CHECKPOINT_FILES.state} (its SHA-256 differs). The checkpoint is damaged or mixes two saves: start again without resumeFrom.`,
      { path: tensorFile },
    );
  }
  folder.verifyChecksums();

  // Every check passed: decode and apply.
  const specs = spec.specs as tf.io.WeightsManifestEntry[];
  const made: tf.Tensor[] = [];
  let keptBest: tf.Tensor[] | undefined;
  try {
    let modelWeights: tf.NamedTensorMap;
    let stateTensors: tf.NamedTensorMap;
    try {
      modelWeights = tf.io.decodeWeights(folder.weightData, folder.weightSpecs);
      made.push(...Object.values(modelWeights));
      stateTensors = tf.io.decodeWeights(new Uint8Array(bytes).buffer, specs);
      made.push(...Object.values(stateTensors));
    } catch (cause) {
      throw new FileError(
        `${SCOPE}: cannot decode the tensors of the checkpoint in ${root} (${(cause as Error).message}). Start again without resumeFrom.`,
        { path: root, cause },
      );
    }
    const list = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, i) => {
        const t = stateTensors[`${prefix}/${i}`];
        if (!t) throw fail(file, `${prefix}/${i} is missing from ${CHECKPOINT_FILES.tensors}`);
        return t;
      });
    const optimizerValues = list('optimizer', optimizer.weights as number);
    const bestValues = list('best', best as number);
    if (bestValues.some((t, i) => !tf.util.arraysEqual(t.shape, parts.variables[i]?.shape ?? [])))
      throw fail(file, 'the best weights do not fit the model');
    try {
      // The run's own optimizer and balancer first (fit disposes them if this fails), the user's model last
      // (loadWeights checks every name and shape before it assigns anything).
      await restoreOptimizer(
        parts.optimizer,
        optimizerValues,
        optimizer.scalars as Record<string, number>,
      );
      if (record.balancer !== null && record.balancer !== undefined) {
        if (!parts.balancer.setState) throw new Error('the balancer cannot restore a state');
        await parts.balancer.setState(record.balancer);
      }
      parts.model.model.loadWeights(modelWeights, true);
    } catch (cause) {
      if (cause instanceof MtgraphError) throw cause;
      throw new FileError(
        `${SCOPE}: cannot restore the checkpoint in ${root} into this run (${(cause as Error).message}). Start again without resumeFrom.`,
        { path: root, cause },
      );
    }
    keptBest = bestValues.length > 0 ? bestValues.map((t) => tf.keep(tf.clone(t))) : undefined;
  } finally {
    tf.dispose(made);
  }
  const plateau = record.plateau as PlateauState | undefined;
  return {
    state: {
      epoch: epoch as number,
      history,
      stopping,
      best: keptBest,
      ...(isPlainObject(plateau) ? { plateau } : {}),
    },
    epochsTrainedBefore: before,
  };
}
