import { z } from 'zod';
import { MAX_EXPERTS, says } from '../../schema/common.js';
import { OptionsError } from '../../errors.js';
import { registerStrategy } from '../registry.js';
import type { BlockPlan, GatePlan } from '../types.js';
import { towersFor } from './shared.js';

const options = z.strictObject({
  sharedExperts: z
    .int({ error: says('sharedExperts must be a whole number', 'Use e.g. sharedExperts: 2.') })
    .min(1, { error: says('sharedExperts must be at least 1', 'Use e.g. sharedExperts: 2.') })
    .max(MAX_EXPERTS, {
      error: says(`sharedExperts must be at most ${MAX_EXPERTS}`, 'Use e.g. sharedExperts: 2.'),
    })
    .optional()
    .meta({ description: 'Shared experts per level (default 2).' }),
  taskExperts: z
    .int({ error: says('taskExperts must be a whole number', 'Use e.g. taskExperts: 1.') })
    .min(1, { error: says('taskExperts must be at least 1', 'Use e.g. taskExperts: 1.') })
    .max(MAX_EXPERTS, {
      error: says(`taskExperts must be at most ${MAX_EXPERTS}`, 'Use e.g. taskExperts: 1.'),
    })
    .optional()
    .meta({ description: 'Task-specific experts per task and level (default 1).' }),
});

/**
 * `ple`: progressive layered extraction (Tang et al. 2020). One extraction level per trunk
 * layer; each level has shared experts and experts private to each task; a task's gate mixes
 * its own and the shared experts, and a shared gate mixes all of them for the next level.
 */
export const ple = registerStrategy({
  name: 'ple',
  summary:
    'shared and task-specific experts over several levels, with gates (progressive layered extraction)',
  optionsKey: 'ple',
  options,
  plan(ctx, own: z.infer<typeof options>) {
    const shared = own.sharedExperts ?? 2;
    const perTask = own.taskExperts ?? 1;
    const tasks = ctx.spec.tasks.map((t) => t.id);
    const levels = ctx.trunkLayers.length;
    const perLevel = shared + tasks.length * perTask;
    if (perLevel > 4 * MAX_EXPERTS) {
      throw new OptionsError(
        `mtgraph/plan: ple would make ${perLevel} experts per level (${shared} shared + ${tasks.length} tasks x ${perTask}; expected at most ${4 * MAX_EXPERTS}) → at options.ple.taskExperts. Use fewer task experts, or the mmoe strategy.`,
        { path: 'options.ple.taskExperts', got: perTask },
      );
    }
    const blocks: BlockPlan[] = [];
    const gates: GatePlan[] = [];
    let sharedInput: string | null = null;
    let taskInput = new Map<string, string | null>(tasks.map((t) => [t, null]));
    for (let l = 0; l < levels; l++) {
      const layer = ctx.trunkLayers[l]!;
      const sharedIds = Array.from({ length: shared }, (_, e) => `ple${l}.shared${e}`);
      sharedIds.forEach((id) =>
        blocks.push({
          id,
          parent: sharedInput,
          tasks: [...tasks],
          layers: [{ ...layer }],
          role: 'expert',
        }),
      );
      const own: Record<string, string[]> = {};
      for (const t of tasks) {
        own[t] = Array.from({ length: perTask }, (_, e) => `ple${l}.${t}.expert${e}`);
        own[t]!.forEach((id) =>
          blocks.push({
            id,
            parent: taskInput.get(t)!,
            tasks: [t],
            layers: [{ ...layer }],
            role: 'expert',
          }),
        );
      }
      const next = new Map<string, string | null>();
      for (const t of tasks) {
        const id = `ple${l}.gate.${t}`;
        gates.push({ id, task: t, parent: taskInput.get(t)!, experts: [...own[t]!, ...sharedIds] });
        next.set(t, id);
      }
      if (l < levels - 1) {
        const id = `ple${l}.gate.shared`;
        gates.push({
          id,
          task: null,
          parent: sharedInput,
          experts: [...tasks.flatMap((t) => own[t]!), ...sharedIds],
        });
        sharedInput = id;
      }
      taskInput = next;
    }
    return {
      blocks,
      gates,
      towers: towersFor(ctx, (t) => taskInput.get(t)!),
      notes: [
        `ple: ${levels} extraction level(s), each with ${shared} shared expert(s) and ${perTask} expert(s) per task; each task's gate mixes its own and the shared experts.`,
      ],
    };
  },
});
