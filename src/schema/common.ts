import { z } from 'zod';
import { show } from '../errors.js';

/** Builds a zod error function: `<what> (got X). <fix>`. */
export function says(what: string, fix: string) {
  return (issue: { input?: unknown }) => `${what} (got ${show(issue.input)}). ${fix}`;
}

/** Most outputs one task may declare (classes, labels or regression outputs, as a count or as names). */
export const MAX_TASK_OUTPUTS = 100_000;
/** Most input features a graph (or plan options) may declare. */
export const MAX_INPUT_FEATURES = 1_000_000;
/** Most units one dense layer may have. */
export const MAX_LAYER_UNITS = 100_000;
/** Most layers one stack (trunk, tower, expert, head) may have. */
export const MAX_LAYERS = 100;
/** Most experts of one kind (mmoe experts, ple shared or per-task experts) a plan may ask for. */
export const MAX_EXPERTS = 1024;
/** Most parameters `plan()` accepts unless `options.maxParams` raises it (100 million: 400 MB of float32 weights, 1.2 GB with Adam's state). */
export const DEFAULT_MAX_PARAMS = 100_000_000;
/** Most tasks a list of task ids (clustered groups) may hold. */
export const MAX_TASKS = 100_000;
/** Most entries a short list (metrics of a task) may have. */
export const MAX_LIST_ITEMS = 100;

/** Keys that could reach an object's prototype: refused as ids and attribute names everywhere. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Activations a layer may use (the names of tfjs-layers' activations). */
export const ACTIVATIONS = [
  'relu',
  'relu6',
  'elu',
  'selu',
  'tanh',
  'sigmoid',
  'linear',
  'softplus',
  'softsign',
  'swish',
  'mish',
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export const ActivationSchema = z.enum(ACTIVATIONS, {
  error: says('unknown activation', `Use one of: ${ACTIVATIONS.join(', ')}.`),
});

export const UnitsSchema = z
  .array(
    z
      .int({
        error: says('layer units must be a whole number', 'Use a positive integer such as 32.'),
      })
      .min(1, { error: says('layer units must be positive', 'Use a positive integer such as 32.') })
      .max(MAX_LAYER_UNITS, {
        error: says(
          `layer units must be at most ${MAX_LAYER_UNITS}`,
          'Use a smaller layer, e.g. 256.',
        ),
      }),
    {
      error: says(
        'units must be a list of layer sizes',
        'Write e.g. units: [64, 32] (an empty list means no layer).',
      ),
    },
  )
  .max(MAX_LAYERS, {
    error: says(`a stack may have at most ${MAX_LAYERS} layers`, 'Use fewer, wider layers.'),
  });

/** A stack of dense layers: `units` per layer, one activation, optional dropout and batch norm. */
export const LayerStackSchema = z.strictObject({
  units: UnitsSchema.optional().meta({ description: 'Width of each dense layer, bottom to top.' }),
  activation: ActivationSchema.optional().meta({
    description: 'Activation of every layer (default relu).',
  }),
  dropout: z
    .number({ error: says('dropout must be a number', 'Use a rate in [0, 1), e.g. 0.1.') })
    .min(0, { error: says('dropout must be in [0, 1)', 'Use a rate in [0, 1), e.g. 0.1.') })
    .lt(1, { error: says('dropout must be in [0, 1)', 'Use a rate in [0, 1), e.g. 0.1.') })
    .optional()
    .meta({ description: 'Dropout rate after each layer (default 0).' }),
  batchNorm: z
    .boolean()
    .optional()
    .meta({ description: 'Batch normalisation after each layer (default false).' }),
  l2: z
    .number({ error: says('l2 must be a number', 'Use a weight decay >= 0, e.g. 1e-4.') })
    .min(0, { error: says('l2 must be >= 0', 'Use a weight decay >= 0, e.g. 1e-4.') })
    .refine(Number.isFinite, {
      error: says('l2 must be finite', 'Use a weight decay >= 0, e.g. 1e-4.'),
    })
    .optional()
    .meta({
      description:
        "L2 penalty on each layer's kernel, l2 * sum(W^2), added to the training loss (default 0).",
    }),
});
export type LayerStackInput = z.infer<typeof LayerStackSchema>;

/** Display attributes that graph tools (sigma.js, Gephi, mtgraph's own renderers) read and write. */
export const displayShape = {
  label: z.string().optional().meta({ description: 'Display name.' }),
  description: z.string().optional(),
  color: z.string().optional(),
  size: z.number().optional(),
  x: z.number().optional(),
  y: z.number().optional(),
};

/** True for `{}` literals and `Object.create(null)`: the only attribute containers accepted. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Finds the first own key anywhere inside `value` that could pollute a prototype; returns its path. */
export function findUnsafeKey(
  value: unknown,
  path: string,
  depth = 0,
): { path: string; key: string } | undefined {
  if (depth > 32 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeKey(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (UNSAFE_KEYS.has(key)) return { path: path ? `${path}.${key}` : key, key };
    const found = findUnsafeKey(
      (value as Record<string, unknown>)[key],
      path ? `${path}.${key}` : key,
      depth + 1,
    );
    if (found) return found;
  }
  return undefined;
}

/** Joins a base path and a zod issue path into `tasks.a.head.units[0]`. */
export function joinPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** A refinement for name lists: every name once. The error names the first repeated one. */
export function uniqueNames(what: string) {
  return [
    (names: string[]) => new Set(names).size === names.length,
    {
      error: (issue: { input?: unknown }) => {
        const names = Array.isArray(issue.input) ? (issue.input as string[]) : [];
        const repeated = names.find((n, i) => names.indexOf(n) !== i);
        return `${what} must be unique (got ${JSON.stringify(repeated)} twice). Remove the repeated name.`;
      },
    },
  ] as const;
}
