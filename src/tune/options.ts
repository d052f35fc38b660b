import { z } from 'zod';
import { OptionsError, show } from '../errors.js';
import { cpuSeconds } from '../platform/index.js';
import { isPlainObject, says } from '../schema/common.js';
import { zodError } from '../schema/validate.js';
import type { GraphSpec } from '../schema/validate.js';
import type { TaskData } from '../data/types.js';
import { TUNE_DEFAULTS } from './defaults.js';
import type { TuneObjective } from './scoring.js';
import { getSearchSpace, searchSpaceNames } from './space.js';
import type { TuneProgress } from './types.js';

export const SCOPE = 'mtgraph/tune';

/** Options of `tune`; every one is optional (defaults in TUNE_DEFAULTS). */
export interface TuneOptions {
  /** Search spaces to try, by name (default: single, hard, clustered, soft; mmoe with more than 3 tasks; learned with 3 to 12 tasks). */
  strategies?: string[];
  /**
   * Stop after this many trials (training runs), seconds of wall time, or seconds of this
   * process's CPU time, whichever comes first (default 30 trials). `cpuSeconds` counts only the
   * work of this process (on a machine shared with other jobs, the same budget buys the same
   * training whatever the load); it needs a host with a process CPU clock (Node).
   */
  budget?: { trials?: number; seconds?: number; cpuSeconds?: number };
  /** Seed of the sampling, of the validation hold-out and of every trial's initialisation and shuffling (default 0). */
  seed?: number;
  /** Share of each task's labelled rows held out for scoring (default 0.2); not with validationData. */
  validationSplit?: number;
  /** Separate validation data (same form as the training data): the trials are scored on it. */
  validationData?: TaskData;
  /** How trials are compared (default 'mean-rank'). A function gets each trial's scores and returns a number, higher is better. */
  objective?: TuneObjective;
  /** Successive halving: rung k trains up to minEpochs * eta^k epochs, capped at maxEpochs (defaults 3, 3, 81). */
  schedule?: { minEpochs?: number; eta?: number; maxEpochs?: number };
  /** Early stopping patience inside a trial, at most a third of its epochs (default 5). */
  patience?: number;
  /** Plan options every candidate starts from (e.g. targetScale, input, trunk.activation); a candidate's own settings win. */
  planOptions?: Record<string, unknown>;
  /** Fit options every trial starts from (e.g. batchSize, balanceOptions); a candidate's own settings win. */
  fitOptions?: Record<string, unknown>;
  /**
   * Rounds of ensemble selection after the search (default 0: none): each round adds, with
   * replacement, the trial (of the best ENSEMBLE_POOL) whose validation predictions most improve
   * the running mean's score; the result's `ensemble` lists the chosen trials and weights. E.g. 10.
   */
  ensemble?: number;
  /** Called after every trial with the trial and the best so far. */
  onTrial?: (progress: TuneProgress) => void | Promise<void>;
}

export interface ResolvedTuneOptions {
  strategies: string[];
  budget: { trials: number; seconds: number; cpuSeconds: number };
  seed: number;
  validationSplit: number;
  validationData: TaskData | undefined;
  objective: TuneObjective;
  schedule: { minEpochs: number; eta: number; maxEpochs: number };
  patience: number;
  ensemble: number;
  planOptions: Record<string, unknown>;
  fitOptions: Record<string, unknown>;
  onTrial: TuneOptions['onTrial'];
}

/** Fit options tune decides itself (a trial's epochs, its validation data and early stopping). */
const TUNE_OWNED_FIT = [
  'epochs',
  'validationSplit',
  'validationData',
  'earlyStopping',
  'onEpochEnd',
  'checkpoint',
  'resumeFrom',
  'seed',
];
/** Plan options tune decides itself. */
const TUNE_OWNED_PLAN = ['strategy', 'seed'];

const whole = (what: string, min: number, example: string) =>
  z
    .int({ error: says(`${what} must be a whole number`, `Use e.g. ${example}.`) })
    .min(min, { error: says(`${what} must be at least ${min}`, `Use e.g. ${example}.`) });

