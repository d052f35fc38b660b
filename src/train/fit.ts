import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import type { PreparedData, TaskData } from '../data/types.js';
import { prepareData, selectRows } from '../data/prepare.js';
import { holdOutPerTask } from '../data/holdout.js';
import { disposeData, toTensors, type DataTensors } from '../data/tensors.js';
import { dataError } from '../data/helpers.js';
import { seededRandom } from '../graph/random.js';
import { TrainingError } from '../errors.js';
import { getBalance, type Balancer } from './balance/index.js';
import { getOptimizer } from './optimizers.js';
import { Objective } from './objective.js';
import { resolveFitOptions, type FitOptions, type ResolvedFitOptions } from './options.js';
import { forward, INFERENCE_CHUNK } from './forward.js';
import { finiteProbe, modelVariables, restore, snapshot } from './weights.js';
import { checkModel } from './model-check.js';
import { makeStep, recordLength, type Step } from './steps.js';
import { epochSeed } from './random.js';
import type { RunFingerprint, RunState } from './checkpoint.js';
import { nodeParts, type NodeParts } from '../platform/index.js';
import { assertTrainable } from '../backend/trainable.js';
import { autoBackend } from '../backend/auto.js';
import { reseedDropout } from '../network/layers/dropout.js';
import type { EpochLogs, History } from './history.js';
import { resolveTaskMetrics, scoreTasks, unpackOutputs, type TaskScores } from './task-metrics.js';
import { targetScaleNotes } from './target-scale.js';
import { divergenceNotes, lossBaselines } from './notes.js';
import type { Metric } from './metrics/index.js';
import { applySampleWeights, isWeighted } from './sample-weight.js';
import { withUpdateKnobs } from './optimizer-knobs.js';
import { RateControl } from './learning-rate.js';
import { createFastStep } from './fast-step.js';
import { createTowerStep, type EpochStep } from './tower-step.js';

const SCOPE = 'mtgraph/fit';

/** "No bad step" in the per-step records (larger than any step count; float32-exact). */
const NO_STEP = 2 ** 30;
/** Step records kept before they are summed (bounds their memory: a few KiB each). */
const RECORDS_PER_FOLD = 64;
/** Index of the weights' finite probe in an epoch's read-back values, for T tasks. */
const PROBE = (T: number) => 5 * T + 4;

/**
 * Trains every task of a model jointly in one loop. Each step minimises
 * `sum_t weight_t * loss_t + model.penalty()` over the model's trainable variables, where
 * `loss_t = sum(mask * loss) / max(1, sum(mask))` so missing labels add no loss and no gradient,
 * and the weights come from the balancing method (`static`: the plan's task weights). Methods that
 * work on per-task gradients (pcgrad, mgda, cagrad, gradnorm) get every task's gradient once per
 * step and say how to combine them on the shared parameters; each task's own parameters follow
 * its own gradient (see `makeStep`).
 * After each epoch (or every `metricsEvery`-th) it scores each task's metrics, as `evaluate`
 * does, on the validation data or, without any, on the training data.
 *
 * The data is validated before any tensor is created (DataError), and turned into tensors once.
 * A non-finite loss, gradient or weight stops training with a TrainingError naming the task, the
 * epoch and the step; the model keeps the weights of the last good epoch.
 * Each epoch's shuffle is seeded by (seed, epoch). With `checkpoint` the run is saved every
 * `every` epochs (see checkpoint.ts); with `resumeFrom` a saved run continues where it stopped.
 */
