import { z } from 'zod';
import { says } from '../../schema/common.js';
import { registerStrategy } from '../registry.js';
import type { CouplingPlan } from '../types.js';
import { towersFor, trunkCopy } from './shared.js';

const options = z.strictObject({
  strength: z
    .number({ error: says('strength must be a number', 'Use a non-negative number, e.g. 0.01.') })
    .min(0, { error: says('strength must be >= 0', 'Use a non-negative number, e.g. 0.01.') })
    .optional()
    .meta({ description: 'Multiplier of the Laplacian penalty (default 0.01).' }),
  heads: z.boolean().optional().meta({
    description:
      'Also couple the heads of related tasks whose heads have the same shape (default true).',
  }),
});

/**
 * `soft`: one tower per task, each as deep as the trunk; corresponding tower layers are pulled
 * together by `strength * sum_(a,b) w_ab ||W_a - W_b||^2` over the positive affinities.
 */
export const soft = registerStrategy({
  name: 'soft',
  summary: 'a tower per task, corresponding layers tied by a graph-Laplacian penalty',
  optionsKey: 'soft',
  options,
  plan(ctx, own: z.infer<typeof options>) {
    const strength = own.strength ?? 0.01;
    const positive = ctx.spec.affinities.filter((a) => a.weight > 0 && a.sharing !== 'none');
    const skipped = ctx.spec.affinities.length - positive.length;
    const pairs = positive.map((a): [string, string, number] => [a.source, a.target, a.weight]);
    const towers = towersFor(
      ctx,
      () => null,
      () => trunkCopy(ctx),
    );
    const couplings: CouplingPlan[] = [];
    const depth = ctx.trunkLayers.length;
    if (pairs.length > 0) {
      for (let layer = 0; layer < depth; layer++)
        couplings.push({ kind: 'laplacian', layer, strength, pairs: pairs.map((p) => [...p]) });
    }
    const notes = [
      `soft: every task has its own ${depth}-layer tower; ${pairs.length} positive affinit${pairs.length === 1 ? 'y ties' : 'ies tie'} corresponding layers with strength ${strength}.`,
    ];
    if (own.heads ?? true) {
      const outputs = new Map(
        ctx.spec.tasks.map((t) => [
          t.id,
          `${t.outputs}/${towers[t.id]!.layers.length}/${towers[t.id]!.layers.at(-1)?.units ?? 0}`,
        ]),
      );
      const same = pairs.filter(([a, b]) => outputs.get(a) === outputs.get(b));
      if (same.length > 0)
        couplings.push({
          kind: 'laplacian',
          layer: 'head',
          strength,
          pairs: same.map((p) => [...p]),
        });
      if (same.length < pairs.length)
        notes.push(
          `soft: ${pairs.length - same.length} pair(s) have heads of different shapes, so only their towers are tied.`,
        );
    }
    if (skipped > 0)
      notes.push(
        `soft: ${skipped} conflicting or non-sharing affinit${skipped === 1 ? 'y is' : 'ies are'} not coupled (a negative weight would push towers apart without bound).`,
      );
    return { blocks: [], towers, couplings, notes };
  },
});
