import * as tf from '@tensorflow/tfjs';
import { plan as planOf } from '../plan/index.js';
import { build } from '../network/build.js';
import { fit } from '../train/fit.js';
import type { FitOptions } from '../train/options.js';
import { predict, toArrays, type PredictOptions, type PredictedArrays } from '../train/predict.js';
import { checkModel } from '../train/model-check.js';
import { scorePredictions, type Evaluation } from '../train/evaluate.js';
import { prepareData } from '../data/prepare.js';
import { OptionsError, show } from '../errors.js';
import type { MtgraphModel } from '../network/types.js';
import type { FeatureInput, TaskData } from '../data/types.js';
import type { TuneEnsemble } from './types.js';

const FIT_SCOPE = 'mtgraph/fitEnsemble';
const PREDICT_SCOPE = 'mtgraph/predictEnsemble';
const EVALUATE_SCOPE = 'mtgraph/evaluateEnsemble';

/** Trained members of an ensemble and their weights; `predictEnsemble` averages their outputs. */
export interface MtgraphEnsemble {
  members: Array<{ model: MtgraphModel; weight: number }>;
  /** Frees every member's model. */
  dispose(): void;
}

/** Options of `fitEnsemble`. */
export interface FitEnsembleOptions {
  /** Fit options added to every member's own (e.g. sampleWeight, onEpochEnd); a member's epochs, seed and settings win. */
  fitOptions?: Omit<FitOptions, 'epochs' | 'seed'>;
  /**
   * Trainings per member (default 1): each member is trained this many times, with its seed plus
   * 0, 1, ..., for its initialisation and shuffling, and each copy weighs its member's weight
   * divided by `seeds` (seed bagging: the mean of several runs of a network varies less than one).
   */
  seeds?: number;
  /** Called after each training (index from 0, and the count: members × seeds). */
  onMember?: (index: number, members: number) => void | Promise<void>;
}

/**
 * Trains the members of a tuned ensemble (`tune(…, { ensemble: 10 }).ensemble`) on `data` —
 * typically the training and validation rows together, as for `best` — each with its plan and fit
 * options (its trial's best epoch count, no early stopping). If a member fails, the ones already
 * trained are freed and the error is thrown.
 */
export async function fitEnsemble(
  graph: unknown,
  data: TaskData,
  ensemble: TuneEnsemble,
  options: FitEnsembleOptions = {},
): Promise<MtgraphEnsemble> {
  checkEnsemble(ensemble);
  const seeds = options.seeds ?? 1;
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 100)
    throw new OptionsError(
      `${FIT_SCOPE}: options.seeds must be a whole number from 1 to 100 (got ${show(options.seeds)}) → at options.seeds. Use e.g. seeds: 3.`,
      { path: 'options.seeds', got: options.seeds },
    );
  const members: MtgraphEnsemble['members'] = [];
  const dispose = () => {
    for (const m of members) m.model.dispose();
    members.length = 0;
  };
  try {
    const count = ensemble.members.length * seeds;
    for (const member of ensemble.members) {
      for (let k = 0; k < seeds; k++) {
        const shift = (o: Record<string, unknown>) =>
          k === 0 ? o : { ...o, seed: ((o.seed as number | undefined) ?? 0) + k };
        const model = build(planOf(graph, shift(member.planOptions)), {
          graph: graph as { export(): unknown },
        });
        members.push({ model, weight: member.weight / seeds });
        await fit(model, data, {
          ...options.fitOptions,
          ...shift(member.fitOptions),
        } as FitOptions);
        await options.onMember?.(members.length - 1, count);
      }
    }
  } catch (error) {
    dispose();
    throw error;
  }
  return { members, dispose };
}

