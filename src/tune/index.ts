import * as tf from '@tensorflow/tfjs';
import { readGraph } from '../schema/validate.js';
import { plan as planOf } from '../plan/index.js';
import { build } from '../network/build.js';
import { fit } from '../train/fit.js';
import { evaluateWithPredictions } from '../train/evaluate.js';
import { prepareData, selectRows } from '../data/prepare.js';
import { holdOutPerTask, toTaskData } from '../data/holdout.js';
import { seededRandom } from '../graph/random.js';
import { DataError, MtgraphError, TrainingError } from '../errors.js';
import { cpuSeconds } from '../platform/index.js';
import type { PreparedData, TaskData } from '../data/types.js';
import type { Plan } from '../plan/types.js';
import type { MtgraphModel } from '../network/types.js';
import type { EpochLogs } from '../train/history.js';
import './spaces/index.js';
import { getSearchSpace, type Candidate, type SearchContext } from './space.js';
import { resolveTuneOptions, SCOPE, type TuneOptions } from './options.js';
import {
  compareMetric,
  meanScore,
  orderByObjective,
  taskScores,
  withCompareMetrics,
} from './scoring.js';
import type { TuneBest, TuneEnsemble, TuneProgress, TuneResult, TuneTrial } from './types.js';
import { ENSEMBLE_POOL, LabelledRows, selectEnsemble, type PooledTrial } from './ensemble.js';

export { TUNE_DEFAULTS } from './defaults.js';
export {
  registerSearchSpace,
  getSearchSpace,
  searchSpaceNames,
  pick,
  logUniform,
  sampleLayers,
  sampleTraining,
  type SearchSpace,
  type SearchContext,
  type Candidate,
  type Prepared,
} from './space.js';
export {
  SOFT_STRENGTH_RANGE,
  SOFT_RUNG_SCALE,
  SOFT_LEARNING_RATE_RANGE,
  LEARNED_AFFINITY,
} from './spaces/index.js';
export { resolveTuneOptions, type TuneOptions, type ResolvedTuneOptions } from './options.js';
export {
  ranks,
  meanRanks,
  compareMetric,
  type TuneObjective,
  type TrialScores,
} from './scoring.js';
export type {
  TuneBest,
  TuneEnsemble,
  TuneEnsembleMember,
  TuneProgress,
  TuneResult,
  TuneTrial,
} from './types.js';
export { ENSEMBLE_POOL } from './ensemble.js';
export {
  fitEnsemble,
  predictEnsemble,
  evaluateEnsemble,
  type MtgraphEnsemble,
  type FitEnsembleOptions,
} from './fit-ensemble.js';
export { tuningSummary, trialSettings } from './summary.js';

/**
 * Runs paused at the end of a rung, held in memory (model, optimizer state, the run's data tensors)
 * until promoted; above this many, the worst of the lowest rung is given up.
 */
export const PAUSED_RUNS_MAX = 16;

/** Thrown inside a trial's epoch callback to end the run (early stopping, or the time budget). */
const STOP = Symbol('tune: stop');

/** A batch size when none is given: about 50 steps per epoch, a power of two in [32, 1024]. */
export function defaultBatchSize(rows: number): number {
  const b = 2 ** Math.round(Math.log2(Math.max(1, rows / 50)));
  return Math.min(1024, Math.max(32, b));
}

/**
 * The epochs of each successive-halving rung: minEpochs * scale * eta^k (scale: a search space's
 * `rungScale`, default 1), the last one maxEpochs.
 */
export function rungEpochs(
  schedule: { minEpochs: number; eta: number; maxEpochs: number },
  scale = 1,
) {
  const out: number[] = [];
  for (let e = Math.max(1, Math.round(schedule.minEpochs * scale)); ; e *= schedule.eta) {
    out.push(Math.min(e, schedule.maxEpochs));
    if (e >= schedule.maxEpochs) return out;
  }
}

/** A seed for candidate i drawn from the search seed (so that each candidate is the same whatever ran before it). */
const candidateSeed = (seed: number, i: number) =>
  (Math.imul(seed ^ 0x7e5e, 0x9e3779b1) + i * 0x85ebca6b) | 0;