export async function fit(
  model: MtgraphModel,
  data: TaskData,
  options: FitOptions = {},
): Promise<History> {
  const started = performance.now();
  checkModel(model, SCOPE);
  const backendNote = await autoBackend(model, 'fit');
  assertTrainable(model);
  const opts = resolveFitOptions(options, model.plan.seed ?? 0);
  let train = prepareData(model.plan, data, { scope: SCOPE });
  train = applySampleWeights(model.plan, train, opts.sampleWeight, opts.classWeight);
  let val: PreparedData | undefined;
  if (opts.validationData !== undefined) {
    val = prepareData(model.plan, opts.validationData, {
      scope: SCOPE,
      prefix: 'options.validationData',
    });
  } else if (opts.validationSplit) {
    ({ train, val } = splitValidation(train, opts.validationSplit, opts.seed));
  }
  const notes = targetScaleNotes(model.plan, train);
  const objective = new Objective(model.plan, model.outputIndex);
  objective.weighted = isWeighted(opts.sampleWeight, opts.classWeight);
  const metrics = opts.metrics
    ? { metricsOf: resolveTaskMetrics(model.plan, SCOPE), data: val ?? train }
    : undefined;
  let trainData: DataTensors | undefined;
  let valData: DataTensors | undefined;
  let balancer: Balancer | undefined;
  let optimizer: tf.Optimizer | undefined;
  try {
    trainData = toTensors(train, objective.order);
    if (val) valData = toTensors(val, objective.order);
    balancer = getBalance(opts.balance)!.create({
      tasks: objective.tasks,
      epochs: opts.epochs,
      seed: opts.seed,
      options: opts.balanceOptions,
      model,
      optimizer: opts.optimizer,
    });
    optimizer = withUpdateKnobs(
      getOptimizer(opts.optimizer.name)!.create(opts.optimizer.learningRate),
      {
        ...opts.optimizer,
        decayed: new Set(model.trainableVariables.map((v) => v.name)),
      },
    );
    const run = new TrainingRun(
      model,
      objective,
      balancer,
      optimizer,
      opts,
      trainData,
      valData,
      metrics,
    );
    let epochsTrainedBefore =
      typeof model.metadata?.epochsTrained === 'number' ? model.metadata.epochsTrained : 0;
    // Checkpoints are folders: Node only (src/platform).
    const files =
      opts.checkpoint || opts.resumeFrom !== undefined
        ? await nodeParts(
            'mtgraph/fit',
            'options.checkpoint / options.resumeFrom',
            'Leave them unset in a browser, and save the trained model with saveModel.',
          )
        : undefined;
    const print = files ? files.fingerprint(opts, train, val) : undefined;
    // The checkpoint folder is checked before the first epoch (writable; nothing foreign replaced).
    if (opts.checkpoint) await files!.checkCheckpointDir(opts.checkpoint.dir);
    let resumed: RunState | undefined;
    if (opts.resumeFrom !== undefined) {
      const r = await files!.resumeCheckpoint(opts.resumeFrom, {
        model,
        optimizer,
        balancer,
        variables: run.variables,
        fingerprint: print!,
      });
      resumed = r.state;
      epochsTrainedBefore = r.epochsTrainedBefore;
    }
    const prepareMs = performance.now() - started;
    const history = await run.loop(
      resumed,
      print && files && { fingerprint: print, epochsTrainedBefore, files },
    );
    history.notes = [
      ...(backendNote ? [backendNote] : []),
      ...notes,
      ...divergenceNotes(history, opts.optimizer, lossBaselines(model.plan, train)),
    ];
    history.timing.prepareMs = prepareMs;
    history.timing.totalMs = performance.now() - started;
    model.metadata = {
      ...model.metadata,
      epochsTrained: epochsTrainedBefore + history.epochs,
      fit: {
        seed: opts.seed,
        balance: opts.balance,
        balanceOptions: opts.balanceOptions,
        optimizer: opts.optimizer,
        batchSize: opts.batchSize,
      },
    };
    return history;
  } finally {
    optimizer?.dispose();
    balancer?.dispose();
    objective.dispose();
    disposeData(trainData);
    disposeData(valData);
  }
}

/**
 * Splits off validation rows per task (holdOutPerTask): about `fraction` of each task's labelled
 * rows, at least one when it has two or more, never its last training row; from the end of the
 * data, or seeded random rows with `shuffle`.
 */
function splitValidation(
  data: PreparedData,
  split: { fraction: number; shuffle: boolean },
  seed: number,
): { train: PreparedData; val: PreparedData } {
  const { train, valid } = holdOutPerTask(data, split.fraction, seed ^ 0x5eed5, split.shuffle);
  if (valid.length === 0 || train.length === 0) {
    throw dataError(
      { scope: SCOPE, prefix: '' },
      'options.validationSplit',
      `validationSplit ${split.fraction} of ${data.rows} rows leaves ${train.length} row(s) for training and ${valid.length} for validation (no task has two labelled rows to share)`,
      'Use more rows, or pass validationData.',
      split.fraction,
    );
  }
  return { train: selectRows(data, train), val: selectRows(data, valid) };
}

