import { z } from 'zod';
import { OptionsError, show } from '../errors.js';
import { isPlainObject, says } from '../schema/common.js';
import { zodError } from '../schema/validate.js';
import type { TaskData } from '../data/types.js';
import type { EpochLogs } from './history.js';
import { balanceNames, getBalance } from './balance/index.js';
import { getOptimizer, optimizerNames } from './optimizers.js';
import { ScheduleSchema, type ScheduleOptions } from './schedule.js';
import type { PlateauOptions } from './plateau.js';

const SCOPE = 'mtgraph/fit';

/** Options of `fit`; every one is optional (defaults in FIT_DEFAULTS). */
export interface FitOptions {
  /** Passes over the training rows (default 10). */
  epochs?: number;
  /** Rows per step (default 32). */
  batchSize?: number;
  /** Seed of the per-epoch shuffling and of a shuffled validation split (default: the plan's seed). */
  seed?: number;
  /**
   * 'adam' (default, learning rate 1e-3), 'adamw' (1e-3, weightDecay 0.01), 'sgd' (1e-2) or
   * 'rmsprop' (1e-3); a name or `{ name, learningRate, schedule, clipNorm, clipValue, weightDecay }`:
   * `schedule` changes the rate every step (see schedule.ts: cosine, step, exponential,
   * warmup-cosine), `clipNorm` / `clipValue` clip each variable's gradient (as Keras), `weightDecay`
   * is AdamW's decoupled decay.
   */
  optimizer?:
    | string
    | {
        name: string;
        learningRate?: number;
        schedule?: ScheduleOptions;
        clipNorm?: number;
        clipValue?: number;
        weightDecay?: number;
      };
  /**
   * Multiply the learning rate by `factor` (default 0.1) when `monitor` has not improved by more
   * than `minDelta` for `patience` epochs (Keras's ReduceLROnPlateau); `cooldown` epochs pass before
   * counting again, and the rate stays >= `minLearningRate`. Saved in checkpoints.
   */
  reduceLrOnPlateau?: {
    patience: number;
    factor?: number;
    monitor?: 'val_loss' | 'loss';
    minDelta?: number;
    cooldown?: number;
    minLearningRate?: number;
  };
  /**
   * A registered balancing method (default 'static': the plan's task weights): 'static',
   * 'uncertainty', 'dwa', 'gradnorm', 'pcgrad', 'mgda', 'rlw', 'cagrad', or one added with
   * registerBalance. Every method but 'static' sets its own weights (the plan's task weights are not used).
   */
  balance?: string;
  /**
   * Options of the balancing method, checked by its schema: `dwa: { temperature }`,
   * `gradnorm: { alpha, learningRate }`, `mgda: { upperBound, normalize, maxIterations }`,
   * `cagrad: { c, rescale }`, `uncertainty: { form, init }` (defaults: `getBalance(name).defaults`).
   */
  balanceOptions?: Record<string, unknown>;
  /**
   * Hold out about `fraction` of EACH TASK's labelled rows for validation (at least one row when a
   * task has two or more, and never its last training row): each task's last labelled rows, or
   * seeded random ones with `{ fraction, shuffle: true }`. A row goes whole to one part.
   */
  validationSplit?: number | { fraction: number; shuffle?: boolean };
  /** Separate validation data (same form as the training data). */
  validationData?: TaskData;
  /** Stop when `monitor` has not improved by more than `minDelta` for `patience` epochs, and restore the best weights. */
  earlyStopping?: {
    patience: number;
    monitor?: 'val_loss' | 'loss';
    minDelta?: number;
    restoreBestWeights?: boolean;
  };
  /**
   * Compute each task's metrics (its `metrics`, as `evaluate` does) at the end of epochs: on the
   * validation data when there is any (History.valMetrics), else on the training data
   * (History.metrics). One inference pass over that data, read back with the epoch's losses.
   * Default true.
   */
  metrics?: boolean;
  /** Compute the metrics every n-th epoch only (and after the last epoch); default 1 (every epoch). */
  metricsEvery?: number;
  /** Called after every epoch; training waits for a returned promise. */
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  /**
   * Save a checkpoint to the folder `dir` every `every` epochs (default 1) and after the last
   * epoch, atomically: the model (a folder loadModel opens), the optimizer's state, the balancing
   * method's state, early stopping's record, the history so far and the epoch. Written after the
   * epoch's checks and before onEpochEnd; a non-finite epoch is never saved.
   */
  checkpoint?: { dir: string; every?: number };
  /**
   * Continue the run saved in this checkpoint folder: the model's weights, the optimizer, the
   * balancing method and early stopping are restored, and training goes on from the next epoch up
   * to `epochs` (in total). The options and data must be those of the saved run (checked). Each
   * epoch's shuffle and dropout masks depend only on (seed, epoch), so the resumed run ends with
   * the weights of an uninterrupted one.
   */
  resumeFrom?: string;
  /**
   * Per-row weights per task, one number >= 0 per row of x (as Keras's sample_weight): each
   * labelled entry's loss is multiplied by its row's weight; 0 leaves the row out.
   */
  sampleWeight?: Readonly<Record<string, ArrayLike<number>>>;
  /** Per-class weights per task: `[w0, w1]` for binary and multilabel, one per class for multiclass. */
  classWeight?: Readonly<Record<string, readonly number[]>>;
}

