import { z } from 'zod';
import { says } from '../../schema/common.js';
import { positiveComponents } from '../../graph/groups.js';
import { registerStrategy } from '../registry.js';
import type { CouplingPlan } from '../types.js';
import { towersFor, trunkCopy } from './shared.js';

const options = z.strictObject({
  selfWeight: z
    .number({ error: says('selfWeight must be a number', 'Use a value in (0.5, 1], e.g. 0.9.') })
    .gt(0.5, {
      error: says(
        'selfWeight must be in (0.5, 1] so a tower keeps most of itself',
        'Use e.g. 0.9.',
      ),
    })
    .max(1, { error: says('selfWeight must be in (0.5, 1]', 'Use e.g. 0.9.') })
    .optional()
    .meta({
      description:
        'Initial weight of a tower on itself (default 0.9); the rest is spread over its related tasks by edge weight.',
    }),
});

/**
 * The initial alpha matrix of a cross-stitch unit: row i keeps `self` on task i and spreads
 * `1 - self` over its positive neighbours in proportion to the weights (1 on itself when it has none).
 */
export function crossStitchAlpha(
  tasks: string[],
  weights: Map<string, Map<string, number>>,
  self: number,
): number[][] {
  return tasks.map((a) => {
    const row = weights.get(a);
    const total = tasks.reduce((s, b) => s + (b !== a ? (row?.get(b) ?? 0) : 0), 0);
    return tasks.map((b) => {
      if (total === 0) return a === b ? 1 : 0;
      if (a === b) return self;
      return ((1 - self) * (row?.get(b) ?? 0)) / total;
    });
  });
}

/**
 * `cross-stitch`: one tower per task; after each tower layer a learned alpha matrix mixes the
 * towers of related tasks (Misra et al. 2016), initialised from the affinities. Tasks in
 * different components of the positive affinities never mix, so there is one unit per component.
 */
export const crossStitch = registerStrategy({
  name: 'cross-stitch',
  summary: 'a tower per task, mixed after each layer by learned alpha matrices',
  optionsKey: 'crossStitch',
  options,
  plan(ctx, own: z.infer<typeof options>) {
    const self = own.selfWeight ?? 0.9;
    const weights = new Map<string, Map<string, number>>();
    for (const a of ctx.spec.affinities) {
      if (a.weight <= 0 || a.sharing === 'none') continue;
      for (const [p, q] of [
        [a.source, a.target],
        [a.target, a.source],
      ] as const) {
        let m = weights.get(p);
        if (!m) weights.set(p, (m = new Map()));
        m.set(q, a.weight);
      }
    }
    const components = positiveComponents({
      ...ctx.spec,
      affinities: ctx.spec.affinities.filter((a) => a.sharing !== 'none'),
    }).filter((c) => c.length > 1);
    const depth = ctx.trunkLayers.length;
    const couplings: CouplingPlan[] = [];
    for (let after = 0; after < depth; after++) {
      for (const tasks of components)
        couplings.push({
          kind: 'cross-stitch',
          after,
          tasks,
          alpha: crossStitchAlpha(tasks, weights, self),
        });
    }
    const notes = [
      `cross-stitch: every task has its own ${depth}-layer tower; ${components.length} group(s) of related tasks are mixed after each layer, alpha initialised at ${self} on the diagonal.`,
    ];
    const unmixed = ctx.spec.tasks.length - components.reduce((s, c) => s + c.length, 0);
    if (unmixed > 0)
      notes.push(`cross-stitch: ${unmixed} task(s) have no positive affinity and are not mixed.`);
    if (components.some((c) => c.length > 64))
      notes.push(
        'cross-stitch: a unit mixes more than 64 towers; alpha grows with the square of that, consider clustered or soft.',
      );
    return {
      blocks: [],
      towers: towersFor(
        ctx,
        () => null,
        () => trunkCopy(ctx),
      ),
      couplings,
      notes,
    };
  },
});
