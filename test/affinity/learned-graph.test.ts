/**
 * Closing the loop on a family with known groups (issue 4, "What this issue must show"): three
 * groups of three regression tasks, each group a function of its own features, groups unrelated.
 *
 *   data -> measureAffinity (lookahead) -> groupTasks: recovers the groups (adjusted Rand index
 *   >= 0.8 on at least two of three seeds);
 *   data -> measureAffinity -> plan(learned graph) (auto: clustered task grouping) -> fit:
 *   lower mean test MSE than `single`, and at most 5 % above `hard`.
 *
 * Every model gets the same training budget (100 epochs, batch 64, adam 0.01, the seed) and the
 * same trunk per block, [8], on 300 training rows (20 % of the labels missing).
 *
 * What measurements on seeds 1-6 found (learned / hard mean test MSE; the noise floor is 0.09;
 * one run each at b6fb92d — a change of fit's shuffling moves them by a few per cent):
 * - lookahead groups the tasks exactly on 5 of 6 seeds; on seed 2 it puts g1_t1 with group 2
 *   (ARI 0.64): the measured within-group affinities are small (0.1-0.3), g1_t1's near 0.
 * - the learned graph beats `single` on every seed and setting below except a [4] trunk.
 * - against `hard` it depends on the trunk, and on the rows:
 *   [8], 300 rows (this test): 0.75, 0.91, 0.85, 0.90, 0.94, 0.97 — no worse on all six seeds,
 *     seed 2's wrong grouping included (with the then uncommitted rework of fit on top:
 *     0.82, 0.84, 0.85, 0.85, 0.89, 0.88);
 *   [8], 400 rows, batch 32: 0.70, 1.04, 0.90, 0.81, 0.94, 0.91 — all six;
 *   [8], 150 rows, batch 32: 0.87, 1.12, 0.82, 0.85, 1.14, 0.87 — 4 of 6 (seed 5 loses with the
 *     right groups);
 *   [16], 150 or 400 rows: 0.98-1.21 — more than 5 % worse than hard on 4 of 6 seeds (150 rows)
 *     and 6 of 6 (400 rows): a trunk of 16 has room for the three groups' functions (4 hidden
 *     units each), the groups read disjoint features so they compete for capacity but do not
 *     conflict, and one trunk sees three times the data;
 *   [4]: erratic (0.39-1.36): a unit that dies costs a 4-unit block a quarter of its capacity.
 *   Separate group blocks pay off when a shared trunk is too narrow for the unrelated groups.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  initBackend,
  generateTaskFamily,
  plan,
  build,
  fit,
  evaluate,
  measureAffinity,
  groupTasks,
  type Plan,
  type TaskFamily,
} from '../../src/index.js';
import { adjustedRand } from './ari.js';

const SEEDS = [1, 2, 3] as const;
const TRUNK = { units: [8] };
const ROWS = 300;
/** The same budget for every model. */
const FIT = {
  epochs: 100,
  batchSize: 64,
  optimizer: { name: 'adam', learningRate: 0.01 },
  metrics: false,
} as const;

/** Trains the plan's model with the common budget; mean test MSE over the tasks. */
async function meanTestLoss(p: Plan, family: TaskFamily, seed: number): Promise<number> {
  const model = build(p);
  try {
    await fit(model, family.train, { ...FIT, seed });
    const scores = await evaluate(model, family.test);
    const ids = Object.keys(scores);
    return ids.reduce((s, id) => s + scores[id]!.loss!, 0) / ids.length;
  } finally {
    model.dispose();
  }
}

interface SeedResult {
  ari: number;
  single: number;
  hard: number;
  learned: number;
}
const results = new Map<number, SeedResult>();

beforeAll(async () => {
  await initBackend();
});

describe('learned affinity graph, three groups of three tasks', () => {
  it.each(SEEDS)(
    'seed %i: measure, group, plan and train single / hard / learned',
    async (seed) => {
      const before = tf.memory().numTensors;
      const family = generateTaskFamily({ groups: 3, tasksPerGroup: 3, seed, trainRows: ROWS });
      const learned = await measureAffinity(family.graph, family.train, {
        method: 'lookahead',
        seed,
      });
      const ari = adjustedRand(groupTasks(learned, { groups: 3 }).groups, family.truth.groups);

      const fromLearned = plan(learned.graph, { strategy: 'auto', trunk: TRUNK, seed });
      expect(fromLearned.strategy).toBe('clustered');
      expect(fromLearned.notes.join('\n')).toMatch(/task grouping/);

      const result: SeedResult = {
        ari,
        single: await meanTestLoss(
          plan(family.graph, { strategy: 'single', trunk: TRUNK, seed }),
          family,
          seed,
        ),
        hard: await meanTestLoss(
          plan(family.graph, { strategy: 'hard', trunk: TRUNK, seed }),
          family,
          seed,
        ),
        learned: await meanTestLoss(fromLearned, family, seed),
      };
      results.set(seed, result);
      expect(tf.memory().numTensors).toBe(before);
      for (const v of [result.single, result.hard, result.learned])
        expect(Number.isFinite(v)).toBe(true);
      // Beats single on every seed.
      expect(result.learned).toBeLessThan(result.single);
    },
  );

  it('recovers the groups on at least two of three seeds; the learned graph is no worse than hard on every seed', () => {
    expect(results.size).toBe(SEEDS.length);
    const all = [...results.entries()];
    const recovered = all.filter(([, r]) => r.ari >= 0.8);
    expect(
      recovered.length,
      `ARI per seed: ${all.map(([s, r]) => `${s}: ${r.ari.toFixed(2)}`).join(', ')}`,
    ).toBeGreaterThanOrEqual(2);
    // No worse than hard: at most 5 % above its mean test MSE, on every seed (the one with wrongly measured groups included).
    for (const [seed, r] of all)
      expect(
        r.learned,
        `seed ${seed}: learned ${r.learned.toFixed(4)} vs hard ${r.hard.toFixed(4)}`,
      ).toBeLessThanOrEqual(1.05 * r.hard);
  });
});