/** Fisher-Yates shuffle in place with a seeded source. */
function shuffle(values: { [i: number]: number; length: number }, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i]!;
    values[i] = values[j]!;
    values[j] = tmp;
  }
}

/** What the per-epoch metrics are computed from: the tasks' metrics (plan order) and the host labels of the scored data. */
interface EpochMetrics {
  metricsOf: Metric[][];
  /** The validation data when there is any, else the training data. */
  data: PreparedData;
}

/** One training run: owns nothing it did not create, and frees what it creates. */
class TrainingRun {
  private readonly tasks: number;
  /** Model outputs per task, plan order. */
  private readonly outputs: number[];
  private readonly allVariables: tf.Variable[];
  private readonly hasPenalty: boolean;
  /** Every variable of the model (modelVariables order): what snapshots and best weights hold. */
  get variables(): readonly tf.Variable[] {
    return this.allVariables;
  }
  /** One training step of the balancer's kind (loss weighting, per-task gradients...). */
  private readonly step: Step;
  /** The learning rate step by step (schedule, reduce-on-plateau); set up by `loop`. */
  private rates: RateControl | undefined;
  /** The epoch running (0-based), for the learning rate of each step. */
  private current = 0;
  /** The fast step (fast-step.ts) when it covers the run, for the time of `loop`. */
  private fast: EpochStep | undefined;

  constructor(
    private readonly model: MtgraphModel,
    private readonly objective: Objective,
    private readonly balancer: Balancer,
    private readonly optimizer: tf.Optimizer,
    private readonly opts: ResolvedFitOptions,
    private readonly train: DataTensors,
    private readonly val: DataTensors | undefined,
    private readonly metrics: EpochMetrics | undefined,
  ) {
    this.tasks = objective.order.length;
    this.outputs = model.plan.tasks.map((t) => t.outputs);
    this.allVariables = modelVariables(model);
    this.hasPenalty =
      model.penalties.length > 0 || tf.tidy(() => model.model.calculateLosses().length > 0);
    const own = 'variables' in balancer ? (balancer.variables ?? []) : [];
    this.step = makeStep({
      model,
      objective,
      balancer,
      optimizer,
      method: opts.balance,
      variables: [...model.trainableVariables, ...own],
      hasPenalty: this.hasPenalty,
      penalty: () => this.penalty(),
    });
  }

  /** The penalty terms: coupling penalties and layer regularisers (call inside a tidy). */
  private penalty(): tf.Scalar {
    let total = this.model.penalties.length > 0 ? this.model.penalty() : tf.scalar(0);
    for (const r of this.model.model.calculateLosses()) total = tf.add(total, r);
    return total;
  }

