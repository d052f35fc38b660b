import { measureAffinity } from '../../affinity/measure.js';
import { groupTasks } from '../../affinity/group.js';
import { TUNE_DEFAULTS } from '../defaults.js';
import { pick, registerSearchSpace, sampleLayers, sampleTraining } from '../space.js';

/** Lookahead settings of the learned graph (a hard model, [32] trunk, 50 joint steps, the last 40 measured). */
export const LEARNED_AFFINITY = Object.freeze({
  method: 'lookahead',
  steps: 50,
  warmup: 10,
  plan: Object.freeze({ strategy: 'hard', trunk: Object.freeze({ units: Object.freeze([32]) }) }),
});

/** Group budgets tried: 2 up to about the square root of the task count, one per group count. */
function budgets(tasks: number): number[] {
  const top = Math.max(2, Math.min(tasks - 1, Math.ceil(Math.sqrt(tasks)) + 1));
  return Array.from({ length: top - 1 }, (_, i) => i + 2);
}

/**
 * `learned`: the graph learned from the training rows (`measureAffinity`, lookahead) split into
 * groups by `groupTasks`, each group one shared block (`clustered` with explicit groups; the
 * declared conflicts are still kept apart). Searched by default with 3 to 12 tasks.
 */
export const learnedSpace = registerSearchSpace<{ groupings: string[][][] }>({
  name: 'learned',
  summary:
    'groups of a graph learned from the training rows (measureAffinity, then groupTasks): a block per group',
  byDefault: (spec) => spec.tasks.length >= 3 && spec.tasks.length <= TUNE_DEFAULTS.learnedMaxTasks,
  async prepare(ctx) {
    const t0 = performance.now();
    const measured = await measureAffinity(ctx.graph, ctx.train, {
      ...LEARNED_AFFINITY,
      plan: { ...LEARNED_AFFINITY.plan, trunk: { units: [32] } },
      seed: ctx.seed,
    });
    const seen = new Set<string>();
    const groupings: string[][][] = [];
    for (const k of budgets(ctx.spec.tasks.length)) {
      const { groups } = groupTasks(measured.graph, { groups: k });
      const key = JSON.stringify(groups);
      if (!seen.has(key)) {
        seen.add(key);
        groupings.push(groups);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    return {
      state: { groupings },
      notes: [
        `learned graph: lookahead on the training rows (${measured.trainingSteps} steps, ${seconds.toFixed(1)} s); groupTasks gave ${groupings.map((g) => `${g.length} group(s)`).join(', ')}.`,
      ],
    };
  },
  sample: (random, ctx, state) => ({
    planOptions: {
      strategy: 'clustered',
      ...sampleLayers(random, ctx),
      clustered: { groups: pick(random, state.groupings) },
    },
    fitOptions: sampleTraining(random),
  }),
});