/** Defaults of `fit`, visible to callers. */
export const FIT_DEFAULTS = Object.freeze({
  epochs: 10,
  batchSize: 32,
  optimizer: 'adam',
  balance: 'static',
  validationSplit: 0,
  metrics: true,
  metricsEvery: 1,
  earlyStopping: Object.freeze({
    monitor: 'val_loss when there is validation data, else loss',
    minDelta: 0,
    restoreBestWeights: true,
  }),
});

export interface ResolvedFitOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  optimizer: ResolvedOptimizer;
  reduceLrOnPlateau: PlateauOptions | undefined;
  balance: string;
  /** The balancing method's options with its defaults filled in. */
  balanceOptions: Record<string, unknown>;
  validationSplit: { fraction: number; shuffle: boolean } | undefined;
  validationData: unknown;
  earlyStopping:
    | {
        patience: number;
        monitor: 'val_loss' | 'loss';
        minDelta: number;
        restoreBestWeights: boolean;
      }
    | undefined;
  metrics: boolean;
  metricsEvery: number;
  onEpochEnd: ((epoch: number, logs: EpochLogs) => void | Promise<void>) | undefined;
  checkpoint: { dir: string; every: number } | undefined;
  resumeFrom: string | undefined;
  sampleWeight: unknown;
  classWeight: unknown;
}

/** fit's optimizer with its defaults; the optional knobs are present only when set. */
export interface ResolvedOptimizer {
  name: string;
  learningRate: number;
  schedule?: ScheduleOptions;
  clipNorm?: number;
  clipValue?: number;
  weightDecay?: number;
}

const positiveNumber = (what: string, example: string) =>
  z
    .number({ error: says(`${what} must be a number`, `Use e.g. ${example}.`) })
    .positive({ error: says(`${what} must be > 0`, `Use e.g. ${example}.`) });

const positiveInt = (what: string, example: string) =>
  z
    .int({ error: says(`${what} must be a whole number`, `Use e.g. ${example}.`) })
    .min(1, { error: says(`${what} must be at least 1`, `Use e.g. ${example}.`) });
const fraction = z
  .number({
    error: says('validationSplit must be a number', 'Use a fraction in (0, 1), e.g. 0.2.'),
  })
  .gt(0, { error: says('validationSplit must be in (0, 1)', 'Use e.g. 0.2, or leave it out.') })
  .lt(1, { error: says('validationSplit must be in (0, 1)', 'Use e.g. 0.2, or leave it out.') });