/** The members' weighted mean, per task: the caller disposes the tensors (or asks for arrays). */
export function predictEnsemble(
  ensemble: MtgraphEnsemble,
  x: FeatureInput,
  options: PredictOptions & { as: 'arrays' },
): Record<string, PredictedArrays>;
export function predictEnsemble(
  ensemble: MtgraphEnsemble,
  x: FeatureInput,
  options?: PredictOptions & { as?: 'tensors' },
): Record<string, tf.Tensor2D>;
export function predictEnsemble(
  ensemble: MtgraphEnsemble,
  x: FeatureInput,
  options: PredictOptions = {},
): Record<string, tf.Tensor2D> | Record<string, PredictedArrays> {
  const members = ensemble?.members;
  if (!Array.isArray(members) || members.length === 0) {
    throw new OptionsError(
      `${PREDICT_SCOPE}: the ensemble has no members (got ${show(members)}) → at ensemble.members. Pass what fitEnsemble returned.`,
      { path: 'ensemble.members', got: members },
    );
  }
  members.forEach((m) => checkModel(m.model, PREDICT_SCOPE));
  const tasks = members[0]!.model.plan.tasks;
  if (options.as === 'arrays') {
    const tensors = predictEnsemble(ensemble, x, { ...options, as: 'tensors' });
    try {
      return Object.fromEntries(tasks.map((t) => [t.id, toArrays(t, tensors[t.id]!.dataSync())]));
    } finally {
      tf.dispose(Object.values(tensors));
    }
  }
  let sum: Record<string, tf.Tensor2D> | undefined;
  for (const { model, weight } of members) {
    const out = predict(model, x, { ...options, as: 'tensors' });
    const next = tf.tidy(() =>
      Object.fromEntries(
        tasks.map((t) => {
          const part = tf.mul(out[t.id]!, weight);
          return [t.id, (sum ? tf.add(sum[t.id]!, part) : part) as tf.Tensor2D];
        }),
      ),
    );
    tf.dispose(Object.values(out));
    if (sum) tf.dispose(Object.values(sum));
    sum = next;
  }
  return sum!;
}

/**
 * Scores an ensemble on data as `evaluate` scores a model: each task's loss and metrics on its
 * labelled rows, from the members' weighted mean.
 */
export function evaluateEnsemble(ensemble: MtgraphEnsemble, data: TaskData): Evaluation {
  const first = ensemble?.members?.[0]?.model;
  if (!first)
    throw new OptionsError(
      `${EVALUATE_SCOPE}: the ensemble has no members (got ${show(ensemble?.members)}) → at ensemble.members. Pass what fitEnsemble or loadEnsemble returned.`,
      { path: 'ensemble.members', got: ensemble?.members },
    );
  const prepared = prepareData(first.plan, data, { scope: EVALUATE_SCOPE });
  const mean = predictEnsemble(ensemble, data.x);
  try {
    return scorePredictions(
      first.plan,
      prepared,
      first.plan.tasks.map((t) => mean[t.id]!.dataSync() as Float32Array),
    );
  } finally {
    tf.dispose(Object.values(mean));
  }
}

/** A tuned ensemble's shape: members with plan and fit options and positive weights summing to 1. */
function checkEnsemble(ensemble: TuneEnsemble): void {
  const members = ensemble?.members;
  if (!Array.isArray(members) || members.length === 0) {
    throw new OptionsError(
      `${FIT_SCOPE}: the ensemble has no members (got ${show(members)}) → at ensemble.members. Pass tune's result.ensemble (tune with options.ensemble, e.g. 10).`,
      { path: 'ensemble.members', got: members },
    );
  }
  let total = 0;
  members.forEach((m, i) => {
    if (!(typeof m?.weight === 'number' && m.weight > 0 && Number.isFinite(m.weight))) {
      throw new OptionsError(
        `${FIT_SCOPE}: a member's weight must be a positive number (got ${show(m?.weight)}) → at ensemble.members[${i}].weight. Pass tune's result.ensemble unchanged.`,
        { path: `ensemble.members[${i}].weight`, got: m?.weight },
      );
    }
    if (typeof m.planOptions !== 'object' || typeof m.fitOptions !== 'object') {
      throw new OptionsError(
        `${FIT_SCOPE}: a member needs planOptions and fitOptions objects → at ensemble.members[${i}]. Pass tune's result.ensemble unchanged.`,
        { path: `ensemble.members[${i}]` },
      );
    }
    total += m.weight;
  });
  if (Math.abs(total - 1) > 1e-6) {
    throw new OptionsError(
      `${FIT_SCOPE}: the members' weights must sum to 1 (got ${total}) → at ensemble.members. Pass tune's result.ensemble unchanged, or divide each weight by their sum.`,
      { path: 'ensemble.members', got: total },
    );
  }
}