/**
 * Searches sharing strategies and their settings on validation data. Each trial trains one
 * candidate (a point of a registered search space: strategy, widths, dropout, L2, learning rate,
 * balancing, soft's strength...) on the training rows, with early stopping on the validation
 * rows, and scores it there by each task's compareBy metric, combined by the objective (default:
 * the mean rank over the trials). Successive halving (ASHA): every candidate first trains for
 * `schedule.minEpochs` epochs (times its space's `rungScale`: soft starts longer); whenever a rung
 * holds eta scored runs more, the best one not yet continued trains on to eta times as many
 * epochs. A continued run resumes where it paused (its weights, optimizer state and shuffling: the
 * same run as one uninterrupted); a run that stopped early is over and not continued. New
 * candidates cycle through the spaces in a seeded order. The search stops at the budget (trials,
 * wall seconds or this process's CPU seconds; a run going at the deadline is cut after its epoch
 * and scored at its best epoch). Deterministic for a seed and a trial budget.
 *
 * The validation rows are a per-task hold-out of `data` (`validationSplit` of each task's
 * labelled rows, seeded) or `validationData`; no trial ever trains on them. The best candidate's
 * `planOptions` and `fitOptions` train it again: `fitOptions.epochs` is its best epoch count,
 * without early stopping, as for a final run on train + validation.
 */
