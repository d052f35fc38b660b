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
}

/**
 * What a graph says about its input: an InputSpec, or only its categorical columns (the
 * features are then every column of the data that is not a target, as without `input`).
 */
export type GraphInputSpec =
  | InputSpec
  | { features?: undefined; columns?: undefined; categorical: string[] };