const schema = z.strictObject({
  strategies: z
    .array(z.string({ error: says('a strategy must be a name', "Use e.g. 'soft'.") }), {
      error: says('strategies must be a list of names', "Write e.g. strategies: ['hard', 'soft']."),
    })
    .min(1, {
      error: says('strategies must not be empty', "Write e.g. strategies: ['hard', 'soft']."),
    })
    .optional(),
  budget: z
    .strictObject(
      {
        trials: whole('budget.trials', 1, 'trials: 20').optional(),
        seconds: z
          .number({ error: says('budget.seconds must be a number', 'Use e.g. seconds: 600.') })
          .positive({ error: says('budget.seconds must be positive', 'Use e.g. seconds: 600.') })
          .optional(),
        cpuSeconds: z
          .number({
            error: says('budget.cpuSeconds must be a number', 'Use e.g. cpuSeconds: 600.'),
          })
          .positive({
            error: says('budget.cpuSeconds must be positive', 'Use e.g. cpuSeconds: 600.'),
          })
          .optional(),
      },
      {
        error: says(
          'budget must be { trials?, seconds?, cpuSeconds? }',
          'Write e.g. budget: { trials: 20, seconds: 600 }.',
        ),
      },
    )
    .optional(),
  seed: z.int({ error: says('seed must be a whole number', 'Use e.g. seed: 42.') }).optional(),
  validationSplit: z
    .number({
      error: says('validationSplit must be a number', 'Use a fraction in (0, 1), e.g. 0.2.'),
    })
    .gt(0, { error: says('validationSplit must be in (0, 1)', 'Use e.g. 0.2.') })
    .lt(1, { error: says('validationSplit must be in (0, 1)', 'Use e.g. 0.2.') })
    .optional(),
  validationData: z.unknown().optional(),
  objective: z
    .union(
      [
        z.enum(['mean-rank', 'mean']),
        z.custom<(s: unknown) => number>((v) => typeof v === 'function'),
      ],
      {
        error: says(
          "objective must be 'mean-rank', 'mean' or a function",
          'Write e.g. objective: (s) => s.tasks.price (higher is better).',
        ),
      },
    )
    .optional(),
  schedule: z
    .strictObject(
      {
        minEpochs: whole('schedule.minEpochs', 1, 'minEpochs: 3').optional(),
        eta: whole('schedule.eta', 2, 'eta: 3').optional(),
        maxEpochs: whole('schedule.maxEpochs', 1, 'maxEpochs: 81').optional(),
      },
      {
        error: says(
          'schedule must be { minEpochs?, eta?, maxEpochs? }',
          'Write e.g. schedule: { minEpochs: 3, eta: 3, maxEpochs: 81 }.',
        ),
      },
    )
    .optional(),
  patience: whole('patience', 0, 'patience: 5').optional(),
  ensemble: whole('ensemble', 0, 'ensemble: 10')
    .max(1000, { error: says('ensemble must be at most 1000', 'Use e.g. ensemble: 10.') })
    .optional(),
  planOptions: z
    .record(z.string(), z.unknown(), {
      error: says(
        'planOptions must be an object',
        "Write e.g. planOptions: { trunk: { activation: 'tanh' } }.",
      ),
    })
    .optional(),
  fitOptions: z
    .record(z.string(), z.unknown(), {
      error: says('fitOptions must be an object', 'Write e.g. fitOptions: { batchSize: 64 }.'),
    })
    .optional(),
  onTrial: z
    .custom<NonNullable<TuneOptions['onTrial']>>((v) => typeof v === 'function', {
      error: says('onTrial must be a function', 'Pass (progress) => { ... }.'),
    })
    .optional(),
});

