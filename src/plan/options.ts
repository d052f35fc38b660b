import { z } from 'zod';
import { OptionsError } from '../errors.js';
import {
  DEFAULT_MAX_PARAMS,
  LayerStackSchema,
  findUnsafeKey,
  isPlainObject,
  says,
  type Activation,
} from '../schema/common.js';
import { normaliseInput, zodError } from '../schema/validate.js';
import { InputSchema, MAX_EMBED_BUCKETS, type InputSpec } from '../schema/graph-attributes.js';
import { allStrategies, getStrategy, strategyNames } from './registry.js';

/** A stack of layers with every default filled in. */
export interface LayerStack {
  units: number[];
  activation: Activation;
  dropout: number;
  batchNorm: boolean;
  l2: number;
}

/** The defaults of `plan()`'s common options, visible to callers. */
export const PLAN_DEFAULTS = Object.freeze({
  strategy: 'auto',
  seed: 0,
  trunk: Object.freeze({
    units: Object.freeze([64, 32]),
    activation: 'relu',
    dropout: 0,
    batchNorm: false,
    l2: 0,
  }),
  tower: Object.freeze({
    units: Object.freeze([] as number[]),
    activation: 'relu',
    dropout: 0,
    batchNorm: false,
    l2: 0,
  }),
} as const);

/** Options of `plan(graph, options)` and `compile(graph, options)`. */
export interface PlanOptions {
  /** A registered strategy name (default 'auto'). */
  strategy?: string;
  /** Seed of every random step of planning (Louvain); default 0. */
  seed?: number;
  /** Overrides the graph's `input`. */
  input?: z.input<typeof InputSchema>;
  /** The shared layers (default units [64, 32], relu). Per-task towers of `single`, `soft` and `cross-stitch` copy it. */
  trunk?: z.input<typeof LayerStackSchema>;
  /** Private layers between a task's shared part and its head (default none). */
  tower?: z.input<typeof LayerStackSchema>;
  /**
   * Regression targets' scale, by task id: the head outputs `mean + std * z`, and training
   * compares `z` with the standardised labels `(y - mean) / std`, so tasks of any units train
   * alike while predictions, metrics and saved models stay in the targets' own units. A number
   * applies to every output of the task, a list gives one value per output. `targetScale(graph,
   * data)` computes it from training data.
   */
  targetScale?: Record<string, z.input<typeof TargetScaleSchema>>;
  /**
   * The fitted vocabulary of each embedded column without buckets (`input.embed`): its values in
   * id order (id 0 is the out-of-vocabulary row, the first value gets id 1), as
   * `fitVocabularies(graph, data)` returns them; or `{ ids: rows }` when the data already holds
   * ids in [0, rows) (a CSV preprocessing: `readCsv(...).vocabularies`).
   */
  vocabularies?: Record<string, string[] | { ids: number }>;
  /**
   * Most parameters the plan may have (default 100 million, DEFAULT_MAX_PARAMS): a plan above it is
   * refused with an OptionsError before anything is allocated. Raise it for a larger network.
   */
  maxParams?: number;
  /** Each strategy's own section, e.g. `clustered: { method: 'threshold', threshold: 0.5 }`. */
  [strategySection: string]: unknown;
}

export interface ResolvedPlanOptions {
  strategy: string;
  seed: number;
  input?: InputSpec;
  trunk: LayerStack;
  tower: LayerStack;
  /** Regression targets' scale by task id, as given (checked against the graph's tasks by plan()). */
  targetScale: Record<string, { mean: number | number[]; std: number | number[] }>;
  /** Embedded columns' vocabularies as given (checked against the graph by plan()). */
  vocabularies: Record<string, string[] | { ids: number }>;
  /** Each strategy's own section, parsed (undefined when not given). */
  sections: Record<string, unknown>;
  maxParams: number;
}

const SCOPE = 'mtgraph/plan';

const finite = (what: string) =>
  z
    .number({
      error: says(
        `${what} must be a finite number`,
        `Use e.g. ${what}: ${what === 'std' ? '12.5' : '40'}.`,
      ),
    })
    .refine(Number.isFinite, {
      error: says(
        `${what} must be a finite number`,
        `Use e.g. ${what}: ${what === 'std' ? '12.5' : '40'}.`,
      ),
    });
const positive = finite('std').refine((v) => v > 0, {
  error: says(
    'std must be above 0',
    "Use the targets' standard deviation, e.g. std: 12.5; leave a constant target unscaled.",
  ),
});
/** One regression task's target scale: a number for every output, or one per output. */
export const TargetScaleSchema = z.strictObject(
  {
    mean: z.union([finite('mean'), z.array(finite('mean')).min(1)]),
    std: z.union([positive, z.array(positive).min(1)]),
  },
  { error: says('a target scale must be { mean, std }', 'Use e.g. { mean: 40, std: 12.5 }.') },
);

