import { z } from 'zod';
import { MAX_INPUT_FEATURES, says, uniqueNames } from './common.js';
import { unknownKeyError } from './kinds/define.js';

const inputFix =
  'Write input: 10, input: { features: 10 } or input: { columns: ["age", "income"] }.';
const featureCount = z
  .int({ error: says('input features must be a whole number', inputFix) })
  .min(1, { error: says('input features must be at least 1', inputFix) })
  .max(MAX_INPUT_FEATURES, {
    error: says(
      `input features must be at most ${MAX_INPUT_FEATURES}`,
      'Reduce the features first (e.g. hashing or PCA).',
    ),
  });
const columns = z
  .array(z.string().min(1, { error: says('a column name must not be empty', inputFix) }), {
    error: says('input columns must be a list of names', inputFix),
  })
  .min(1, { error: says('input columns must name at least one column', inputFix) })
  .max(MAX_INPUT_FEATURES, {
    error: says(
      `input columns must be at most ${MAX_INPUT_FEATURES}`,
      'Reduce the features first (e.g. hashing or PCA).',
    ),
  })
  .refine(...uniqueNames('input column names'))
  .meta({ uniqueItems: true });

/** Widest embedding one column may have. */
export const MAX_EMBED_DIM = 4096;
/** Most hash buckets one column may have (2^24: every id is exact in float32). */
export const MAX_EMBED_BUCKETS = 16_777_216;
const embedFix =
  'Write embed: { city: 8 } (the dimension) or embed: { city: { dim: 8, buckets: 1000, minCount: 5 } }.';
const embedDim = z
  .int({ error: says('an embedding dimension must be a whole number', embedFix) })
  .min(1, { error: says('an embedding dimension must be at least 1', embedFix) })
  .max(MAX_EMBED_DIM, {
    error: says(
      `an embedding dimension must be at most ${MAX_EMBED_DIM}`,
      'Use a smaller dim (4 to 64 is usual).',
    ),
  });
const minCountSchema = z
  .int({ error: says('minCount must be a whole number', 'Use e.g. minCount: 5.') })
  .min(1, { error: says('minCount must be at least 1', 'Use minCount: 1 to keep every value.') })
  .max(1_000_000_000, { error: says('minCount is too large', 'Use e.g. minCount: 5.') });
const embedShape = {
  dim: embedDim.meta({ description: 'Width of the embedding vectors.' }),
  buckets: z
    .int({ error: says('buckets must be a whole number', embedFix) })
    .min(1, { error: says('buckets must be at least 1', embedFix) })
    .max(MAX_EMBED_BUCKETS, {
      error: says(
        `buckets must be at most ${MAX_EMBED_BUCKETS}`,
        'Use fewer buckets (collisions are cheap; tables are dim x buckets parameters).',
      ),
    })
    .optional()
    .meta({
      description:
        'Hash the values into this many rows (an open vocabulary: no vocabulary is fitted).',
    }),
  minCount: minCountSchema.optional().meta({
    description:
      'Values seen fewer times in the training data fold into the out-of-vocabulary row (default: input.minCount, else 1).',
  }),
};
/** One embedded column: its dimension, or { dim, buckets?, minCount? }. */
export const EmbedColumnSchema = z.union(
  [
    embedDim,
    z.strictObject(embedShape, {
      error: unknownKeyError('input.embed column', Object.keys(embedShape)),
    }),
  ],
  {
    error: says('an embedded column must be a dimension or { dim, buckets?, minCount? }', embedFix),
  },
);

const inputObjectShape = {
  features: featureCount.optional().meta({ description: 'Number of input features.' }),
  columns: columns.optional().meta({ description: 'Names of the feature columns, in order.' }),
  categorical: z
    .array(z.string().min(1))
    .max(MAX_INPUT_FEATURES, {
      error: says(
        `input categorical must be at most ${MAX_INPUT_FEATURES} columns`,
        'Name each categorical column once.',
      ),
    })
    .optional()
    .meta({ description: 'Feature columns to encode as categories.' }),
  embed: z
    .record(
      z.string().min(1, { error: says('an embedded column name must not be empty', embedFix) }),
      EmbedColumnSchema,
      { error: says('input embed must map column names to embeddings', embedFix) },
    )
    .optional()
    .meta({
      description:
        'Categorical columns looked up in trainable embedding tables shared by all tasks: a dimension, or { dim, buckets?, minCount? }.',
    }),
  minCount: minCountSchema.optional().meta({
    description:
      'Default minCount of every embedded column: values seen fewer times fold into the out-of-vocabulary row (default 1).',
  }),
};
export const InputSchema = z
  .union(
    [
      featureCount,
      z.strictObject(inputObjectShape, {
        error: unknownKeyError('input', Object.keys(inputObjectShape)),
      }),
    ],
    { error: says('input must be a feature count or an object', inputFix) },
  )
  .meta({ description: 'The features every task reads: a count, or named columns.' });
export type InputAttributes = z.infer<typeof InputSchema>;

const shape = {
  name: z.string().optional().meta({ description: 'Short name of the task family.' }),
  description: z
    .string()
    .optional()
    .meta({ description: 'What the tasks are and where the affinities come from.' }),
  input: InputSchema.optional(),
};

/** Graph-level attributes. */
export const GraphAttributesSchema = z
  .strictObject(shape, { error: unknownKeyError('graph', Object.keys(shape)) })
  .meta({ title: 'Task graph attributes' });
export type GraphAttributes = z.infer<typeof GraphAttributesSchema>;

/** The input in one normalised form: a feature count, with column names when known. */
export interface InputSpec {
  features: number;
  columns?: string[];
  categorical?: string[];
  /** Embedded columns, normalised: dimension, hash buckets (open vocabulary) and minCount. */
  embed?: Record<string, EmbedSpec>;
}

/** One embedded column, normalised. */
export interface EmbedSpec {
  dim: number;
  /** Hash the values into this many rows; absent: a vocabulary fitted from the training data. */
  buckets?: number;
  /** Values seen fewer times fold into the out-of-vocabulary row (1 keeps every value). */
  minCount: number;
}

/**
 * What a graph says about its input: an InputSpec, or only its categorical columns (the
 * features are then every column of the data that is not a target, as without `input`).
 */
export type GraphInputSpec =
  | InputSpec
  | {
      features?: undefined;
      columns?: undefined;
      categorical?: string[];
      embed?: Record<string, EmbedSpec>;
    };