  /**
   * Runs the epochs left: all of them, or those after a resumed checkpoint's. With `checkpointing`
   * (options.checkpoint), saves the run after every `every`-th epoch and after the last one.
   */
  async loop(
    resumed?: RunState,
    checkpointing?: { fingerprint: RunFingerprint; epochsTrainedBefore: number; files: NodeParts },
  ): Promise<History> {
    const { opts, objective } = this;
    const T = this.tasks;
    const n = this.train.rows;
    const history: History = resumed?.history ?? {
      epochs: 0,
      loss: [],
      taskLoss: {},
      weights: {},
      penalty: [],
      stoppedEarly: false,
      notes: [],
      seed: opts.seed,
      trainRows: n,
      valRows: this.val?.rows ?? 0,
      timing: { prepareMs: 0, epochMs: [], totalMs: 0, samplesPerSecond: 0 },
    };
    const fresh = resumed === undefined;
    // Per-task records follow plan.tasks order; `at[i]` is task i's slot in the training order.
    const ids = this.model.plan.tasks.map((t) => t.id);
    const at = ids.map((id) => objective.order.indexOf(id));
    const byTask = (values: readonly number[]) =>
      Object.fromEntries(ids.map((id, i) => [id, values[at[i]!]!]));
    if (fresh) {
      for (const id of ids) {
        history.taskLoss[id] = [];
        history.weights[id] = [];
      }
      if (this.val) {
        history.valLoss = [];
        history.valTaskLoss = Object.fromEntries(ids.map((id) => [id, []]));
      }
    }
    // Per-epoch metrics: host buffers for the predictions, reused every epoch, and the History's series.
    const scored = this.metrics;
    const predictions = scored
      ? this.outputs.map((w) => new Float32Array(scored.data.rows * w))
      : [];
    let series: Record<string, Record<string, number[]>> = {};
    if (scored) {
      const restored = this.val ? history.valMetrics : history.metrics;
      if (restored) series = restored;
      else {
        this.model.plan.tasks.forEach((task, i) => {
          if (!scored.data.tasks[i]!.excluded)
            series[task.id] = Object.fromEntries(scored.metricsOf[i]!.map((m) => [m.name, []]));
        });
      }
      if (this.val) history.valMetrics = series;
      else history.metrics = series;
    }
    const perm = new Int32Array(n);
    let good = snapshot(this.allVariables);
    let best: tf.Tensor[] | undefined = resumed?.best;
    let bestValue = resumed?.stopping.bestValue ?? Infinity;
    let bestEpoch = resumed?.stopping.bestEpoch ?? -1;
    let wait = resumed?.stopping.wait ?? 0;
    const rates = new RateControl(
      this.optimizer,
      opts,
      Math.ceil(n / opts.batchSize),
      resumed?.plateau,
    );
    this.rates = rates;
    if (rates.active && fresh) history.learningRate = [];
    this.fast = await createFastStep(
      this.model,
      objective,
      opts,
      this.hasPenalty,
      this.optimizer,
      this.train,
    );
    // Soft sharing's towers with their Laplacian penalty: the tower step (tower-step.ts).
    this.fast ??= createTowerStep(this.model, objective, opts, this.optimizer, this.train);
    try {
      for (let epoch = history.epochs; epoch < opts.epochs && !history.stoppedEarly; epoch++) {
        const t0 = performance.now();
        // Each epoch's order depends only on (seed, epoch): a resumed run shuffles as the uninterrupted one.
        for (let i = 0; i < n; i++) perm[i] = i;
        shuffle(perm, seededRandom(epochSeed(opts.seed, epoch)));
        reseedDropout(this.model.model, opts.seed, epoch);
        this.current = epoch;
        const withMetrics =
          scored !== undefined &&
          ((epoch + 1) % opts.metricsEvery === 0 || epoch === opts.epochs - 1);
        const { values, steps } = await this.epoch(perm, withMetrics);
        // values: [num(T), den(T), weightSum(T), finiteSteps(T), totalSum, penaltySum, finiteGradientSteps, firstBadStep(T + 1),
        //          probe, (valNum(T), valDen(T), valPenalty)?, outputs?]
        const num = values.subarray(0, T);
        const den = values.subarray(T, 2 * T);
        const taskLoss = Array.from(num, (s, t) => (den[t]! > 0 ? s / den[t]! : NaN));
        const weights = Array.from(values.subarray(2 * T, 3 * T), (w) => w / steps);
        const loss = values[4 * T]! / n;
        const penalty = values[4 * T + 1]! / n;
        this.checkFinite({
          epoch,
          steps,
          num,
          loss,
          penalty,
          good,
          firstBad: values.subarray(4 * T + 3, 5 * T + 4),
          probe: values[PROBE(T)]!,
        });
        tf.dispose(good);
        good = snapshot(this.allVariables);
        this.balancer.onEpochEnd?.(epoch, taskLoss);
        const logs: EpochLogs = {
          epoch,
          loss,
          penalty,
          timeMs: 0,
          taskLoss: byTask(taskLoss),
          weights: byTask(weights),
        };
        history.loss.push(loss);
        history.penalty.push(penalty);
        ids.forEach((id, i) => {
          history.taskLoss[id]!.push(taskLoss[at[i]!]!);
          history.weights[id]!.push(weights[at[i]!]!);
        });
        if (this.val) {
          const base = PROBE(T) + 1;
          const vNum = values.subarray(base, base + T);
          const vDen = values.subarray(base + T, base + 2 * T);
          const valTask = Array.from(vNum, (s, t) => (vDen[t]! > 0 ? s / vDen[t]! : NaN));
          let valLoss = values[base + 2 * T]!;
          valTask.forEach((l, t) => {
            if (!Number.isNaN(l)) valLoss += weights[t]! * l;
          });
          logs.valLoss = valLoss;
          logs.valTaskLoss = byTask(valTask);
          history.valLoss!.push(valLoss);
          ids.forEach((id, i) => history.valTaskLoss![id]!.push(valTask[at[i]!]!));
        }
        if (scored) {
          let scores: TaskScores | undefined;
          if (withMetrics) {
            const rows = scored.data.rows;
            const start = PROBE(T) + 1 + (this.val ? 2 * T + 1 : 0);
            unpackOutputs(
              values.subarray(start, start + rows * this.outputs.reduce((a, b) => a + b, 0)),
              rows,
              this.outputs,
              predictions,
            );
            scores = scoreTasks(this.model.plan, scored.data, predictions, scored.metricsOf);
            if (this.val) logs.valMetrics = scores;
            else logs.metrics = scores;
          }
          for (const [id, byMetric] of Object.entries(series)) {
            for (const [name, column] of Object.entries(byMetric))
              column.push(scores?.[id]?.[name] ?? NaN);
          }
        }
        if (rates.active) {
          logs.learningRate = rates.rate;
          history.learningRate?.push(rates.rate);
          rates.endEpoch(logs);
        }
        history.epochs = epoch + 1;
        let stop = false;
        const es = opts.earlyStopping;
        if (es) {
          const value = es.monitor === 'val_loss' ? logs.valLoss! : loss;
          if (value < bestValue - es.minDelta) {
            bestValue = value;
            bestEpoch = epoch;
            wait = 0;
            if (es.restoreBestWeights) {
              if (best) tf.dispose(best);
              best = snapshot(this.allVariables);
            }
          } else {
            wait++;
            stop = wait >= Math.max(1, es.patience);
          }
        }
        logs.timeMs = performance.now() - t0;
        history.timing.epochMs.push(logs.timeMs);
        if (stop) history.stoppedEarly = true;
        const cp = opts.checkpoint;
        if (
          cp &&
          checkpointing &&
          ((epoch + 1) % cp.every === 0 || epoch === opts.epochs - 1 || stop)
        ) {
          await checkpointing.files.saveCheckpoint(cp.dir, {
            model: this.model,
            optimizer: this.optimizer,
            balancer: this.balancer,
            variables: this.allVariables,
            state: {
              epoch: epoch + 1,
              history,
              stopping: { bestValue, bestEpoch, wait },
              best,
              ...(rates.state ? { plateau: rates.state } : {}),
            },
            epochs: opts.epochs,
            fingerprint: checkpointing.fingerprint,
            epochsTrainedBefore: checkpointing.epochsTrainedBefore,
          });
        }
        if (opts.onEpochEnd) await opts.onEpochEnd(epoch, logs);
      }
      if (opts.earlyStopping && bestEpoch >= 0) {
        history.bestEpoch = bestEpoch + 1; // counted from 1, as the CLI and the report show epochs
        if (best && bestEpoch !== history.epochs - 1) restore(this.allVariables, best);
      }
    } finally {
      tf.dispose(good);
      if (best) tf.dispose(best);
      this.fast?.dispose();
      this.fast = undefined;
    }
    const trainMs = history.timing.epochMs.reduce((a, b) => a + b, 0);
    history.timing.samplesPerSecond = trainMs > 0 ? (n * history.epochs) / (trainMs / 1000) : 0;
    return history;
  }

