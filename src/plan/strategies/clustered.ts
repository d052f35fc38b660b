import { z } from 'zod';
import { LayerStackSchema, MAX_TASKS, says } from '../../schema/common.js';
import {
  canonicalGroups,
  enforceConstraints,
  louvainGroups,
  thresholdGroups,
} from '../../graph/groups.js';
import { partitionTasks } from '../../affinity/group.js';
import { OptionsError, UnknownTaskError } from '../../errors.js';
import { registerStrategy, type StrategyContext } from '../registry.js';
import { layersOf } from '../layers.js';
import { resolveStack } from '../options.js';
import type { BlockPlan } from '../types.js';
import { listNames, towersFor, trunkCopy } from './shared.js';

const options = z.strictObject({
  method: z
    .enum(['louvain', 'threshold', 'task-grouping'], {
      error: says('unknown grouping method', "Use 'louvain', 'threshold' or 'task-grouping'."),
    })
    .optional()
    .meta({
      description:
        "How groups are found: 'louvain' communities on positive affinities (default), components of edges >= threshold, or 'task-grouping' (groupTasks: the best partition into at most `budget` groups).",
    }),
  budget: z
    .int({ error: says('budget must be a whole number of groups', 'Use e.g. budget: 3.') })
    .min(1, { error: says('budget must be at least 1', 'Use e.g. budget: 3.') })
    .optional()
    .meta({
      description:
        "Most groups for method 'task-grouping' (default: the square root of the number of tasks, at least 2).",
    }),
  groups: z
    .array(z.array(z.string().min(1)).min(1).max(MAX_TASKS), {
      error: says('groups must be a list of task lists', 'Write e.g. groups: [["a", "b"], ["c"]].'),
    })
    .max(MAX_TASKS, {
      error: says(`groups must be at most ${MAX_TASKS} lists`, 'Give each task at most one group.'),
    })
    .optional()
    .meta({
      description:
        'Explicit task groups (e.g. from groupTasks); tasks left out are alone. Conflicting tasks are still kept apart.',
    }),
  threshold: z
    .number({ error: says('threshold must be a number', 'Use a weight in (0, 1], e.g. 0.5.') })
    .gt(0, { error: says('threshold must be in (0, 1]', 'Use a weight in (0, 1], e.g. 0.5.') })
    .max(1, { error: says('threshold must be in (0, 1]', 'Use a weight in (0, 1], e.g. 0.5.') })
    .optional()
    .meta({
      description: "Minimum affinity joining two tasks with method 'threshold' (default 0.5).",
    }),
  resolution: z
    .number({ error: says('resolution must be a number', 'Use a positive number, e.g. 1.') })
    .gt(0, { error: says('resolution must be positive', 'Use a positive number, e.g. 1.') })
    .optional()
    .meta({ description: 'Louvain resolution: higher gives more, smaller groups (default 1).' }),
  stem: LayerStackSchema.optional().meta({
    description: 'Optional layers shared by every group, below the groups (default none).',
  }),
});

/** Checks explicit groups: known tasks, each at most once; tasks left out are alone. */
function explicitGroups(ctx: StrategyContext, groups: string[][]): string[][] {
  const seen = new Map<string, string>();
  groups.forEach((group, g) =>
    group.forEach((task, t) => {
      const path = `options.clustered.groups[${g}][${t}]`;
      if (!ctx.spec.index.has(task))
        throw new UnknownTaskError(
          `mtgraph/plan: options.clustered.groups names the unknown task ${JSON.stringify(task)} → at ${path}. Use the graph's task ids.`,
          { path, got: task },
        );
      if (seen.has(task))
        throw new OptionsError(
          `mtgraph/plan: task ${JSON.stringify(task)} is in two groups (${seen.get(task)} and ${path}) → at ${path}. Put each task in one group.`,
          { path, got: task },
        );
      seen.set(task, path);
    }),
  );
  const alone = ctx.spec.tasks.filter((t) => !seen.has(t.id)).map((t) => [t.id]);
  return canonicalGroups(ctx.spec, [...groups.map((g) => [...g]), ...alone]);
}

