import { z } from 'zod';
import { MAX_EXPERTS, UnitsSchema, says } from '../../schema/common.js';
import { registerStrategy } from '../registry.js';
import type { BlockPlan, GatePlan } from '../types.js';
import { towersFor } from './shared.js';

const options = z.strictObject({
  experts: z
    .int({ error: says('experts must be a whole number', 'Use e.g. experts: 4.') })
    .min(1, { error: says('experts must be at least 1', 'Use e.g. experts: 4.') })
    .max(MAX_EXPERTS, {
      error: says(`experts must be at most ${MAX_EXPERTS}`, 'Use e.g. experts: 4 to 16.'),
    })
    .optional()
    .meta({ description: 'Number of shared experts (default 4).' }),
  units: UnitsSchema.optional().meta({
    description: "Each expert's layers (default: the trunk's units).",
  }),
});

/** `mmoe`: shared experts and one softmax gate per task (Ma et al. 2018). */
export const mmoe = registerStrategy({
  name: 'mmoe',
  summary: 'shared experts mixed by a softmax gate per task (multi-gate mixture of experts)',
  optionsKey: 'mmoe',
  options,
  plan(ctx, own: z.infer<typeof options>) {
    const count = own.experts ?? 4;
    const tasks = ctx.spec.tasks.map((t) => t.id);
    const trunk = ctx.trunkLayers;
    const layers = own.units
      ? own.units.map((units) => ({
          ...(trunk[0] ?? { activation: 'relu' as const, dropout: 0, batchNorm: false }),
          units,
        }))
      : trunk;
    const blocks: BlockPlan[] = Array.from({ length: count }, (_, e) => ({
      id: `expert${e}`,
      parent: null,
      tasks: [...tasks],
      layers: layers.map((l) => ({ ...l })),
      role: 'expert',
    }));
    const gates: GatePlan[] = tasks.map((t) => ({
      id: `gate.${t}`,
      task: t,
      parent: null,
      experts: blocks.map((b) => b.id),
    }));
    return {
      blocks,
      gates,
      towers: towersFor(ctx, (t) => `gate.${t}`),
      notes: [
        `mmoe: ${count} shared experts (${layers.map((l) => l.units).join('-')}), one softmax gate per task over all of them; conflicting tasks can learn to use different experts.`,
      ],
    };
  },
});