export async function tune(
  graph: unknown,
  data: TaskData,
  options: TuneOptions = {},
): Promise<TuneResult> {
  const started = performance.now();
  const cpuStarted = cpuSeconds();
  const spec = readGraph(graph);
  const o = resolveTuneOptions(options, spec);
  const elapsed = () => (performance.now() - started) / 1000;
  const cpuElapsed = () => (cpuStarted === undefined ? Number.NaN : cpuSeconds()! - cpuStarted);
  /** The time budget that has run out (wall or CPU seconds), if any. */
  const overBudget = (): 'seconds' | 'cpuSeconds' | undefined =>
    elapsed() >= o.budget.seconds
      ? 'seconds'
      : cpuElapsed() >= o.budget.cpuSeconds
        ? 'cpuSeconds'
        : undefined;
  // The data is validated once against the tasks (any strategy has the same tasks).
  const basePlan = planOf(graph, { ...o.planOptions, strategy: 'hard', seed: o.seed });
  const all = prepareData(basePlan, data, { scope: SCOPE });
  let train: TaskData;
  let valid: TaskData;
  let rows: { train: number; valid: number };
  /** Tasks with labelled validation rows: the others (e.g. a label-less centre task) have no validation loss. */
  let validated: Set<string>;
  /** The validation rows, validated against the base plan (ensemble selection scores on them). */
  let validPrepared: PreparedData;
  const notes: string[] = [];
  if (o.validationData !== undefined) {
    const v = prepareData(basePlan, o.validationData, {
      scope: SCOPE,
      prefix: 'options.validationData',
    });
    train = toTaskData(all);
    valid = toTaskData(v);
    validPrepared = v;
    rows = { train: all.rows, valid: v.rows };
    validated = labelledTasks(v);
  } else {
    const split = holdOutPerTask(all, o.validationSplit, o.seed);
    if (split.valid.length === 0) {
      throw new DataError(
        `${SCOPE}: no row could be held out for validation (got ${all.rows} row(s); every task needs 2 labelled rows or more) → at data. Give more rows, or options.validationData.`,
        { path: 'data' },
      );
    }
    train = toTaskData(selectRows(all, split.train));
    const v = selectRows(all, split.valid);
    valid = toTaskData(v);
    validPrepared = v;
    validated = labelledTasks(v);
    rows = { train: split.train.length, valid: split.valid.length };
    notes.push(
      `validation: ${rows.valid} of ${all.rows} rows held out (${Math.round(o.validationSplit * 100)} % of each task's labelled rows, seed ${o.seed}).`,
    );
  }
  const taskIds = basePlan.tasks.map((t) => t.id);
  const kinds = basePlan.tasks.map((t) => ({ id: t.id, kind: t.kind }));
  const batchSize = (o.fitOptions.batchSize as number | undefined) ?? defaultBatchSize(rows.train);
  const rungs = rungEpochs(o.schedule);
  /** A candidate's rungs: its space's rungScale stretches the first one (slow starters such as soft). */
  const rungsOf = (space: string) => rungEpochs(o.schedule, getSearchSpace(space)!.rungScale ?? 1);
  const ctx: SearchContext = { graph, spec, train, seed: o.seed };
  const order = [...o.strategies];
  {
    const r = seededRandom(o.seed ^ 0x5ace);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
  }
  const states = new Map<string, { state: unknown } | null>();
  const candidates: Array<{ space: string; candidate: Candidate }> = [];
  const trials: TuneTrial[] = [];
  const doneAt: number[][] = rungs.map(() => []);
  const promoted: Set<number>[] = rungs.map(() => new Set());
  /**
   * Paused runs by candidate: a run that reached the end of its rung waits, weights, optimizer
   * and all, until it is promoted (it then continues as one uninterrupted run would) or given up.
   * A run that stopped early (the validation loss stopped falling) or reached its last rung is
   * over, and its candidate is not promoted: its score stands.
   */
  const live = new Map<number, TrialRun>();
  /** Starts a candidate's run: one fit call for all its rungs, paused at the end of each. */
  const startRun = (p: Plan, fitOptions: Record<string, unknown>, lastEpochs: number) =>
    new TrialRun(
      build(p, { graph: graph as { export(): unknown } }),
      lastEpochs,
      (model, onEpochEnd) =>
        fit(model, train, {
          ...fitOptions,
          epochs: lastEpochs,
          validationData: valid,
          metrics: false,
          onEpochEnd,
        }),
      (logs) => {
        let loss = 0;
        for (const [id, value] of Object.entries(logs.valTaskLoss ?? {}))
          if (validated.has(id)) loss += value;
        return loss;
      },
      o.patience,
      overBudget,
      (model) => evaluateWithPredictions(model, valid),
    );
  /** Each scored trial's validation predictions on labelled rows (only with options.ensemble). */
  const predictionsOf = new Map<number, Float32Array[]>();
  const labelled =
    o.ensemble > 0 ? new LabelledRows(withCompareMetrics(basePlan), validPrepared) : undefined;
  let stopped: TuneResult['stopped'] = 'trials';

  /** Trials that can be chosen: finished runs, and a run cut by the deadline after at least one epoch. */
  const scored = () => trials.filter((t) => t.status !== 'failed' && t.bestEpochs > 0);
  const ordered = (list: TuneTrial[]) =>
    orderByObjective(
      list.map((t) => ({ tasks: t.scores, value: t.value })),
      o.objective,
      taskIds,
    );
  const bestSoFar = () => {
    const list = scored();
    if (list.length === 0) return undefined;
    const r = ordered(list);
    if (o.objective === 'mean-rank') list.forEach((t, i) => (t.value = r.values[i]!));
    return list[r.order[0]!];
  };

  /** The next run: the best unpromoted candidate of the highest rung that has eta more scored runs, else a new candidate. */
  const nextJob = async (): Promise<{ candidate: number; rung: number } | undefined> => {
    for (let k = rungs.length - 2; k >= 0; k--) {
      const done = doneAt[k]!.map((i) => trials[i]!);
      const n = Math.floor(done.length / o.schedule.eta);
      if (n === 0) continue;
      const top = ordered(done).order.slice(0, n);
      const next = top
        .map((i) => done[i]!.candidate)
        .find(
          (c) =>
            !promoted[k]!.has(c) && live.has(c) && rungsOf(candidates[c]!.space).length > k + 1,
        );
      if (next !== undefined) {
        promoted[k]!.add(next);
        return { candidate: next, rung: k + 1 };
      }
    }
    // A new candidate from the next space (in the seeded order) that could be prepared.
    for (let tries = 0; tries < order.length; tries++) {
      const name = order[candidates.length % order.length]!;
      const space = getSearchSpace(name)!;
      if (!states.has(name)) {
        if (space.prepare) {
          try {
            const p = await space.prepare(ctx);
            states.set(name, { state: p.state });
            notes.push(...p.notes);
          } catch (error) {
            if (!(error instanceof MtgraphError)) throw error;
            states.set(name, null);
            notes.push(`${name}: left out (${error.message})`);
          }
        } else states.set(name, { state: undefined });
      }
      const st = states.get(name);
      if (!st) {
        order.splice(order.indexOf(name), 1);
        if (order.length === 0) return undefined;
        tries = -1;
        continue;
      }
      const i = candidates.length;
      const candidate = space.sample(seededRandom(candidateSeed(o.seed, i)), ctx, st.state);
      candidates.push({ space: name, candidate });
      return { candidate: i, rung: 0 };
    }
    return undefined;
  };

  try {
    await searchLoop();
  } finally {
    for (const run of live.values()) await run.stop();
    live.clear();
  }
  async function searchLoop() {
    while (trials.length < o.budget.trials) {
      const over = overBudget();
      if (over) {
        stopped = over;
        break;
      }
      const job = await nextJob();
      if (!job) break;
      const late = overBudget();
      if (late) {
        stopped = late;
        break;
      }
      const { space, candidate } = candidates[job.candidate]!;
      const maxEpochs = rungsOf(space)[job.rung]!;
      const planOptions = mergeOptions(o.planOptions, candidate.planOptions, { seed: o.seed });
      const fitOptions = mergeOptions({ batchSize }, o.fitOptions, candidate.fitOptions, {
        seed: o.seed,
      });
      // A mistake in the base options (or a space) is the user's or a bug: it stops the search.
      const p: Plan = withCompareMetrics(planOf(graph, planOptions));
      const t0 = performance.now();
      const trial: TuneTrial = {
        id: trials.length,
        candidate: job.candidate,
        rung: job.rung,
        space,
        strategy: p.strategy,
        planOptions,
        fitOptions,
        maxEpochs,
        epochs: 0,
        bestEpochs: 0,
        params: p.params.total,
        seconds: 0,
        status: 'done',
        scores: Object.fromEntries(taskIds.map((id) => [id, Number.NaN])),
        value: Number.NaN,
      };
      // A promoted candidate continues its paused run; a new one starts a run to its last rung.
      let run = live.get(job.candidate);
      if (run) live.delete(job.candidate);
      else run = startRun(p, fitOptions, rungsOf(space).at(-1)!);
      try {
        // Runs to this rung's epochs (then pauses), stops early, is cut by the budget, or fails.
        await run.advance(maxEpochs);
        trial.epochs = run.epochs;
        trial.bestEpochs = run.top.epoch + 1;
        if (run.error) {
          if (!(run.error instanceof TrainingError)) throw run.error;
          trial.status = 'failed';
          trial.error = run.error.message;
        } else {
          if (run.cut) {
            trial.status = 'cut';
            stopped = run.cut;
          }
          if (run.top.epoch >= 0) {
            const { evaluation, predictions, order } = await run.evaluateBest();
            if (labelled) predictionsOf.set(trial.id, labelled.compact(predictions, order));
            trial.scores = taskScores(kinds, evaluation);
            if (typeof o.objective === 'function')
              trial.value = o.objective({ tasks: { ...trial.scores }, metrics: evaluation });
            else if (o.objective === 'mean') trial.value = meanScore(trial.scores);
          }
          if (trial.status === 'cut') {
            trial.error = `the ${run.cut === 'cpuSeconds' ? 'CPU-time' : 'time'} budget ran out during this run (after ${trial.epochs} of ${maxEpochs} epochs${run.top.epoch >= 0 ? '; scored at its best epoch' : '; not scored'})`;
          }
        }
      } finally {
        // A run paused at the end of its rung waits for a promotion; any other is over.
        if (run.paused && trial.status === 'done') live.set(job.candidate, run);
        else await run.stop();
      }
      trial.seconds = (performance.now() - t0) / 1000;
      trials.push(trial);
      if (trial.status === 'done') doneAt[job.rung]!.push(trial.id);
      if (predictionsOf.size > 2 * ENSEMBLE_POOL) {
        // Only the best ENSEMBLE_POOL trials' predictions are kept for ensemble selection: a
        // trial below them now stays below (its value does not change; with 'mean-rank' nearly so).
        const list = scored().filter((t) => predictionsOf.has(t.id));
        const keep = new Set(
          ordered(list)
            .order.slice(0, ENSEMBLE_POOL)
            .map((i) => list[i]!.id),
        );
        for (const id of [...predictionsOf.keys()]) if (!keep.has(id)) predictionsOf.delete(id);
      }
      if (live.size > PAUSED_RUNS_MAX) {
        // Too many paused runs held in memory: the worst of the lowest rung is given up.
        const lastTrial = (c: number) => {
          for (let i = trials.length - 1; ; i--) if (trials[i]!.candidate === c) return trials[i]!;
        };
        const waiting = [...live.keys()].map(lastTrial);
        const lowest = Math.min(...waiting.map((t) => t.rung));
        const atLowest = waiting.filter((t) => t.rung === lowest);
        const worst = atLowest[ordered(atLowest).order.at(-1)!]!;
        await live.get(worst.candidate)!.stop();
        live.delete(worst.candidate);
      }
      const best = bestSoFar();
      if (o.onTrial) {
        const progress: TuneProgress = {
          trial,
          best,
          trials: trials.length,
          budget: o.budget,
          seconds: elapsed(),
          cpuSeconds: cpuElapsed(),
        };
        await o.onTrial(progress);
      }
      if (trial.status === 'cut') break;
    }
  }
  const best = bestSoFar();
  if (!best) {
    throw new TrainingError(
      `${SCOPE}: no trial was scored (got ${trials.length} trial(s): ${trials.map((t) => t.status).join(', ') || 'none'}; expected at least one that finished) → at options.budget. Give a larger budget${trials.some((t) => t.status === 'failed') ? ', or check the data: the runs diverged' : ''}.`,
      { path: 'options.budget' },
    );
  }
  /** Ensemble selection over the best ENSEMBLE_POOL scored trials (by the objective). */
  function chooseEnsemble(
    rows: LabelledRows,
    kept: Map<number, Float32Array[]>,
    byObjective: TuneTrial[],
  ): TuneEnsemble | undefined {
    const pool: PooledTrial[] = byObjective
      .filter((t) => kept.has(t.id))
      .slice(0, ENSEMBLE_POOL)
      .map((t) => ({ trial: t.id, value: t.value, predictions: kept.get(t.id)! }));
    if (pool.length === 0) return undefined;
    const objective = o.objective;
    const ensembleValue = (evaluation: Evaluation) => {
      const tasks = taskScores(kinds, evaluation);
      return typeof objective === 'function'
        ? objective({ tasks: { ...tasks }, metrics: evaluation })
        : meanScore(tasks);
    };
    const chosen = selectEnsemble(pool, o.ensemble, rows, ensembleValue);
    const total = chosen.counts.reduce((a, b) => a + b, 0);
    const tasks = taskScores(kinds, chosen.evaluation);
    return {
      members: pool.flatMap((p, i) => {
        const n = chosen.counts[i]!;
        if (n === 0) return [];
        const t = trials[p.trial]!;
        return [
          {
            trial: t.id,
            weight: n / total,
            strategy: t.strategy,
            space: t.space,
            planOptions: t.planOptions,
            fitOptions: { ...t.fitOptions, epochs: t.bestEpochs },
          },
        ];
      }),
      rounds: o.ensemble,
      score: {
        objective: typeof objective === 'function' ? 'objective' : 'mean',
        value: chosen.value,
        tasks: Object.fromEntries(
          kinds.map((t) => [t.id, { metric: compareMetric(t.kind), value: tasks[t.id]! }]),
        ),
      },
    };
  }
  const bestResult: TuneBest = {
    strategy: best.strategy,
    space: best.space,
    planOptions: best.planOptions,
    fitOptions: { ...best.fitOptions, epochs: best.bestEpochs },
    score: {
      objective: typeof o.objective === 'function' ? 'objective' : o.objective,
      value: best.value,
      tasks: Object.fromEntries(
        kinds.map((t) => [t.id, { metric: compareMetric(t.kind), value: best.scores[t.id]! }]),
      ),
    },
    trial: best.id,
  };
  const ensemble = labelled
    ? chooseEnsemble(
        labelled,
        predictionsOf,
        ordered(scored()).order.map((i) => scored()[i]!),
      )
    : undefined;
  return {
    best: bestResult,
    ...(ensemble ? { ensemble } : {}),
    trials,
    strategies: o.strategies,
    objective: bestResult.score.objective,
    stopped,
    seconds: elapsed(),
    cpuSeconds: cpuElapsed(),
    rows,
    notes,
  };
}

