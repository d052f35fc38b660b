import { z } from 'zod';
import {
  LayerStackSchema,
  MAX_LIST_ITEMS,
  MAX_TASK_OUTPUTS,
  displayShape,
  says,
} from '../common.js';

/** What a task kind declares: its attribute schema, losses, metrics and the shape of its head. */
export interface TaskKind<
  Name extends string = string,
  Attrs extends { kind: Name } = { kind: Name },
> {
  readonly name: Name;
  /** One sentence shown in errors and docs. */
  readonly summary: string;
  /** zod schema of the node attributes of a task of this kind. */
  readonly schema: z.ZodType<Attrs>;
  /** Loss names this kind accepts; the first is the default. */
  readonly losses: readonly [string, ...string[]];
  /** Metric names this kind can report; `defaultMetrics` are reported when a task names none. */
  readonly metrics: readonly [string, ...string[]];
  readonly defaultMetrics: readonly string[];
  /**
   * The metric, one of `metrics`, that compares models on a task of this kind: unitless, higher is
   * better (`mtgraph compare` ranks strategies by it).
   */
  readonly compareBy: string;
  /** Activation of the output layer. */
  readonly headActivation: 'linear' | 'sigmoid' | 'softmax';
  /** Number of output units of the head. */
  outputs(attrs: Attrs): number;
  /** Names of the outputs (class names, label names, output names). */
  outputNames(attrs: Attrs, id: string): string[];
}

const weightSchema = z
  .number({ error: says('task weight must be a finite number', 'Use a weight >= 0, e.g. 1.') })
  .min(0, {
    error: says(
      'task weight must be >= 0',
      'Use 0 to ignore the task in the loss, or a positive weight.',
    ),
  });

const targetSchema = z.union(
  [z.string().min(1), z.array(z.string().min(1)).min(1).max(MAX_TASK_OUTPUTS)],
  {
    error: says(
      'target must name a data column or a list of columns',
      'Write e.g. target: "clicked".',
    ),
  },
);

/** Builds a kind's attribute schema from the fields common to every task plus the kind's own. */
export function taskShape<Name extends string, Loss extends string, Metric extends string>(
  name: Name,
  losses: readonly [Loss, ...Loss[]],
  metrics: readonly [Metric, ...Metric[]],
) {
  return {
    kind: z.literal(name),
    weight: weightSchema
      .optional()
      .meta({ description: 'Weight of the task in the joint loss (default 1).' }),
    loss: z
      .enum(losses, {
        error: says(`unknown loss for a ${name} task`, `Use one of: ${losses.join(', ')}.`),
      })
      .optional()
      .meta({ description: `Loss (default ${losses[0]}).` }),
    lossOptions: z
      .record(
        z.string(),
        z.number({
          error: says('a loss option must be a number', 'Write e.g. lossOptions: { gamma: 2 }.'),
        }),
        {
          error: says(
            'lossOptions must be an object of numbers',
            "Write e.g. loss: 'focal', lossOptions: { gamma: 2, alpha: 0.25 }.",
          ),
        },
      )
      .optional()
      .meta({ description: "Settings of the loss, e.g. focal's { gamma, alpha }." }),
    condition: z
      .string({ error: says('condition must name a task', "Write e.g. condition: 'click'.") })
      .min(1, { error: says('condition must name a task', "Write e.g. condition: 'click'.") })
      .optional()
      .meta({
        description:
          'A binary task this binary task can only follow: its prediction is p(condition) × p(task | condition), trained on all rows (ESMM).',
      }),
    reads: z
      .array(z.string().min(1), {
        error: says('reads must list task ids', "Write e.g. reads: ['click']."),
      })
      .max(MAX_LIST_ITEMS)
      .optional()
      .meta({ description: "Tasks whose tower outputs this task's tower also reads (AITM)." }),
    inputs: z
      .array(z.string().min(1), {
        error: says('inputs must list feature columns', "Write e.g. inputs: ['age', 'city']."),
      })
      .min(1)
      .max(MAX_LIST_ITEMS)
      .optional()
      .meta({
        description:
          "Feature columns this task's tower reads besides the shared representation (names of the graph's input columns).",
      }),
    inputsOnly: z
      .boolean({ error: says('inputsOnly must be true or false', 'Use e.g. true.') })
      .optional()
      .meta({
        description:
          "With inputs: this task's tower reads only its inputs (and the towers it reads), instead of the shared representation as well (default false).",
      }),
    readsStopGradient: z
      .boolean({ error: says('readsStopGradient must be true or false', 'Use e.g. true.') })
      .optional()
      .meta({
        description:
          "Stop this task's loss from training the towers it reads (default false: gradients flow).",
      }),
    head: LayerStackSchema.optional().meta({
      description: "The task's private tower layers (overrides the plan's tower option).",
    }),
    target: targetSchema
      .optional()
      .meta({ description: 'Data column(s) of the labels (default: the task id).' }),
    metrics: z
      .array(
        z.enum(metrics, {
          error: says(`unknown metric for a ${name} task`, `Use any of: ${metrics.join(', ')}.`),
        }),
      )
      .max(MAX_LIST_ITEMS, {
        error: says(
          `a task may list at most ${MAX_LIST_ITEMS} metrics`,
          `Name each metric once, from: ${metrics.join(', ')}.`,
        ),
      })
      .optional()
      .meta({ description: 'Metrics to report (default: all of the kind).' }),
    ...displayShape,
  };
}

/** Error text for an unknown attribute on a strict object. */
export function unknownKeyError(scope: string, known: readonly string[]) {
  return (issue: { code?: string; keys?: string[]; input?: unknown }) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown ${scope} attribute ${issue.keys?.map((k) => JSON.stringify(k)).join(', ')} (expected any of: ${known.join(', ')}). Check the spelling or remove it.`;
    }
    return `${scope} attributes must be an object (got ${issue.input === null ? 'null' : typeof issue.input}). Write e.g. { kind: 'binary' }.`;
  };
}

export function namesOf(count: number | string[], prefix: string): string[] {
  return typeof count === 'number'
    ? Array.from({ length: count }, (_, i) => `${prefix}${i}`)
    : [...count];
}
