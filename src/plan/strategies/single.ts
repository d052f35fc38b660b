import { z } from 'zod';
import { registerStrategy } from '../registry.js';
import { towersFor, trunkCopy } from './shared.js';

/** `single`: one independent network per task, each as deep as the trunk (the no-sharing baseline). */
export const single = registerStrategy({
  name: 'single',
  summary: 'one independent network per task (no sharing; the baseline)',
  optionsKey: 'single',
  options: z.strictObject({}),
  plan(ctx) {
    return {
      blocks: [],
      towers: towersFor(
        ctx,
        () => null,
        () => trunkCopy(ctx),
      ),
      notes: [
        `single: each of the ${ctx.spec.tasks.length} task(s) gets its own copy of the trunk (${ctx.options.trunk.units.join('-') || 'no layers'}); nothing is shared, affinities are ignored.`,
      ],
    };
  },
});