/** Validates tune's options against the graph and fills in the defaults. */
export function resolveTuneOptions(options: unknown, spec: GraphSpec): ResolvedTuneOptions {
  const given = options ?? {};
  if (!isPlainObject(given)) {
    throw new OptionsError(
      `${SCOPE}: options must be an object (got ${show(given)}) → at options. Write e.g. { budget: { trials: 20 } }.`,
      { path: 'options', got: given },
    );
  }
  const parsed = schema.safeParse(given);
  if (!parsed.success) throw zodError(parsed.error, 'options', OptionsError, SCOPE);
  const o = parsed.data;
  const strategies = o.strategies
    ? [...new Set(o.strategies)]
    : [
        ...TUNE_DEFAULTS.strategies,
        ...searchSpaceNames().filter(
          (n) => !TUNE_DEFAULTS.strategies.includes(n) && getSearchSpace(n)!.byDefault?.(spec),
        ),
      ];
  strategies.forEach((name, i) => {
    if (!getSearchSpace(name)) {
      throw new OptionsError(
        `${SCOPE}: unknown strategy (got ${JSON.stringify(name)}; expected one of ${searchSpaceNames().join(', ')}) → at options.strategies[${i}]. Pick registered search spaces, or add one with registerSearchSpace.`,
        { path: `options.strategies[${i}]`, got: name },
      );
    }
  });
  for (const [key, owned] of [
    ['fitOptions', TUNE_OWNED_FIT],
    ['planOptions', TUNE_OWNED_PLAN],
  ] as const) {
    const base = (o[key] ?? {}) as Record<string, unknown>;
    for (const k of owned) {
      if (Object.hasOwn(base, k)) {
        throw new OptionsError(
          `${SCOPE}: ${key}.${k} is decided by tune (got ${show(base[k])}) → at options.${key}.${k}. Remove it: ${k === 'seed' ? 'use options.seed' : k === 'validationData' || k === 'validationSplit' ? `use options.${k}` : 'tune sets it for every trial'}.`,
          { path: `options.${key}.${k}`, got: base[k] },
        );
      }
    }
  }
  if (o.validationSplit !== undefined && o.validationData !== undefined) {
    throw new OptionsError(
      `${SCOPE}: validationSplit and validationData are both given → at options.validationSplit. Give one of them.`,
      { path: 'options.validationSplit' },
    );
  }
  const schedule = { ...TUNE_DEFAULTS.schedule, ...o.schedule };
  if (schedule.minEpochs > schedule.maxEpochs) {
    throw new OptionsError(
      `${SCOPE}: schedule.minEpochs is above schedule.maxEpochs (got ${schedule.minEpochs} > ${schedule.maxEpochs}) → at options.schedule.minEpochs. Lower minEpochs or raise maxEpochs.`,
      { path: 'options.schedule.minEpochs', got: schedule.minEpochs },
    );
  }
  if (o.budget?.cpuSeconds !== undefined && cpuSeconds() === undefined) {
    throw new OptionsError(
      `${SCOPE}: budget.cpuSeconds needs the process's CPU clock, which this host does not have (got cpuSeconds: ${o.budget.cpuSeconds}; expected Node) → at options.budget.cpuSeconds. Use budget.seconds (wall time) here.`,
      { path: 'options.budget.cpuSeconds', got: o.budget.cpuSeconds },
    );
  }
  const timed = o.budget?.seconds !== undefined || o.budget?.cpuSeconds !== undefined;
  return {
    strategies,
    budget: {
      trials: o.budget?.trials ?? (timed ? Infinity : TUNE_DEFAULTS.budget.trials),
      seconds: o.budget?.seconds ?? TUNE_DEFAULTS.budget.seconds,
      cpuSeconds: o.budget?.cpuSeconds ?? TUNE_DEFAULTS.budget.cpuSeconds,
    },
    seed: o.seed ?? TUNE_DEFAULTS.seed,
    validationSplit: o.validationSplit ?? TUNE_DEFAULTS.validationSplit,
    validationData: o.validationData as TaskData | undefined,
    objective: (o.objective ?? TUNE_DEFAULTS.objective) as TuneObjective,
    schedule,
    patience: o.patience ?? TUNE_DEFAULTS.patience,
    ensemble: o.ensemble ?? TUNE_DEFAULTS.ensemble,
    planOptions: (o.planOptions ?? {}) as Record<string, unknown>,
    fitOptions: (o.fitOptions ?? {}) as Record<string, unknown>,
    onTrial: o.onTrial,
  };
}
