import { z } from 'zod';
import { OptionsError, show } from '../errors.js';
import { isPlainObject, says } from '../schema/common.js';
import { zodError } from '../schema/validate.js';
import type { MtgraphModel } from '../network/types.js';
import type { PlanOptions } from '../plan/options.js';
import { getOptimizer, optimizerNames } from '../train/optimizers.js';
import { AFFINITY_DEFAULTS } from './defaults.js';
import { affinityMethodNames, getAffinityMethod } from './registry.js';

const SCOPE = 'mtgraph/measureAffinity';

/** Options of `measureAffinity`; every one is optional (defaults in AFFINITY_DEFAULTS). */
export interface MeasureAffinityOptions {
  /** 'lookahead' (default), 'gradient-cosine' or 'label-correlation' (any registered method). */
  method?: string;
  /** Drop learned edges with |weight| below this, in [0, 1] (default 0: keep every measured pair). */
  threshold?: number;
  /** Seed of the model's initialisation (when built here) and of the batch order (default 0). */
  seed?: number;
  /** label-correlation: fewest rows labelled for both tasks before a pair gets an edge (default 10). */
  minRows?: number;
  /** lookahead / gradient-cosine: joint training steps, warm-up included (default 50). */
  steps?: number;
  /** Joint steps before the first measurement (default 10, or half of `steps` when fewer). */
  warmup?: number;
  /** Measure at every n-th step after the warm-up (default 1). */
  measureEvery?: number;
  /** Rows per step (default 32). */
  batchSize?: number;
  /** lookahead: learning rate of the SGD lookahead step on the shared parameters (default 0.01). */
  lookaheadRate?: number;
  /** Optimizer of the joint steps: a name or { name, learningRate } (default adam, 0.01). */
  optimizer?: string | { name: string; learningRate?: number };
  /** lookahead: 'self' (default) divides Z(i->j) by task j's own gain Z(j->j); 'max' divides by the largest |Z|. */
  scale?: 'self' | 'max';
  /** Plan options of the model built for measuring (default { strategy: 'hard' }); not with `model`. */
  plan?: PlanOptions;
  /** Measure on this model instead of building one (it is trained in place for `steps` steps). */
  model?: MtgraphModel;
}

export interface ResolvedAffinityOptions {
  method: string;
  threshold: number;
  seed: number;
  minRows: number;
  steps: number;
  warmup: number;
  measureEvery: number;
  batchSize: number;
  lookaheadRate: number;
  optimizer: { name: string; learningRate: number };
  scale: 'self' | 'max';
  plan: PlanOptions;
  model: MtgraphModel | undefined;
  /** The options the caller gave (keys only), to refuse the ones the method does not read. */
  given: string[];
}

const whole = (what: string, min: number, example: string) =>
  z
    .int({ error: says(`${what} must be a whole number`, `Use e.g. ${example}.`) })
    .min(min, { error: says(`${what} must be at least ${min}`, `Use e.g. ${example}.`) });
const positive = (what: string, example: string) =>
  z
    .number({ error: says(`${what} must be a number`, `Use e.g. ${example}.`) })
    .positive({ error: says(`${what} must be positive`, `Use e.g. ${example}.`) });

const schema = z.strictObject({
  method: z
    .string({
      error: (issue) =>
        says('method must be a name', `Use one of: ${affinityMethodNames().join(', ')}.`)(issue),
    })
    .optional(),
  threshold: z
    .number({ error: says('threshold must be a number', 'Use a weight in [0, 1], e.g. 0.1.') })
    .min(0, { error: says('threshold must be in [0, 1]', 'Use a weight in [0, 1], e.g. 0.1.') })
    .max(1, { error: says('threshold must be in [0, 1]', 'Use a weight in [0, 1], e.g. 0.1.') })
    .optional(),
  seed: z.int({ error: says('seed must be a whole number', 'Use e.g. seed: 42.') }).optional(),
  minRows: whole('minRows', 2, 'minRows: 10').optional(),
  steps: whole('steps', 1, 'steps: 50').optional(),
  warmup: whole('warmup', 0, 'warmup: 10').optional(),
  measureEvery: whole('measureEvery', 1, 'measureEvery: 1').optional(),
  batchSize: whole('batchSize', 1, 'batchSize: 32').optional(),
  lookaheadRate: positive('lookaheadRate', 'lookaheadRate: 0.01').optional(),
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
          learningRate: positive('learningRate', 'learningRate: 0.01').optional(),
        }),
      ],
      {
        error: says(
          'optimizer must be a name or { name, learningRate }',
          "Write e.g. optimizer: { name: 'adam', learningRate: 0.01 }.",
        ),
      },
    )
    .optional(),
  scale: z
    .enum(['self', 'max'], { error: says('unknown scale', "Use 'self' or 'max'.") })
    .optional(),
  plan: z
    .custom<PlanOptions>((v) => isPlainObject(v), {
      error: says(
        'plan must be plan options',
        "Write e.g. plan: { strategy: 'hard', trunk: { units: [32] } }.",
      ),
    })
    .optional(),
  model: z
    .custom<MtgraphModel>(
      (v) => {
        const m = v as Partial<MtgraphModel> | null;
        return (
          m !== null &&
          typeof m === 'object' &&
          typeof m.model?.apply === 'function' &&
          Array.isArray(m.plan?.tasks) &&
          m.outputIndex instanceof Map
        );
      },
      {
        error: says(
          'model must be what compile(graph, options) or build(plan) returns',
          'Build it first: const model = compile(graph, options).',
        ),
      },
    )
    .optional(),
});

