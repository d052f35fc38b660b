/**
 * Options of the pictures: one zod schema per entry point (validated once, at the call), one
 * frozen defaults object per picture, merged by `resolveOptions`.
 */
import { z } from 'zod';
import { OptionsError } from '../errors.js';
import { findUnsafeKey, isPlainObject, says } from '../schema/common.js';
import { zodError } from '../schema/validate.js';

export const SCOPE = 'mtgraph/viz';

/** Computes a node's size value from its id and attributes (for `sizeBy`). */
export type SizeFunction = (task: string, attributes: Record<string, unknown>) => number;

const positive = (what: string) =>
  z
    .number({ error: says(`${what} must be a number`, 'Use a positive number.') })
    .positive({ error: says(`${what} must be positive`, 'Use a positive number.') });
const range = (what: string) =>
  z
    .tuple([positive(what), positive(what)], {
      error: says(`${what} must be [min, max]`, `Write e.g. ${what}: [2, 12].`),
    })
    .refine((r) => r[0] <= r[1], { error: `${what}: min must not exceed max. Write [min, max].` });
const auto = <T extends z.ZodType>(schema: T) => z.union([z.literal('auto'), schema]);

const ForceAtlas2SettingsSchema = z.strictObject({
  linLogMode: z.boolean().optional(),
  outboundAttractionDistribution: z.boolean().optional(),
  adjustSizes: z.boolean().optional(),
  edgeWeightInfluence: z.number().optional(),
  scalingRatio: z.number().positive().optional(),
  strongGravityMode: z.boolean().optional(),
  gravity: z.number().min(0).optional(),
  slowDown: z.number().positive().optional(),
  barnesHutTheta: z.number().positive().optional(),
});

export const layoutShape = {
  seed: z
    .int({ error: says('seed must be a whole number', 'Use e.g. seed: 42.') })
    .optional()
    .meta({
      description:
        'Seed of the initial positions (and of Louvain grouping): the same seed gives the same picture. Default 0.',
    }),
  iterations: auto(z.int().min(1).max(100_000)).optional().meta({
    description:
      "ForceAtlas2 iterations; 'auto' (default) scales them down with the graph so the layout takes bounded time.",
  }),
  barnesHut: auto(z.boolean()).optional().meta({
    description:
      "Barnes-Hut approximation of the repulsion (O(n log n)); 'auto' (default) turns it on above 500 tasks.",
  }),
  forceAtlas2: ForceAtlas2SettingsSchema.optional().meta({
    description: "ForceAtlas2 settings overriding graphology's inferred ones.",
  }),
  usePositions: z.boolean().optional().meta({
    description:
      'Draw the x, y already on the tasks (from writePositions or Gephi) instead of running the layout. Default false.',
  }),
};

export const drawingShape = {
  ...layoutShape,
  colorBy: z
    .enum(['group', 'kind', 'none'], {
      error: says(
        'colorBy must be group, kind or none',
        "Write colorBy: 'group' (Louvain groups or `groups`), 'kind' or 'none'.",
      ),
    })
    .optional(),
  groups: z
    .array(z.array(z.string()), {
      error: says('groups must be a list of lists of task ids', 'Pass e.g. plan.groups.'),
    })
    .optional()
    .meta({
      description:
        'Task groups to colour by (e.g. plan.groups); default Louvain on the positive affinities, seeded.',
    }),
  sizeBy: z
    .union([z.string().min(1), z.custom<SizeFunction>((v) => typeof v === 'function')], {
      error: says(
        'sizeBy must be an attribute name or a function',
        "Write sizeBy: 'degree', 'weight', 'outputs', a numeric task attribute, or (task, attributes) => number.",
      ),
    })
    .optional(),
  nodeSize: auto(range('nodeSize'))
    .optional()
    .meta({ description: 'Smallest and largest node radius in px.' }),
};

export const GraphSvgOptionsSchema = z.strictObject({
  ...drawingShape,
  width: auto(positive('width')).optional(),
  height: auto(positive('height')).optional(),
  edgeWidth: auto(range('edgeWidth')).optional(),
  labels: z
    .enum(['auto', 'all', 'none'], {
      error: says('labels must be auto, all or none', "Write labels: 'auto'."),
    })
    .optional(),
  fontSize: positive('fontSize').optional(),
  legend: z.boolean().optional(),
  title: z.string().optional(),
  writePositions: z.boolean().optional().meta({
    description:
      'Write the layout back to the graph as x, y node attributes (y up, as sigma.js and Gephi expect).',
  }),
});
export type GraphSvgOptions = z.input<typeof GraphSvgOptionsSchema>;