const schema = z.strictObject({
  epochs: positiveInt('epochs', 'epochs: 10').optional(),
  batchSize: positiveInt('batchSize', 'batchSize: 32').optional(),
  seed: z.int({ error: says('seed must be a whole number', 'Use e.g. seed: 42.') }).optional(),
  optimizer: z
    .union(
      [
        z.string(),
        z.strictObject({
          name: z.string({
            error: (issue) =>
              says(
                'optimizer.name must be a string',
                `Use one of: ${optimizerNames().join(', ')}.`,
              )(issue),
          }),
          learningRate: z
            .number({
              error: says('learningRate must be a number', 'Use e.g. learningRate: 0.001.'),
            })
            .positive({
              error: says('learningRate must be positive', 'Use e.g. learningRate: 0.001.'),
            })
            .optional(),
          schedule: z.unknown().optional(),
          clipNorm: positiveNumber('clipNorm', 'clipNorm: 1').optional(),
          clipValue: positiveNumber('clipValue', 'clipValue: 0.5').optional(),
          weightDecay: z
            .number({ error: says('weightDecay must be a number', 'Use e.g. weightDecay: 0.01.') })
            .min(0, { error: says('weightDecay must be >= 0', 'Use e.g. weightDecay: 0.01.') })
            .optional(),
        }),
      ],
      {
        error: says(
          'optimizer must be a name or { name, learningRate }',
          "Write e.g. optimizer: { name: 'adam', learningRate: 0.001 }.",
        ),
      },
    )
    .optional(),
  reduceLrOnPlateau: z
    .strictObject(
      {
        patience: z
          .int({
            error: says(
              'reduceLrOnPlateau.patience must be a whole number',
              'Use e.g. patience: 3.',
            ),
          })
          .min(0, {
            error: says('reduceLrOnPlateau.patience must be >= 0', 'Use e.g. patience: 3.'),
          }),
        factor: z
          .number({
            error: says('reduceLrOnPlateau.factor must be a number', 'Use e.g. factor: 0.5.'),
          })
          .gt(0, {
            error: says('reduceLrOnPlateau.factor must be in (0, 1)', 'Use e.g. factor: 0.5.'),
          })
          .lt(1, {
            error: says('reduceLrOnPlateau.factor must be in (0, 1)', 'Use e.g. factor: 0.5.'),
          })
          .optional(),
        monitor: z
          .enum(['val_loss', 'loss'], {
            error: says('unknown reduceLrOnPlateau.monitor', "Use 'val_loss' or 'loss'."),
          })
          .optional(),
        minDelta: z
          .number()
          .min(0, {
            error: says('reduceLrOnPlateau.minDelta must be >= 0', 'Use e.g. minDelta: 0.'),
          })
          .optional(),
        cooldown: z
          .int()
          .min(0, {
            error: says('reduceLrOnPlateau.cooldown must be >= 0', 'Use e.g. cooldown: 0.'),
          })
          .optional(),
        minLearningRate: z
          .number()
          .min(0, {
            error: says('reduceLrOnPlateau.minLearningRate must be >= 0', 'Use e.g. 1e-6.'),
          })
          .optional(),
      },
      {
        error: says(
          'reduceLrOnPlateau must be { patience, factor?, monitor? }',
          'Write e.g. reduceLrOnPlateau: { patience: 3, factor: 0.5 }.',
        ),
      },
    )
    .optional(),
  balance: z
    .string({
      error: (issue) =>
        says('balance must be a method name', `Use one of: ${balanceNames().join(', ')}.`)(issue),
    })
    .optional(),
  balanceOptions: z.unknown().optional(),
  validationSplit: z
    .union([fraction, z.strictObject({ fraction, shuffle: z.boolean().optional() })], {
      error: says(
        'validationSplit must be a fraction or { fraction, shuffle }',
        'Write e.g. validationSplit: 0.2.',
      ),
    })
    .optional(),
  validationData: z.unknown().optional(),
  earlyStopping: z
    .strictObject(
      {
        patience: z
          .int({
            error: says('earlyStopping.patience must be a whole number', 'Use e.g. patience: 5.'),
          })
          .min(0, { error: says('earlyStopping.patience must be >= 0', 'Use e.g. patience: 5.') }),
        monitor: z
          .enum(['val_loss', 'loss'], {
            error: says('unknown earlyStopping.monitor', "Use 'val_loss' or 'loss'."),
          })
          .optional(),
        minDelta: z
          .number()
          .min(0, { error: says('earlyStopping.minDelta must be >= 0', 'Use e.g. minDelta: 0.') })
          .optional(),
        restoreBestWeights: z.boolean().optional(),
      },
      {
        error: says(
          'earlyStopping must be { patience, monitor? }',
          "Write e.g. earlyStopping: { patience: 5, monitor: 'val_loss' }.",
        ),
      },
    )
    .optional(),
  metrics: z
    .boolean({
      error: says(
        'metrics must be true or false',
        'Use metrics: false to skip the per-epoch metrics.',
      ),
    })
    .optional(),
  metricsEvery: positiveInt('metricsEvery', 'metricsEvery: 5').optional(),
  onEpochEnd: z
    .custom<NonNullable<FitOptions['onEpochEnd']>>((v) => typeof v === 'function', {
      error: says('onEpochEnd must be a function', 'Pass (epoch, logs) => { ... }.'),
    })
    .optional(),
  checkpoint: z
    .strictObject(
      {
        dir: z
          .string({
            error: says(
              'checkpoint.dir must be a folder path',
              "Write e.g. checkpoint: { dir: 'out/checkpoint' }.",
            ),
          })
          .min(1, {
            error: says(
              'checkpoint.dir must not be empty',
              "Write e.g. checkpoint: { dir: 'out/checkpoint' }.",
            ),
          }),
        every: positiveInt('checkpoint.every', 'every: 5').optional(),
      },
      {
        error: says(
          'checkpoint must be { dir, every? }',
          "Write e.g. checkpoint: { dir: 'out/checkpoint', every: 5 }.",
        ),
      },
    )
    .optional(),
  resumeFrom: z
    .string({
      error: says(
        'resumeFrom must be a checkpoint folder',
        "Write e.g. resumeFrom: 'out/checkpoint'.",
      ),
    })
    .min(1, {
      error: says('resumeFrom must not be empty', "Write e.g. resumeFrom: 'out/checkpoint'."),
    })
    .optional(),
  sampleWeight: z.unknown().optional(),
  classWeight: z.unknown().optional(),
});