/** Validates measureAffinity options, fills the defaults and refuses options the chosen method does not read. */
export function resolveAffinityOptions(options: unknown): ResolvedAffinityOptions {
  const given = options ?? {};
  if (!isPlainObject(given)) {
    throw new OptionsError(
      `${SCOPE}: options must be an object (got ${show(given)}) → at options. Write e.g. { method: 'lookahead' }.`,
      { path: 'options', got: given },
    );
  }
  const parsed = schema.safeParse(given);
  if (!parsed.success) throw zodError(parsed.error, 'options', OptionsError, SCOPE);
  const o = parsed.data;
  const method = o.method ?? AFFINITY_DEFAULTS.method;
  const entry = getAffinityMethod(method);
  if (!entry) {
    throw new OptionsError(
      `${SCOPE}: unknown method (got ${JSON.stringify(method)}; expected one of ${affinityMethodNames().join(', ')}) → at options.method. Pick one of them.`,
      { path: 'options.method', got: method },
    );
  }
  const keys = Object.keys(given).filter((k) => given[k] !== undefined);
  const common = new Set(['method', 'threshold', 'seed']);
  for (const key of keys) {
    if (!common.has(key) && !entry.optionKeys.includes(key)) {
      const readers = affinityMethodNames().filter((n) =>
        getAffinityMethod(n)!.optionKeys.includes(key),
      );
      throw new OptionsError(
        `${SCOPE}: option ${JSON.stringify(key)} does not apply to method '${method}' (it is read by ${readers.map((r) => `'${r}'`).join(', ')}) → at options.${key}. Remove it, or choose one of those methods.`,
        { path: `options.${key}`, got: key },
      );
    }
  }
  const opt =
    typeof o.optimizer === 'string'
      ? { name: o.optimizer }
      : (o.optimizer ?? AFFINITY_DEFAULTS.optimizer);
  if (!getOptimizer(opt.name)) {
    const path = typeof o.optimizer === 'string' ? 'options.optimizer' : 'options.optimizer.name';
    throw new OptionsError(
      `${SCOPE}: unknown optimizer (got ${JSON.stringify(opt.name)}; expected one of ${optimizerNames().join(', ')}) → at ${path}. Pick one of them.`,
      { path, got: opt.name },
    );
  }
  if (o.plan !== undefined && o.model !== undefined) {
    throw new OptionsError(
      `${SCOPE}: plan and model are both given → at options.plan. Give plan options to build a model here, or a built model, not both.`,
      { path: 'options.plan' },
    );
  }
  const steps = o.steps ?? AFFINITY_DEFAULTS.steps;
  const warmup = o.warmup ?? Math.min(AFFINITY_DEFAULTS.warmup, Math.floor(steps / 2));
  if (warmup >= steps) {
    throw new OptionsError(
      `${SCOPE}: warmup ${warmup} leaves no step to measure out of steps ${steps} → at options.warmup. Use a warmup below steps.`,
      { path: 'options.warmup', got: warmup },
    );
  }
  return {
    method,
    threshold: o.threshold ?? AFFINITY_DEFAULTS.threshold,
    seed: o.seed ?? AFFINITY_DEFAULTS.seed,
    minRows: o.minRows ?? AFFINITY_DEFAULTS.minRows,
    steps,
    warmup,
    measureEvery: o.measureEvery ?? AFFINITY_DEFAULTS.measureEvery,
    batchSize: o.batchSize ?? AFFINITY_DEFAULTS.batchSize,
    lookaheadRate: o.lookaheadRate ?? AFFINITY_DEFAULTS.lookaheadRate,
    optimizer: {
      name: opt.name,
      learningRate:
        opt.learningRate ??
        (o.optimizer === undefined
          ? AFFINITY_DEFAULTS.optimizer.learningRate
          : getOptimizer(opt.name)!.defaultLearningRate),
    },
    scale: o.scale ?? AFFINITY_DEFAULTS.scale,
    plan: o.plan ?? { ...AFFINITY_DEFAULTS.plan },
    model: o.model,
    given: keys,
  };
}