  /** Runs one epoch over `perm` and validation; returns every number the epoch needs, read back at once. */
  private async epoch(
    perm: Int32Array,
    withMetrics: boolean,
  ): Promise<{ values: Float32Array; steps: number }> {
    const { train } = this;
    const batch = this.opts.batchSize;
    const n = train.rows;
    const T = this.tasks;
    const permT = tf.tensor1d(perm, 'int32');
    let acc: tf.Tensor1D = tf.zeros([recordLength(T)]);
    // The first step (0-based) at which each task's loss, and then the gradients, were not finite; NO_STEP when never.
    let firstBad: tf.Tensor1D = tf.fill([T + 1], NO_STEP);
    // The records of the last steps, folded into acc and firstBad every RECORDS_PER_FOLD steps (fewer ops per step).
    const pending: tf.Tensor1D[] = [];
    let pendingFrom = 0;
    const fold = () => {
      if (pending.length === 0) return;
      const [nextAcc, nextBad] = tf.tidy(() => {
        const all = tf.stack(pending) as tf.Tensor2D;
        // Summed over the epoch: per-task loss sums, label counts, weights, finite steps; objective, penalty, finite gradients.
        const finite = tf.concat(
          [tf.slice(all, [0, 3 * T], [-1, T]), tf.slice(all, [0, 4 * T + 2], [-1, 1])],
          1,
        );
        const step = tf.reshape(tf.range(pendingFrom, pendingFrom + pending.length), [-1, 1]);
        const bad = tf.min(tf.add(step, tf.mul(finite, tf.sub(NO_STEP, step))), 0);
        return [
          tf.add(acc, tf.sum(all, 0)) as tf.Tensor1D,
          tf.minimum(firstBad, bad) as tf.Tensor1D,
        ] as const;
      });
      tf.dispose(pending);
      acc.dispose();
      firstBad.dispose();
      acc = nextAcc;
      firstBad = nextBad;
      pendingFrom += pending.length;
      pending.length = 0;
    };
    let steps = 0;
    try {
      if (this.fast) {
        // The fast step runs the whole epoch on its own buffers and writes the weights back.
        const r = this.fast.epoch(perm, batch, (step) =>
          this.rates?.beforeStep(this.current, step),
        );
        acc.dispose();
        firstBad.dispose();
        acc = tf.tensor1d(r.acc);
        firstBad = tf.tensor1d(r.firstBad);
        steps = r.steps;
      }
      for (let start = 0; !this.fast && start < n; start += batch, steps++) {
        const size = Math.min(batch, n - start);
        this.rates?.beforeStep(this.current, steps);
        pending.push(
          tf.tidy(() => {
            const idx = n <= batch ? permT : tf.slice(permT, start, size);
            return this.step({
              x: tf.gather(train.x, idx),
              y: tf.gather(train.y, idx),
              mask: tf.gather(train.mask, idx),
              size,
            });
          }),
        );
        if (pending.length === RECORDS_PER_FOLD) fold();
      }
      fold();
      // Everything the epoch reports, read back at once: [training sums, first bad steps, probe, validation sums + penalty?, outputs?].
      const packed = tf.tidy(() => {
        const parts: tf.Tensor[] = [acc, firstBad, tf.reshape(finiteProbe(this.allVariables), [1])];
        if (this.val) {
          const { sums, outputs } = this.infer(this.val, true, withMetrics);
          parts.push(sums!, tf.reshape(this.hasPenalty ? this.penalty() : tf.scalar(0), [1]));
          if (outputs) parts.push(outputs);
        } else if (withMetrics) {
          parts.push(this.infer(train, false, true).outputs!);
        }
        return tf.concat(parts);
      });
      try {
        return { values: (await packed.data()) as Float32Array, steps };
      } finally {
        packed.dispose();
      }
    } finally {
      permT.dispose();
      tf.dispose(pending);
      acc.dispose();
      firstBad.dispose();
    }
  }