/**
 * `clustered`: tasks grouped by affinity, one shared block per group, then heads. Tasks joined
 * by a negative edge (or `sharing: 'none'`) never share a group.
 */
export const clustered = registerStrategy({
  name: 'clustered',
  summary: 'one shared block per group of related tasks (Louvain or a threshold)',
  optionsKey: 'clustered',
  options,
  plan(ctx, own: z.infer<typeof options>) {
    const method = own.groups ? 'groups' : (own.method ?? 'louvain');
    const notes: string[] = [];
    let found: string[][];
    if (own.groups) {
      found = explicitGroups(ctx, own.groups);
      notes.push(`clustered: ${own.groups.length} group(s) given in options.clustered.groups.`);
    } else if (method === 'task-grouping') {
      const n = ctx.spec.tasks.length;
      const budget = own.budget ?? Math.max(2, Math.round(Math.sqrt(n)));
      const result = partitionTasks(ctx.spec, budget);
      found = result.groups;
      notes.push(
        `clustered: task grouping (${result.method}) chose ${result.groups.length} group(s) within a budget of ${budget}, maximising within-group affinity (score ${result.score.toFixed(3)}).`,
      );
    } else if (method === 'threshold') {
      const threshold = own.threshold ?? 0.5;
      found = thresholdGroups(ctx.spec, threshold);
      notes.push(`clustered: groups are the components of affinities >= ${threshold}.`);
    } else {
      const { groups, modularity } = louvainGroups(ctx.spec, {
        resolution: own.resolution ?? 1,
        seed: ctx.options.seed,
      });
      found = groups;
      notes.push(
        `clustered: Louvain on the positive affinities (seed ${ctx.options.seed}, resolution ${own.resolution ?? 1}) found ${groups.length} group(s), modularity ${modularity.toFixed(3)}.`,
      );
    }
    const { groups, notes: constraintNotes } = enforceConstraints(ctx.spec, found);
    notes.push(...constraintNotes.map((n) => `clustered: ${n}`));
    const stemStack = own.stem ? resolveStack(own.stem, ctx.options.trunk) : undefined;
    const stem = stemStack && stemStack.units.length > 0 ? layersOf(stemStack) : undefined;
    const blocks: BlockPlan[] = [];
    if (stem) {
      blocks.push({
        id: 'stem',
        parent: null,
        tasks: ctx.spec.tasks.map((t) => t.id),
        layers: stem,
        role: 'shared',
      });
      notes.push(
        `clustered: a common stem (${stem.map((l) => l.units).join('-')}) sits below every group, as asked.`,
      );
    }
    const blockOf = new Map<string, string>();
    const alone: string[] = [];
    groups.forEach((group) => {
      if (group.length < 2) {
        alone.push(group[0]!);
        return;
      }
      const id = `group${blocks.length - (stem ? 1 : 0)}`;
      blocks.push({
        id,
        parent: stem ? 'stem' : null,
        tasks: group,
        layers: trunkCopy(ctx),
        role: 'shared',
      });
      for (const t of group) blockOf.set(t, id);
      notes.push(`${id}: ${listNames(group)} share a block (${group.length} tasks).`);
    });
    if (alone.length > 0)
      notes.push(
        `${listNames(alone)} ${alone.length === 1 ? 'has' : 'have'} no related task in any group, so ${alone.length === 1 ? 'it gets' : 'each gets'} a private copy of the trunk.`,
      );
    return {
      blocks,
      towers: towersFor(
        ctx,
        (t) => blockOf.get(t) ?? (stem ? 'stem' : null),
        (t) => (blockOf.has(t) ? [] : trunkCopy(ctx)),
      ),
      groups,
      notes,
    };
  },
});