type Evaluation = Awaited<ReturnType<typeof evaluateWithPredictions>>['evaluation'];
/** A trial's validation scores and predictions (each task's outputs, in the order of `order`). */
interface Scored {
  evaluation: Evaluation;
  predictions: Float32Array[];
  order: string[];
}

/**
 * One candidate's training run across its rungs: a single `fit` call for the last rung's epochs,
 * with early stopping on the validation loss (best weights kept) and the budget checked after
 * every epoch; at the end of each earlier rung the epoch callback waits until the run is promoted
 * (`advance` again) or given up (`stop`). A run continued this way is the same run as one
 * uninterrupted: same weights, optimizer state, shuffling and stopping state.
 */
class TrialRun {
  top = { loss: Infinity, epoch: -1 };
  epochs = 0;
  /** Set when the budget ran out during the run. */
  cut: 'seconds' | 'cpuSeconds' | undefined;
  /** A fit error (not the run's own stop). */
  error: unknown;
  private wait = 0;
  private kept: tf.Tensor[] | undefined;
  private target = 0;
  private patience = 1;
  private ended = false;
  private resume: ((go: boolean) => void) | undefined;
  private reached: (() => void) | undefined;
  private readonly finished: Promise<void>;
  private started = false;
  private startFit: () => void;

  constructor(
    private readonly model: MtgraphModel,
    /** Epochs of the run's last rung (fit's epochs: no pause there). */
    private readonly lastEpochs: number,
    fitRun: (
      model: MtgraphModel,
      onEpochEnd: (epoch: number, logs: EpochLogs) => Promise<void>,
    ) => Promise<unknown>,
    private readonly lossOf: (logs: EpochLogs) => number,
    private readonly maxPatience: number,
    private readonly overBudget: () => 'seconds' | 'cpuSeconds' | undefined,
    private readonly evaluateModel: (
      model: MtgraphModel,
    ) => Promise<{ evaluation: Evaluation; predictions: Float32Array[] }>,
  ) {
    let go!: () => void;
    const begun = new Promise<void>((r) => (go = r));
    this.startFit = go;
    this.finished = begun
      .then(() => fitRun(model, (epoch, logs) => this.onEpochEnd(epoch, logs)))
      .then(
        () => undefined,
        (error) => {
          if (error !== STOP) this.error = error;
        },
      )
      .finally(() => {
        this.ended = true;
        this.reached?.();
      });
  }