  /**
   * One inference pass over `data` in chunks of INFERENCE_CHUNK rows: the masked loss sums
   * `[num(T), den(T)]` when `sums`, and the outputs flattened from `rows × sum of outputs`
   * (tasks in plan order) when `outputs`. Call inside tf.tidy.
   */
  private infer(
    data: DataTensors,
    sums: boolean,
    outputs: boolean,
  ): { sums?: tf.Tensor1D; outputs?: tf.Tensor1D } {
    const { model, objective } = this;
    let acc: tf.Tensor1D | undefined = sums ? tf.zeros([2 * this.tasks]) : undefined;
    const chunks: tf.Tensor[] = [];
    for (let start = 0; start < data.rows; start += INFERENCE_CHUNK) {
      const size = Math.min(INFERENCE_CHUNK, data.rows - start);
      const whole = size === data.rows;
      const [next, out] = tf.tidy(() => {
        const x = whole ? data.x : tf.slice(data.x, [start, 0], [size, -1]);
        const all = forward(model, x, false);
        let next: tf.Tensor1D | undefined;
        if (acc) {
          const y = whole ? data.y : tf.slice(data.y, [start, 0], [size, -1]);
          const mask = whole ? data.mask : tf.slice(data.mask, [start, 0], [size, -1]);
          const { num, den } = objective.sums(all, y, mask);
          next = tf.add(acc, tf.concat([num, den])) as tf.Tensor1D;
        }
        const ordered = outputs
          ? model.plan.tasks.map((t) => all[model.outputIndex.get(t.id)!]!)
          : [];
        const out = outputs
          ? tf.reshape(ordered.length === 1 ? ordered[0]! : tf.concat(ordered, 1), [-1])
          : undefined;
        return [next, out] as const;
      });
      acc?.dispose();
      acc = next;
      if (out) chunks.push(out);
    }
    return {
      sums: acc,
      outputs: outputs
        ? ((chunks.length === 1 ? chunks[0]! : tf.concat(chunks)) as tf.Tensor1D)
        : undefined,
    };
  }