/** Validates fit options and fills the defaults; `planSeed` is the default seed. */
export function resolveFitOptions(options: unknown, planSeed: number): ResolvedFitOptions {
  const given = options ?? {};
  if (!isPlainObject(given)) {
    throw new OptionsError(
      `${SCOPE}: options must be an object (got ${show(given)}) → at options. Write e.g. { epochs: 10 }.`,
      { path: 'options', got: given },
    );
  }
  const parsed = schema.safeParse(given);
  if (!parsed.success) throw zodError(parsed.error, 'options', OptionsError, SCOPE);
  const o = parsed.data;
  const opt =
    typeof o.optimizer === 'string'
      ? { name: o.optimizer }
      : (o.optimizer ?? { name: FIT_DEFAULTS.optimizer });
  const factory = getOptimizer(opt.name);
  if (!factory) {
    const path = typeof o.optimizer === 'string' ? 'options.optimizer' : 'options.optimizer.name';
    throw new OptionsError(
      `${SCOPE}: unknown optimizer (got ${JSON.stringify(opt.name)}; expected one of ${optimizerNames().join(', ')}) → at ${path}. Pick one of them.`,
      { path, got: opt.name },
    );
  }
  const optimizer: ResolvedOptimizer = {
    name: opt.name,
    learningRate: opt.learningRate ?? factory.defaultLearningRate,
  };
  if (typeof o.optimizer === 'object') {
    const given = o.optimizer;
    if (given.schedule !== undefined) {
      const path = 'options.optimizer.schedule';
      const parsed = ScheduleSchema.safeParse(given.schedule);
      if (!parsed.success) throw zodError(parsed.error, path, OptionsError, SCOPE);
      optimizer.schedule = parsed.data;
    }
    if (given.clipNorm !== undefined) optimizer.clipNorm = given.clipNorm;
    if (given.clipValue !== undefined) optimizer.clipValue = given.clipValue;
    if (given.weightDecay !== undefined && factory.defaultWeightDecay === undefined) {
      throw new OptionsError(
        `${SCOPE}: optimizer '${opt.name}' takes no weightDecay (got ${given.weightDecay}) → at options.optimizer.weightDecay. Use optimizer: { name: 'adamw', weightDecay } for decoupled weight decay, or an l2 penalty on the layers.`,
        { path: 'options.optimizer.weightDecay', got: given.weightDecay },
      );
    }
  }
  if (factory.defaultWeightDecay !== undefined) {
    optimizer.weightDecay =
      (typeof o.optimizer === 'object' ? o.optimizer.weightDecay : undefined) ??
      factory.defaultWeightDecay;
  }
  const balance = o.balance ?? FIT_DEFAULTS.balance;
  if (!getBalance(balance)) {
    throw new OptionsError(
      `${SCOPE}: unknown balancing method (got ${JSON.stringify(balance)}; expected one of ${balanceNames().join(', ')}) → at options.balance. Pick one of them.`,
      { path: 'options.balance', got: balance },
    );
  }
  const balanceOptions = resolveBalanceOptions(balance, o.balanceOptions);
  if (o.validationSplit !== undefined && o.validationData !== undefined) {
    throw new OptionsError(
      `${SCOPE}: validationSplit and validationData are both given → at options.validationSplit. Give one of them.`,
      { path: 'options.validationSplit' },
    );
  }
  const validationSplit =
    o.validationSplit === undefined
      ? undefined
      : typeof o.validationSplit === 'number'
        ? { fraction: o.validationSplit, shuffle: false }
        : { fraction: o.validationSplit.fraction, shuffle: o.validationSplit.shuffle ?? false };
  const hasValidation = validationSplit !== undefined || o.validationData !== undefined;
  let earlyStopping: ResolvedFitOptions['earlyStopping'];
  if (o.earlyStopping) {
    const monitor = o.earlyStopping.monitor ?? (hasValidation ? 'val_loss' : 'loss');
    if (monitor === 'val_loss' && !hasValidation) {
      throw new OptionsError(
        `${SCOPE}: earlyStopping monitors val_loss but there is no validation data → at options.earlyStopping.monitor. Add validationSplit or validationData, or monitor 'loss'.`,
        { path: 'options.earlyStopping.monitor', got: monitor },
      );
    }
    earlyStopping = {
      patience: o.earlyStopping.patience,
      monitor,
      minDelta: o.earlyStopping.minDelta ?? FIT_DEFAULTS.earlyStopping.minDelta,
      restoreBestWeights:
        o.earlyStopping.restoreBestWeights ?? FIT_DEFAULTS.earlyStopping.restoreBestWeights,
    };
  }
  let reduceLrOnPlateau: PlateauOptions | undefined;
  if (o.reduceLrOnPlateau) {
    const p = o.reduceLrOnPlateau;
    const monitor = p.monitor ?? (hasValidation ? 'val_loss' : 'loss');
    if (monitor === 'val_loss' && !hasValidation) {
      throw new OptionsError(
        `${SCOPE}: reduceLrOnPlateau monitors val_loss but there is no validation data → at options.reduceLrOnPlateau.monitor. Add validationSplit or validationData, or monitor 'loss'.`,
        { path: 'options.reduceLrOnPlateau.monitor', got: monitor },
      );
    }
    reduceLrOnPlateau = {
      patience: p.patience,
      factor: p.factor ?? 0.1,
      monitor,
      minDelta: p.minDelta ?? 0,
      cooldown: p.cooldown ?? 0,
      minLearningRate: p.minLearningRate ?? 0,
    };
  }
  return {
    epochs: o.epochs ?? FIT_DEFAULTS.epochs,
    batchSize: o.batchSize ?? FIT_DEFAULTS.batchSize,
    seed: o.seed ?? planSeed,
    optimizer,
    reduceLrOnPlateau,
    balance,
    balanceOptions,
    validationSplit,
    validationData: o.validationData,
    earlyStopping,
    metrics: o.metrics ?? FIT_DEFAULTS.metrics,
    metricsEvery: o.metricsEvery ?? FIT_DEFAULTS.metricsEvery,
    onEpochEnd: o.onEpochEnd,
    checkpoint: o.checkpoint
      ? { dir: o.checkpoint.dir, every: o.checkpoint.every ?? 1 }
      : undefined,
    resumeFrom: o.resumeFrom,
    sampleWeight: o.sampleWeight,
    classWeight: o.classWeight,
  };
}

/** Checks `balanceOptions` against the method's schema and fills in its defaults. */
function resolveBalanceOptions(balance: string, given: unknown): Record<string, unknown> {
  const method = getBalance(balance)!;
  const path = 'options.balanceOptions';
  if (given !== undefined && !isPlainObject(given)) {
    throw new OptionsError(
      `${SCOPE}: balanceOptions must be an object of '${balance}' options (got ${show(given)}) → at ${path}. Write e.g. balanceOptions: {}.`,
      { path, got: given },
    );
  }
  const parsed = method.options.safeParse(given ?? {});
  if (!parsed.success) throw zodError(parsed.error, path, OptionsError, SCOPE);
  const values = Object.fromEntries(
    Object.entries(parsed.data as Record<string, unknown>).filter(([, v]) => v !== undefined),
  );
  return { ...method.defaults, ...values };
}