  /** Whether the run waits at the end of a rung (it can be promoted). */
  get paused(): boolean {
    return !this.ended && this.resume !== undefined;
  }

  /** Trains on until `epochs` epochs in all (then pauses), or until the run ends. */
  async advance(epochs: number): Promise<void> {
    this.target = epochs;
    // Early stopping's patience: at most a third of this rung's epochs (at least 1).
    this.patience = Math.max(1, Math.min(this.maxPatience, Math.floor(epochs / 3)));
    const reached = new Promise<void>((r) => (this.reached = r));
    if (!this.started) {
      this.started = true;
      this.startFit();
    } else {
      const resume = this.resume!;
      this.resume = undefined;
      resume(true);
    }
    await reached;
  }

  /** Scores the best weights so far on the validation rows (a paused run keeps its current weights). */
  async evaluateBest(): Promise<Scored> {
    const order = this.model.plan.tasks.map((t) => t.id);
    const scored = async () => ({ ...(await this.evaluateModel(this.model)), order });
    if (!this.kept) return scored();
    if (this.ended) {
      this.model.model.setWeights(this.kept);
      return scored();
    }
    const current = this.model.model.getWeights().map((w: tf.Tensor) => tf.clone(w));
    try {
      this.model.model.setWeights(this.kept);
      return await scored();
    } finally {
      this.model.model.setWeights(current);
      tf.dispose(current);
    }
  }

