import { TOWER_MAX_TASKS } from '../defaults.js';
import { logUniform, registerSearchSpace, sampleLayers, sampleTraining } from '../space.js';

/**
 * Soft's strength is searched on a log scale in this range. The bundled data sets' best lie in
 * 0.01..3 on their declared graphs, 3 on School through a centre task. Above ~30 the penalty
 * dominates the steps and the towers converge too slowly to be judged (School, split 0, soft
 * linear after 32 epochs: strength 28-250 gave -0.5 to 25 % validation EV, where strength 3 gives
 * about 37 %).
 */
export const SOFT_STRENGTH_RANGE = Object.freeze({ min: 1e-2, max: 30 });
/**
 * Tower widths of soft (each task's tower copies the trunk). [] = per-task linear models pulled
 * together: on a complete graph (or a centre task) that is mean-regularised linear MTL.
 */
const SOFT_TRUNKS: readonly (readonly number[])[] = [[], [], [8], [16], [32]];
/**
 * Soft's first successive-halving rung is this many times schedule.minEpochs: per-task towers
 * start apart and need tens of epochs before the penalty has pulled them together (School's soft
 * was far below hard after 8 epochs, and best after 32 to 64).
 */
export const SOFT_RUNG_SCALE = 4;
/**
 * Soft's learning rates (log scale): higher than the other spaces' (3e-4..3e-2), as each tower
 * learns from its own task's rows alone (School: soft linear at 3e-4 was at -117 % validation EV
 * after 32 epochs, at 1.8e-3 at +3.6 %; the hand-tuned rate is 1e-2).
 */
export const SOFT_LEARNING_RATE_RANGE = Object.freeze({ min: 3e-3, max: 5e-2 });

/**
 * Soft's dropout rates: mostly none. The penalty is soft's regulariser, and towers with dropout
 * leave the tower bank (one kernel for all towers) for per-tower kernels, many times slower with
 * many tasks.
 */
const SOFT_DROPOUTS: readonly number[] = [0, 0, 0, 0.1];

/**
 * With more tasks than this (TOWER_MAX_TASKS), soft draws neither dropout nor a balancer other
 * than `static`: its towers then train on the fast tower step (src/train/tower-step.ts), which
 * covers neither, and with either an epoch costs 10 to 40 times more (School, 140 tasks: 32 epochs
 * of a [16]-tower candidate took 2.3 s of CPU with static and no dropout, 186 s of wall at load 9
 * with `uncertainty`), so the budget would buy a few candidates instead of many.
 */
export const SOFT_FAST_MIN_TASKS = TOWER_MAX_TASKS;

/** `soft`: one tower per task, pulled together by the graph's Laplacian penalty. */
export const softSpace = registerSearchSpace({
  name: 'soft',
  summary: 'per-task towers tied by the Laplacian penalty: strength (log scale), widths, training',
  rungScale: SOFT_RUNG_SCALE,
  sample: (random, ctx) => {
    const many = ctx.spec.tasks.length > SOFT_FAST_MIN_TASKS;
    const planOptions = {
      strategy: 'soft',
      ...sampleLayers(random, ctx, SOFT_TRUNKS, [[]], many ? [0] : SOFT_DROPOUTS),
      soft: { strength: logUniform(random, SOFT_STRENGTH_RANGE.min, SOFT_STRENGTH_RANGE.max) },
    };
    const fitOptions = sampleTraining(random, SOFT_LEARNING_RATE_RANGE);
    return { planOptions, fitOptions: many ? { ...fitOptions, balance: 'static' } : fitOptions };
  },
});