  /**
   * Stops training on a non-finite loss, gradient or weight, restoring the weights of the last good
   * epoch first. Names the task whose loss went non-finite first, and the step (batch) where it
   * happened: once one loss is NaN the shared weights soon make every loss NaN.
   */
  private checkFinite(e: {
    epoch: number;
    steps: number;
    num: Float32Array;
    loss: number;
    penalty: number;
    firstBad: Float32Array;
    probe: number;
    good: tf.Tensor[];
  }): void {
    const T = this.tasks;
    let first = -1;
    for (let t = 0; t < T; t++) {
      const bad = e.firstBad[t]! < NO_STEP || !Number.isFinite(e.num[t]!);
      if (bad && (first < 0 || e.firstBad[t]! < e.firstBad[first]!)) first = t;
    }
    const gradientStep = e.firstBad[T]! < NO_STEP ? e.firstBad[T]! : undefined;
    const taskStep = first >= 0 && e.firstBad[first]! < NO_STEP ? e.firstBad[first]! : undefined;
    const task =
      first >= 0 &&
      (gradientStep === undefined || taskStep === undefined || taskStep <= gradientStep)
        ? this.objective.order[first]
        : undefined;
    const what =
      task !== undefined
        ? `the loss of task "${task}"`
        : gradientStep !== undefined
          ? 'a gradient (the losses were finite)'
          : !Number.isFinite(e.penalty)
            ? 'the coupling penalty'
            : !Number.isFinite(e.loss)
              ? 'the combined loss (balancing weights)'
              : !Number.isFinite(e.probe)
                ? 'the weights (the last update overflowed)'
                : undefined;
    if (what === undefined) return;
    restore(this.allVariables, e.good);
    const step = task !== undefined ? taskStep : gradientStep;
    const value =
      task !== undefined
        ? Number.isFinite(e.num[first]!)
          ? NaN
          : e.num[first]
        : gradientStep !== undefined
          ? NaN
          : !Number.isFinite(e.penalty)
            ? e.penalty
            : !Number.isFinite(e.loss)
              ? e.loss
              : e.probe;
    const kept =
      e.epoch === 0 ? 'its initial weights' : `the weights from the end of epoch ${e.epoch}`;
    const path = task !== undefined ? `tasks.${task}` : 'options.optimizer.learningRate';
    const batch = this.opts.batchSize;
    const where =
      step === undefined
        ? ''
        : ` It first happened at step ${step + 1} of ${e.steps} of epoch ${e.epoch + 1} (the batch of shuffled rows ${step * batch}..${Math.min((step + 1) * batch, this.train.rows) - 1}; step ${e.epoch * e.steps + step + 1} of the run).`;
    throw new TrainingError(
      `${SCOPE}: ${what} became non-finite (got ${value}) in epoch ${e.epoch + 1} of ${this.opts.epochs} → at ${path}. Training stopped and the model keeps ${kept}.${where} ` +
        'Lower the learning rate (options.optimizer.learningRate), scale the features and regression targets, or check the labels of that task.',
      { path, got: { task, epoch: e.epoch, step: step === undefined ? undefined : step, value } },
    );
  }
}
