import { z } from 'zod';
import {
  ACTIVATIONS,
  MAX_INPUT_FEATURES,
  MAX_LAYERS,
  MAX_LAYER_UNITS,
  MAX_TASK_OUTPUTS,
} from '../schema/common.js';
import { PlanError, show } from '../errors.js';
import { isPlainObject, findUnsafeKey } from '../schema/common.js';
import { parseJsonText, zodError } from '../schema/validate.js';
import { PLAN_VERSION, type Plan } from './types.js';
import { MAX_EMBED_BUCKETS, MAX_EMBED_DIM } from '../schema/graph-attributes.js';

const layer = z.strictObject({
  units: z.int().min(1).max(MAX_LAYER_UNITS),
  activation: z.enum(ACTIVATIONS),
  dropout: z.number().min(0).lt(1),
  batchNorm: z.boolean(),
  l2: z.number().min(0).refine(Number.isFinite).optional(),
});
const pair = z.tuple([z.string(), z.string(), z.number().min(-1).max(1)]);

/** zod schema of a version-1 Plan (used to read plan.json back). */
export const PlanSchema = z.strictObject({
  version: z.literal(PLAN_VERSION),
  strategy: z.string(),
  requested: z.string(),
  seed: z.int(),
  name: z.string().optional(),
  input: z.strictObject({
    features: z.int().min(1).max(MAX_INPUT_FEATURES),
    columns: z.array(z.string()).optional(),
    categorical: z.array(z.string()).optional(),
    embed: z
      .record(
        z.string(),
        z.strictObject({
          dim: z.int().min(1).max(MAX_EMBED_DIM),
          buckets: z.int().min(1).max(MAX_EMBED_BUCKETS).optional(),
          minCount: z.int().min(1),
        }),
      )
      .optional(),
  }),
  embeddings: z
    .array(
      z.strictObject({
        column: z.string().min(1),
        index: z.int().min(0),
        dim: z.int().min(1).max(MAX_EMBED_DIM),
        rows: z
          .int()
          .min(1)
          .max(MAX_EMBED_BUCKETS + 1),
        lookup: z.enum(['vocabulary', 'hash', 'ids']),
        vocabulary: z.array(z.string()).optional(),
        buckets: z.int().min(1).max(MAX_EMBED_BUCKETS).optional(),
        minCount: z.int().min(1).optional(),
      }),
    )
    .optional(),
  tasks: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        kind: z.enum(['regression', 'binary', 'multiclass', 'multilabel']),
        outputs: z.int().min(1),
        outputNames: z.array(z.string()),
        loss: z.string(),
        lossOptions: z.record(z.string(), z.number()).optional(),
        condition: z.string().optional(),
        reads: z.array(z.string()).optional(),
        readsStopGradient: z.boolean().optional(),
        inputs: z.array(z.string()).optional(),
        inputColumns: z.array(z.int().min(0)).optional(),
        inputsOnly: z.boolean().optional(),
        weight: z.number().min(0),
        target: z.array(z.string()),
        metrics: z.array(z.string()),
      }),
    )
    .min(1),
  blocks: z.array(
    z.strictObject({
      id: z.string(),
      parent: z.string().nullable(),
      tasks: z.array(z.string()),
      layers: z.array(layer).max(MAX_LAYERS),
      role: z.enum(['shared', 'expert']),
    }),
  ),
  towers: z.record(
    z.string(),
    z.strictObject({ parent: z.string().nullable(), layers: z.array(layer).max(MAX_LAYERS) }),
  ),
  heads: z.record(
    z.string(),
    z.strictObject({
      units: z.int().min(1).max(MAX_TASK_OUTPUTS),
      activation: z.enum(['linear', 'sigmoid', 'softmax']),
      loss: z.string(),
      scale: z
        .strictObject({
          mean: z.array(z.number().refine(Number.isFinite)),
          std: z.array(z.number().refine((v) => Number.isFinite(v) && v > 0)),
        })
        .optional(),
    }),
  ),
  couplings: z.array(
    z.discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('laplacian'),
        layer: z.union([z.int().min(0), z.literal('head')]),
        strength: z.number().min(0),
        pairs: z.array(pair),
      }),
      z.strictObject({
        kind: z.literal('cross-stitch'),
        after: z.int().min(0),
        tasks: z.array(z.string()),
        alpha: z.array(z.array(z.number())),
      }),
    ]),
  ),
  gates: z.array(
    z.strictObject({
      id: z.string(),
      task: z.string().nullable(),
      parent: z.string().nullable(),
      experts: z.array(z.string()).min(1),
    }),
  ),
  groups: z.array(z.array(z.string())).optional(),
  params: z.strictObject({
    total: z.int(),
    embeddings: z.record(z.string(), z.int()).optional(),
    blocks: z.record(z.string(), z.int()),
    towers: z.record(z.string(), z.int()),
    heads: z.record(z.string(), z.int()),
    gates: z.record(z.string(), z.int()),
    couplings: z.int(),
  }),
  notes: z.array(z.string()),
});

/** Reads a Plan from parsed JSON or from JSON text, refusing unknown versions and malformed content. */
export function parsePlan(value: unknown): Plan {
  if (typeof value === 'string') value = parseJsonText(value, 'a plan', PlanError, 'mtgraph/plan');
  if (!isPlainObject(value))
    throw new PlanError(`mtgraph/plan: a plan must be an object (got ${show(value)}).`, {
      path: '',
      got: value,
    });
  const unsafe = findUnsafeKey(value, 'plan');
  if (unsafe)
    throw new PlanError(
      `mtgraph/plan: the key ${JSON.stringify(unsafe.key)} is not allowed → at ${unsafe.path}. The file was tampered with or is not a plan.`,
      { path: unsafe.path },
    );
  if (value.version !== PLAN_VERSION) {
    throw new PlanError(
      `mtgraph/plan: unknown plan version (got ${show(value.version)}; expected ${PLAN_VERSION}) → at plan.version. Re-create the plan with this version of mtgraph.`,
      { path: 'plan.version', got: value.version },
    );
  }
  const result = PlanSchema.safeParse(value);
  if (!result.success) throw zodError(result.error, 'plan', PlanError, 'mtgraph/plan');
  return result.data as Plan;
}