const commonShape = {
  strategy: z.string().optional(),
  seed: z.int({ error: says('seed must be a whole number', 'Use e.g. seed: 42.') }).optional(),
  input: InputSchema.optional(),
  trunk: LayerStackSchema.optional(),
  tower: LayerStackSchema.optional(),
  targetScale: z.record(z.string(), TargetScaleSchema).optional(),
  vocabularies: z
    .record(
      z.string(),
      z.union(
        [
          z.array(z.string()).max(MAX_EMBED_BUCKETS),
          z.strictObject({ ids: z.int().min(1).max(MAX_EMBED_BUCKETS) }),
        ],
        {
          error: says(
            'a vocabulary must be a list of values or { ids: rows }',
            'Pass fitVocabularies(graph, data), or readCsv(...).vocabularies.',
          ),
        },
      ),
    )
    .optional(),
  maxParams: z
    .int({ error: says('maxParams must be a whole number', 'Use e.g. maxParams: 500000000.') })
    .min(1, { error: says('maxParams must be at least 1', 'Use e.g. maxParams: 500000000.') })
    .max(Number.MAX_SAFE_INTEGER, {
      error: says('maxParams must be a safe integer', 'Use e.g. maxParams: 500000000.'),
    })
    .optional(),
};

export function resolveStack(
  given: z.infer<typeof LayerStackSchema> | undefined,
  defaults: {
    units: readonly number[];
    activation: string;
    dropout: number;
    batchNorm: boolean;
    l2: number;
  },
): LayerStack {
  return {
    units: [...(given?.units ?? defaults.units)],
    activation: (given?.activation ?? defaults.activation) as Activation,
    dropout: given?.dropout ?? defaults.dropout,
    batchNorm: given?.batchNorm ?? defaults.batchNorm,
    l2: given?.l2 ?? defaults.l2,
  };
}

/** Validates plan options against the common schema and every registered strategy's section. */
export function resolvePlanOptions(options: unknown): ResolvedPlanOptions {
  const given = options ?? {};
  if (!isPlainObject(given)) {
    throw new OptionsError(
      `${SCOPE}: options must be an object (got ${typeof given}) → at options. Write e.g. { strategy: 'hard' }.`,
      { path: 'options', got: given },
    );
  }
  const unsafe = findUnsafeKey(given, 'options');
  if (unsafe) {
    throw new OptionsError(
      `${SCOPE}: the key ${JSON.stringify(unsafe.key)} is not allowed → at ${unsafe.path}. Remove it.`,
      { path: unsafe.path, got: unsafe.key },
    );
  }
  const strategy = given.strategy ?? PLAN_DEFAULTS.strategy;
  if (typeof strategy !== 'string' || !getStrategy(strategy)) {
    throw new OptionsError(
      `${SCOPE}: unknown strategy (got ${JSON.stringify(strategy)}; expected one of ${strategyNames().join(', ')}) → at options.strategy. Pick one of them.`,
      { path: 'options.strategy', got: strategy },
    );
  }
  const sectionKeys = new Map(allStrategies().map((s) => [s.optionsKey, s]));
  const known = [...Object.keys(commonShape), ...sectionKeys.keys()];
  for (const key of Object.keys(given)) {
    if (!known.includes(key)) {
      throw new OptionsError(
        `${SCOPE}: unknown option ${JSON.stringify(key)} (expected any of: ${known.join(', ')}) → at options.${key}. Check the spelling or remove it.`,
        { path: `options.${key}`, got: key },
      );
    }
  }
  const commonGiven = Object.fromEntries(Object.entries(given).filter(([k]) => k in commonShape));
  const common = z.strictObject(commonShape).safeParse(commonGiven);
  if (!common.success) throw zodError(common.error, 'options', OptionsError, SCOPE);
  const sections: Record<string, unknown> = {};
  for (const [key, s] of sectionKeys) {
    if (given[key] === undefined) continue;
    const parsed = s.options.safeParse(given[key]);
    if (!parsed.success) throw zodError(parsed.error, `options.${key}`, OptionsError, SCOPE);
    sections[key] = parsed.data;
  }
  const resolved: ResolvedPlanOptions = {
    strategy,
    seed: common.data.seed ?? PLAN_DEFAULTS.seed,
    trunk: resolveStack(common.data.trunk, PLAN_DEFAULTS.trunk),
    tower: resolveStack(common.data.tower, PLAN_DEFAULTS.tower),
    targetScale: common.data.targetScale ?? {},
    vocabularies: common.data.vocabularies ?? {},
    sections,
    maxParams: common.data.maxParams ?? DEFAULT_MAX_PARAMS,
  };
  if (common.data.input !== undefined) {
    const input = normaliseInput(common.data.input);
    if (input) resolved.input = input;
  }
  return resolved;
}