  /** Ends the run (a paused one is given up) and frees it. */
  async stop(): Promise<void> {
    if (!this.started) {
      // Never started: no fit call to wait for.
      this.started = true;
      this.ended = true;
    } else {
      const resume = this.resume;
      this.resume = undefined;
      resume?.(false);
      await this.finished;
    }
    tf.dispose(this.kept);
    this.kept = undefined;
    this.model.dispose();
  }

  private async onEpochEnd(epoch: number, logs: EpochLogs): Promise<void> {
    this.epochs = epoch + 1;
    const loss = this.lossOf(logs);
    if (loss < this.top.loss) {
      this.top = { loss, epoch };
      this.wait = 0;
      tf.dispose(this.kept);
      this.kept = this.model.model.getWeights().map((w: tf.Tensor) => tf.clone(w));
    } else if (++this.wait >= this.patience) throw STOP;
    const over = this.overBudget();
    if (over) {
      this.cut = over;
      throw STOP;
    }
    if (this.epochs >= this.target && this.epochs < this.lastEpochs) {
      // The end of a rung (not the last: fit ends there): wait for a promotion or the end.
      const go = await new Promise<boolean>((r) => {
        this.resume = r;
        this.reached?.();
      });
      if (!go) throw STOP;
    }
  }
}

/** The tasks with at least one labelled row (mask above 0) in prepared data. */
function labelledTasks(data: PreparedData): Set<string> {
  return new Set(
    data.tasks.filter((t) => !t.excluded && t.mask.some((m) => m > 0)).map((t) => t.id),
  );
}

/** Merges option objects left to right; nested plain objects (trunk, tower, a strategy's section, optimizer) merge field by field. */
function mergeOptions(...parts: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [k, v] of Object.entries(part)) {
      const prev = out[k];
      out[k] = isObject(prev) && isObject(v) ? { ...prev, ...v } : v;
    }
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);
