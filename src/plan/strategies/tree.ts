import { z } from 'zod';
import { MAX_LAYERS, says } from '../../schema/common.js';
import { PlanError } from '../../errors.js';
import { cutDendrogram, dendrogram, type Dendrogram } from '../../graph/dendrogram.js';
import { enforceConstraints } from '../../graph/groups.js';
import { registerStrategy, type StrategyContext, type StrategyResult } from '../registry.js';
import type { BlockPlan } from '../types.js';
import { listNames, towersFor, trunkCopy } from './shared.js';

const thresholdFix =
  'Give one affinity in (-1, 1] per trunk layer, rising with depth, e.g. [0.3, 0.6].';
const options = z.strictObject({
  linkage: z
    .enum(['average', 'complete', 'single'], {
      error: says('unknown linkage', "Use 'average', 'complete' or 'single'."),
    })
    .optional()
    .meta({
      description: 'Linkage of the hierarchical clustering on 1 - affinity (default average).',
    }),
  thresholds: z
    .array(
      z
        .number({ error: says('a threshold must be a number', thresholdFix) })
        .gt(-1, { error: says('a threshold must be in (-1, 1]', thresholdFix) })
        .max(1, { error: says('a threshold must be in (-1, 1]', thresholdFix) }),
    )
    .max(MAX_LAYERS, {
      error: says(
        `thresholds must be at most ${MAX_LAYERS} values (one per trunk layer)`,
        thresholdFix,
      ),
    })
    .refine((t) => t.every((x, i) => i === 0 || x >= t[i - 1]!), {
      error: says('thresholds must not decrease with depth', thresholdFix),
    })
    .optional()
    .meta({
      description:
        'Per trunk layer, the affinity at which tasks still share it (default (k+1)/(L+1) for layer k of L).',
    }),
  budget: z
    .int({ error: says('budget must be a whole number of parameters', 'Use e.g. budget: 200000.') })
    .min(1, { error: says('budget must be positive', 'Use e.g. budget: 200000.') })
    .optional()
    .meta({
      description:
        'Maximum parameter count; thresholds are lowered (more sharing) until the network fits.',
    }),
});
type TreeOptions = z.infer<typeof options>;

/** Sharing scales tried, in order, when a budget is set: thresholds are multiplied by each. */
const BUDGET_SCALES = [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0] as const;
// Scale 0 shares every layer among tasks whose linkage affinity is >= 0; conflicting tasks never share.

/** Splits a group by the group each task had one level down. */
function refine(group: string[], outer: Map<string, number> | undefined): string[][] {
  if (!outer) return [group];
  const parts = new Map<number, string[]>();
  for (const t of group) {
    const key = outer.get(t)!;
    let part = parts.get(key);
    if (!part) parts.set(key, (part = []));
    part.push(t);
  }
  return [...parts.values()];
}

function branched(ctx: StrategyContext, tree: Dendrogram, thresholds: number[]): StrategyResult {
  const depth = ctx.trunkLayers.length;
  const blocks: BlockPlan[] = [];
  const deepest = new Map<string, string>();
  const privateFrom = new Map<string, number>();
  let previous = new Map<string, string>(); // task -> block at the previous depth
  let level: string[][] = [];
  let outer: Map<string, number> | undefined;
  for (let k = 0; k < depth; k++) {
    // Refine by the level below (so branches nest), then keep conflicting tasks apart.
    const cut = cutDendrogram(tree, 1 - thresholds[k]!).flatMap((g) => refine(g, outer));
    const groups = enforceConstraints(ctx.spec, cut).groups;
    outer = new Map(groups.flatMap((g, gi) => g.map((t) => [t, gi] as const)));
    const current = new Map<string, string>();
    for (const group of groups) {
      if (group.length < 2) {
        if (!privateFrom.has(group[0]!)) privateFrom.set(group[0]!, k);
        continue;
      }
      const parent = previous.get(group[0]!) ?? null;
      const parentBlock = parent === null ? undefined : blocks.find((b) => b.id === parent);
      if (parentBlock && parentBlock.tasks.length === group.length) {
        // Same tasks as one level down: the block grows one layer instead of starting a new one.
        parentBlock.layers.push({ ...ctx.trunkLayers[k]! });
        for (const t of group) current.set(t, parentBlock.id);
        continue;
      }
      const id = `branch${blocks.length}`;
      blocks.push({
        id,
        parent,
        tasks: group,
        layers: [{ ...ctx.trunkLayers[k]! }],
        role: 'shared',
      });
      for (const t of group) current.set(t, id);
    }
    for (const [t, b] of current) deepest.set(t, b);
    previous = current;
    if (k === 0) level = groups;
  }
  const towers = towersFor(
    ctx,
    (t) => deepest.get(t) ?? null,
    (t) => (privateFrom.has(t) ? trunkCopy(ctx, privateFrom.get(t)!) : []),
  );
  return { blocks, towers, groups: level, notes: [] };
}

