import { z } from 'zod';
import { registerStrategy } from '../registry.js';
import { conflictNotes, towersFor, trunkCopy } from './shared.js';

/** `hard`: one shared trunk, one head per task (the classic shared-bottom model). */
export const hard = registerStrategy({
  name: 'hard',
  summary: 'one shared trunk and a head per task (shared-bottom)',
  optionsKey: 'hard',
  options: z.strictObject({}),
  plan(ctx) {
    const tasks = ctx.spec.tasks.map((t) => t.id);
    return {
      blocks: [
        { id: 'trunk', parent: null, tasks, layers: trunkCopy(ctx), role: 'shared' as const },
      ],
      towers: towersFor(ctx, () => 'trunk'),
      notes: [
        `hard: all ${tasks.length} task(s) share one trunk (${ctx.options.trunk.units.join('-') || 'no layers'}), then each has its own head.`,
        ...conflictNotes(ctx, 'hard'),
      ],
    };
  },
});
