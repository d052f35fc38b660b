import { z } from 'zod';
import { louvainGroups, isConflict } from '../../graph/groups.js';
import { registerStrategy, type StrategyContext } from '../registry.js';
import { runStrategy } from '../run.js';

/** The graph measures `auto` decides on. */
export interface GraphShape {
  tasks: number;
  edges: number;
  conflicts: number;
  density: number;
  meanWeight: number;
  communities: number;
  modularity: number;
  /** Affinities whose `source` names a learned measurement (lookahead, gradient-cosine). */
  learned: number;
  learnedBy: string[];
}

/** Affinity sources that come from training (measureAffinity), as opposed to declared or label priors. */
export const LEARNED_SOURCES: ReadonlySet<string> = new Set(['lookahead', 'gradient-cosine']);

export function graphShape(ctx: StrategyContext): GraphShape {
  const n = ctx.spec.tasks.length;
  const positive = ctx.spec.affinities.filter((a) => a.weight > 0 && !isConflict(a));
  const { groups, modularity } = louvainGroups(ctx.spec, { seed: ctx.options.seed });
  const learned = ctx.spec.affinities.filter(
    (a) => a.origin !== undefined && LEARNED_SOURCES.has(a.origin),
  );
  return {
    tasks: n,
    edges: ctx.spec.affinities.length,
    conflicts: ctx.spec.affinities.filter(isConflict).length,
    density: n > 1 ? positive.length / ((n * (n - 1)) / 2) : 0,
    meanWeight: positive.length ? positive.reduce((s, a) => s + a.weight, 0) / positive.length : 0,
    communities: groups.filter((g) => g.length > 1).length,
    modularity,
    learned: learned.length,
    learnedBy: [...new Set(learned.map((a) => a.origin!))],
  };
}

/** Chooses a strategy from the graph's shape; returns the name and the reason. */
export function chooseStrategy(shape: GraphShape): {
  strategy: string;
  why: string;
  options?: Record<string, unknown>;
} {
  const f = (x: number) => x.toFixed(2);
  if (shape.tasks === 1)
    return { strategy: 'single', why: 'there is one task, so there is nothing to share' };
  if (shape.edges === 0)
    return {
      strategy: 'hard',
      why: 'no affinities are declared, so nothing says the tasks differ: share everything (the shared-bottom baseline)',
    };
  if (shape.learned > 0) {
    return {
      strategy: 'clustered',
      why: `${shape.learned} affinit${shape.learned === 1 ? 'y was' : 'ies were'} learned from data (${shape.learnedBy.join(', ')}), so tasks are grouped to maximise their measured affinity (task grouping)`,
      options: { method: 'task-grouping' },
    };
  }
  if (shape.conflicts > 0)
    return {
      strategy: 'clustered',
      why: `${shape.conflicts} conflicting pair(s) must not share, and grouping keeps them apart while related tasks share`,
    };
  if (shape.communities >= 2 && shape.modularity >= 0.3)
    return {
      strategy: 'clustered',
      why: `the affinities form ${shape.communities} communities (modularity ${f(shape.modularity)} >= 0.3)`,
    };
  if (shape.density >= 0.5 && shape.meanWeight >= 0.5)
    return {
      strategy: 'hard',
      why: `the tasks are densely and strongly related (density ${f(shape.density)}, mean weight ${f(shape.meanWeight)})`,
    };
  if (shape.tasks <= 32)
    return {
      strategy: 'soft',
      why: `the relations are sparse or weak (density ${f(shape.density)}, mean weight ${f(shape.meanWeight)}): private towers pulled together along the edges`,
    };
  return {
    strategy: 'tree',
    why: `${shape.tasks} tasks with sparse or weak relations (density ${f(shape.density)}): a branched network shares where tasks are close and stays small`,
  };
}

/** `auto`: picks a strategy from the graph's structure and says why in the notes. */
export const auto = registerStrategy({
  name: 'auto',
  summary: "picks a strategy from the graph's structure and says why",
  optionsKey: 'auto',
  options: z.strictObject({}),
  plan(ctx) {
    const shape = graphShape(ctx);
    const { strategy, why, options } = chooseStrategy(shape);
    const chosen = ctx.strategy(strategy);
    const result = options
      ? chosen.plan(ctx, {
          ...(ctx.options.sections[chosen.optionsKey] as object | undefined),
          ...options,
        })
      : runStrategy(ctx, chosen);
    return {
      ...result,
      strategy,
      notes: [`auto: chose '${strategy}' because ${why}.`, ...result.notes],
    };
  },
});