export const GRAPH_SVG_DEFAULTS = Object.freeze({
  seed: 0,
  iterations: 'auto' as number | 'auto',
  barnesHut: 'auto' as boolean | 'auto',
  usePositions: false,
  colorBy: 'group' as 'group' | 'kind' | 'none',
  sizeBy: 'degree' as string | SizeFunction,
  nodeSize: 'auto' as [number, number] | 'auto',
  width: 'auto' as number | 'auto',
  height: 'auto' as number | 'auto',
  edgeWidth: 'auto' as [number, number] | 'auto',
  labels: 'auto' as 'auto' | 'all' | 'none',
  fontSize: 12,
  legend: true,
  writePositions: false,
});

export const LayoutOptionsSchema = z.strictObject(layoutShape);
export type LayoutOptions = z.input<typeof LayoutOptionsSchema>;

export const GexfOptionsSchema = z.strictObject({
  ...drawingShape,
  viz: z
    .boolean()
    .optional()
    .meta({ description: 'Write viz positions, colours and sizes (default true).' }),
});
export type GexfOptions = z.input<typeof GexfOptionsSchema>;

export const GraphmlOptionsSchema = z.strictObject({
  ...drawingShape,
  viz: z.boolean().optional().meta({
    description:
      'Also write x, y, size and color keys from the layout (default false: the data only).',
  }),
});
export type GraphmlOptions = z.input<typeof GraphmlOptionsSchema>;

export const PlanSvgOptionsSchema = z.strictObject({
  maxTasks: z.int().min(1).optional().meta({
    description:
      "Above this many tasks, each task's private parts (tower, head, own gates and experts) are drawn as one node per attachment point. Default 24.",
  }),
  maxNodes: z.int().min(10).optional().meta({
    description:
      'Above this many boxes, deep shared blocks are summarised under their ancestor. Default 150.',
  }),
  maxCouplingLinks: z.int().min(0).optional().meta({
    description: 'Laplacian pair links drawn at most (the strongest first). Default 400.',
  }),
  fontSize: positive('fontSize').optional(),
  legend: z.boolean().optional(),
  title: z.string().optional(),
});
export type PlanSvgOptions = z.input<typeof PlanSvgOptionsSchema>;

export const PLAN_SVG_DEFAULTS = Object.freeze({
  maxTasks: 24,
  maxNodes: 150,
  maxCouplingLinks: 400,
  fontSize: 12,
  legend: true,
});

export const ReportOptionsSchema = z.strictObject({
  title: z.string().optional(),
  seed: z.int().optional(),
  graph: GraphSvgOptionsSchema.optional().meta({
    description: 'Options of the task-graph picture.',
  }),
  plan: PlanSvgOptionsSchema.optional().meta({ description: 'Options of the network diagram.' }),
  maxTaskCharts: z.int().min(1).optional().meta({
    description:
      'Per-task loss charts drawn at most (the tasks with the highest final loss). Default 36.',
  }),
});
export type ReportOptions = z.input<typeof ReportOptionsSchema>;

export const REPORT_DEFAULTS = Object.freeze({ maxTaskCharts: 36 });

/** Validates options with `schema` (scope and path in the error) and fills in `defaults`. */
export function resolveOptions<S extends z.ZodType, D extends object>(
  schema: S,
  given: unknown,
  defaults: D,
  where: string,
): D & z.output<S> {
  const value = given ?? {};
  if (!isPlainObject(value)) {
    throw new OptionsError(
      `${SCOPE}: ${where} options must be an object (got ${typeof value}) → at options. Write e.g. { seed: 1 }.`,
      { path: 'options', got: value },
    );
  }
  const unsafe = findUnsafeKey(value, 'options');
  if (unsafe) {
    throw new OptionsError(
      `${SCOPE}: the key ${JSON.stringify(unsafe.key)} is not allowed → at ${unsafe.path}. Remove it.`,
      { path: unsafe.path, got: unsafe.key },
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw zodError(parsed.error, 'options', OptionsError, `${SCOPE}/${where}`);
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(parsed.data as object)) if (v !== undefined) out[k] = v;
  return out as D & z.output<S>;
}
