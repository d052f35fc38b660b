import { z } from 'zod';
import { LayerStackSchema, says } from '../../spec/common.js';
import { enforceConstraints, louvainGroups, thresholdGroups } from '../../graph/groups.js';
import { registerStrategy } from '../registry.js';
import { layersOf } from '../layers.js';
import { resolveStack } from '../options.js';
import type { BlockPlan } from '../types.js';
import { listNames, towersFor, trunkCopy } from './shared.js';

const options = z.strictObject({
  method: z.enum(['louvain', 'threshold'], { error: says('unknown grouping method', "Use 'louvain' or 'threshold'.") }).optional()
    .meta({ description: "How groups are found: 'louvain' communities on positive affinities (default), or components of edges >= threshold." }),
  threshold: z.number({ error: says('threshold must be a number', 'Use a weight in (0, 1], e.g. 0.5.') })
    .gt(0, { error: says('threshold must be in (0, 1]', 'Use a weight in (0, 1], e.g. 0.5.') })
    .max(1, { error: says('threshold must be in (0, 1]', 'Use a weight in (0, 1], e.g. 0.5.') }).optional()
    .meta({ description: "Minimum affinity joining two tasks with method 'threshold' (default 0.5)." }),
  resolution: z.number({ error: says('resolution must be a number', 'Use a positive number, e.g. 1.') })
    .gt(0, { error: says('resolution must be positive', 'Use a positive number, e.g. 1.') }).optional()
    .meta({ description: 'Louvain resolution: higher gives more, smaller groups (default 1).' }),
  stem: LayerStackSchema.optional().meta({ description: 'Optional layers shared by every group, below the groups (default none).' }),
});

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
    const method = own.method ?? 'louvain';
    const notes: string[] = [];
    let found: string[][];
    if (method === 'threshold') {
      const threshold = own.threshold ?? 0.5;
      found = thresholdGroups(ctx.spec, threshold);
      notes.push(`clustered: groups are the components of affinities >= ${threshold}.`);
    } else {
      const { groups, modularity } = louvainGroups(ctx.spec, { resolution: own.resolution ?? 1, seed: ctx.options.seed });
      found = groups;
      notes.push(`clustered: Louvain on the positive affinities (seed ${ctx.options.seed}, resolution ${own.resolution ?? 1}) found ${groups.length} group(s), modularity ${modularity.toFixed(3)}.`);
    }
    const { groups, notes: constraintNotes } = enforceConstraints(ctx.spec, found);
    notes.push(...constraintNotes.map((n) => `clustered: ${n}`));
    const stemStack = own.stem ? resolveStack(own.stem, ctx.options.trunk) : undefined;
    const stem = stemStack && stemStack.units.length > 0 ? layersOf(stemStack) : undefined;
    const blocks: BlockPlan[] = [];
    if (stem) {
      blocks.push({ id: 'stem', parent: null, tasks: ctx.spec.tasks.map((t) => t.id), layers: stem, role: 'shared' });
      notes.push(`clustered: a common stem (${stem.map((l) => l.units).join('-')}) sits below every group, as asked.`);
    }
    const blockOf = new Map<string, string>();
    const alone: string[] = [];
    groups.forEach((group) => {
      if (group.length < 2) {
        alone.push(group[0]!);
        return;
      }
      const id = `group${blocks.length - (stem ? 1 : 0)}`;
      blocks.push({ id, parent: stem ? 'stem' : null, tasks: group, layers: trunkCopy(ctx), role: 'shared' });
      for (const t of group) blockOf.set(t, id);
      notes.push(`${id}: ${listNames(group)} share a block (${group.length} tasks).`);
    });
    if (alone.length > 0) notes.push(`${listNames(alone)} ${alone.length === 1 ? 'has' : 'have'} no related task in any group, so ${alone.length === 1 ? 'it gets' : 'each gets'} a private copy of the trunk.`);
    return {
      blocks,
      towers: towersFor(ctx, (t) => blockOf.get(t) ?? (stem ? 'stem' : null), (t) => (blockOf.has(t) ? [] : trunkCopy(ctx))),
      groups,
      notes,
    };
  },
});