/**
 * `tree`: a branched network from hierarchical clustering of 1 - affinity. Tasks share trunk
 * layer k while their linkage affinity is at least thresholds[k], so the more related two
 * tasks are, the deeper they split off.
 */
export const tree = registerStrategy({
  name: 'tree',
  summary: 'a branched network: tasks split off deeper the more related they are',
  optionsKey: 'tree',
  options,
  plan(ctx, own: TreeOptions) {
    const depth = ctx.trunkLayers.length;
    if (depth === 0)
      throw new PlanError(
        "mtgraph/plan: 'tree' needs trunk layers to branch (got trunk.units []) → at options.trunk.units. Give at least two layers, e.g. [64, 32].",
        { path: 'options.trunk.units' },
      );
    if (own.thresholds && own.thresholds.length !== depth) {
      throw new PlanError(
        `mtgraph/plan: tree.thresholds needs one value per trunk layer (got ${own.thresholds.length}; expected ${depth}) → at options.tree.thresholds. ${thresholdFix}`,
        { path: 'options.tree.thresholds', got: own.thresholds },
      );
    }
    const linkage = own.linkage ?? 'average';
    const base = own.thresholds ?? Array.from({ length: depth }, (_, k) => (k + 1) / (depth + 1));
    const dendro = dendrogram(ctx.spec, linkage);
    const notes = [
      `tree: ${linkage}-linkage clustering of 1 - affinity; tasks share trunk layer k while their linkage affinity is >= ${base.map((x) => x.toFixed(2)).join(', ')} (k = 0..${depth - 1}).`,
    ];
    let result = branched(ctx, dendro, base);
    if (own.budget !== undefined) {
      let fitted = false;
      for (const scale of BUDGET_SCALES) {
        const thresholds = base.map((x) => x * scale);
        const candidate = scale === 1 ? result : branched(ctx, dendro, thresholds);
        const params = ctx.countParams(candidate);
        if (params <= own.budget) {
          result = candidate;
          fitted = true;
          notes.push(
            scale === 1
              ? `tree: ${params} parameters fit the budget of ${own.budget}.`
              : `tree: to fit the budget of ${own.budget}, thresholds were scaled by ${scale} to ${thresholds.map((x) => x.toFixed(2)).join(', ')} (more sharing): ${params} parameters.`,
          );
          break;
        }
      }
      if (!fitted) {
        const least = ctx.countParams(
          branched(
            ctx,
            dendro,
            base.map(() => 0),
          ),
        );
        throw new PlanError(
          `mtgraph/plan: tree cannot fit the budget (got budget ${own.budget}; the most shared tree needs ${least} parameters) → at options.tree.budget. Raise the budget or narrow the trunk.`,
          { path: 'options.tree.budget', got: own.budget },
        );
      }
    }
    for (const b of result.blocks)
      notes.push(
        `${b.id}: ${listNames(b.tasks)} share ${b.layers.length} layer(s)${b.parent ? ` above ${b.parent}` : ' from the input'}.`,
      );
    const alone = ctx.spec.tasks
      .filter((t) => result.towers[t.id]!.parent === null)
      .map((t) => t.id);
    if (alone.length > 0)
      notes.push(
        `${listNames(alone)}: related to no other task above the first threshold, so private all the way.`,
      );
    return { ...result, notes };
  },
});
