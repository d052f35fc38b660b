import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  generateTaskFamily,
  compile,
  fit,
  evaluate,
  OptionsError,
  TaskGraph,
} from '../../src/index.js';
import { getSearchSpace, tune, type TuneProgress } from '../../src/tune/index.js';
import { readGraph } from '../../src/schema/validate.js';
import { seededRandom } from '../../src/graph/random.js';
import { scaled } from '../timeouts.js';

const meanTestMse = async (
  family: ReturnType<typeof generateTaskFamily>,
  planOptions: Record<string, unknown>,
  fitOptions: Record<string, unknown>,
) => {
  const model = compile(family.graph, planOptions);
  try {
    await fit(model, family.train, fitOptions);
    const scores = await evaluate(model, family.test);
    const tasks = family.graph.nodes();
    return tasks.reduce((s, t) => s + scores[t]!.mse!, 0) / tasks.length;
  } finally {
    model.dispose();
  }
};

describe('tune', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('tune finds the grouped strategy on a task family where it is known to be best', {
    timeout: scaled(120_000),
  }, async () => {
    // Groups of related tasks, unrelated across groups (test/train/family.test.ts): sharing
    // within the true groups (clustered) beats no sharing (single) and sharing all (hard).
    const family = generateTaskFamily({ seed: 1, trainRows: 150 });
    const result = await tune(family.graph, family.train, {
      strategies: ['single', 'hard', 'clustered'],
      budget: { trials: 12 },
      seed: 0,
    });
    expect(result.trials).toHaveLength(12);
    expect(result.best.strategy).toBe('clustered');
    expect(new Set(result.trials.map((t) => t.space))).toEqual(
      new Set(['single', 'hard', 'clustered']),
    );
    // The validation choice holds on the test rows: retrained on all training rows, the best
    // beats the best-scored single and hard candidates.
    const bestOf = (space: string) =>
      result.trials
        .filter((t) => t.space === space && t.status === 'done')
        .sort((a, b) => a.value - b.value)[0]!;
    const retrain = (t: {
      planOptions: Record<string, unknown>;
      fitOptions: Record<string, unknown>;
      bestEpochs: number;
    }) => meanTestMse(family, t.planOptions, { ...t.fitOptions, epochs: t.bestEpochs });
    const best = await meanTestMse(family, result.best.planOptions, result.best.fitOptions);
    expect(best).toBeLessThan(await retrain(bestOf('single')));
    expect(best).toBeLessThan(await retrain(bestOf('hard')));
  });

  it('tune stops at the trial budget and reports every trial with the best so far', {
    timeout: scaled(60_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 2, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const seen: TuneProgress[] = [];
    const before = tf.memory().numTensors;
    const result = await tune(family.graph, family.train, {
      budget: { trials: 5 },
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 8 },
      onTrial: (p) => {
        seen.push({ ...p, best: p.best && { ...p.best } });
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.trials).toHaveLength(5);
    expect(result.stopped).toBe('trials');
    expect(seen.map((p) => p.trials)).toEqual([1, 2, 3, 4, 5]);
    expect(seen.map((p) => p.trial.id)).toEqual([0, 1, 2, 3, 4]);
    // Successive halving: a candidate is continued (rung 1, twice the epochs) once a rung holds 2 scored runs.
    expect(result.trials.some((t) => t.rung === 1 && t.maxEpochs === 4)).toBe(true);
    for (const p of seen) {
      const scored = result.trials.slice(0, p.trials).filter((t) => t.status === 'done');
      expect(p.best).toBeDefined();
      expect(scored.map((t) => t.id)).toContain(p.best!.id);
    }
    expect(result.best.trial).toBe(seen.at(-1)!.best!.id);
    // Every task's validation score, by its kind's compareBy metric.
    expect(Object.keys(result.best.score.tasks).sort()).toEqual(family.graph.nodes().sort());
    for (const s of Object.values(result.best.score.tasks)) {
      expect(s.metric).toBe('r2');
      expect(Number.isFinite(s.value)).toBe(true);
    }
  });

  it('tune stops at the seconds budget', { timeout: scaled(60_000) }, async () => {
    const family = generateTaskFamily({ seed: 2, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const result = await tune(family.graph, family.train, {
      strategies: ['hard'],
      budget: { seconds: 3 },
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 4096 },
    });
    expect(result.stopped).toBe('seconds');
    expect(result.trials.filter((t) => t.status === 'done').length).toBeGreaterThan(0);
    expect(result.trials.filter((t) => t.status === 'cut').length).toBeLessThanOrEqual(1);
  });

  it('tune is deterministic for a seed, and another seed samples other candidates', {
    timeout: scaled(60_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 4, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const run = (seed: number) =>
      tune(family.graph, family.train, {
        budget: { trials: 4 },
        seed,
        schedule: { minEpochs: 2, eta: 2, maxEpochs: 4 },
      });
    const strip = (r: Awaited<ReturnType<typeof run>>) =>
      r.trials.map(({ seconds: _s, ...t }) => t);
    const a = await run(3);
    const b = await run(3);
    expect(strip(b)).toEqual(strip(a));
    expect(b.best).toEqual(a.best);
    const c = await run(4);
    expect(c.trials.map((t) => t.planOptions)).not.toEqual(a.trials.map((t) => t.planOptions));
  });

  it('tune scores binary and multiclass tasks by their own metrics, on a per-task hold-out', {
    timeout: scaled(60_000),
  }, async () => {
    const g = new TaskGraph({ input: { features: 3 } });
    g.addTask('click', { kind: 'binary' });
    g.addTask('segment', { kind: 'multiclass', classes: 3 });
    g.addAffinity('click', 'segment', { weight: 0.5 });
    const x: number[][] = [];
    const click: number[] = [];
    const segment: number[] = [];
    for (let i = 0; i < 60; i++) {
      const row = [Math.sin(i), Math.cos(3 * i), (i % 7) / 7];
      x.push(row);
      click.push(row[0]! > 0 ? 1 : 0);
      // The segment is labelled on a third of the rows only.
      segment.push(i % 3 === 0 ? (row[1]! > 0.3 ? 2 : row[1]! > -0.3 ? 1 : 0) : -1);
    }
    const result = await tune(g, { x, y: { click, segment } }, { budget: { trials: 2 } });
    expect(result.best.score.tasks.click!.metric).toBe('auc');
    expect(result.best.score.tasks.segment!.metric).toBe('accuracy');
    // 20 % of each task's labelled rows: 12 of 60 for click, 4 of 20 for segment (some rows shared).
    expect(result.rows.train + result.rows.valid).toBe(60);
    expect(result.rows.valid).toBeGreaterThanOrEqual(12);
    expect(result.rows.valid).toBeLessThanOrEqual(16);
  });

  it('tune starts from a learned graph: measureAffinity on the training rows, then groupTasks', async () => {
    const family = generateTaskFamily({ seed: 3, trainRows: 80, groups: 2, tasksPerGroup: 2 });
    const result = await tune(family.graph, family.train, {
      strategies: ['learned'],
      budget: { trials: 2 },
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 4 },
    });
    expect(
      result.notes.some((n) => n.startsWith('learned graph: lookahead on the training rows')),
    ).toBe(true);
    for (const t of result.trials) {
      expect(t.space).toBe('learned');
      expect(t.strategy).toBe('clustered');
      const groups = (t.planOptions.clustered as { groups: string[][] }).groups;
      expect(groups.flat().sort()).toEqual(family.graph.nodes().sort());
      expect(groups.length).toBeGreaterThanOrEqual(2);
    }
  }, 60_000);

  it('soft with many tasks draws only what the fast tower step trains: static balancing, no dropout', () => {
    const soft = getSearchSpace('soft')!;
    const draws = (tasks: number) => {
      const g = new TaskGraph({ input: { features: 3 } });
      for (let i = 0; i < tasks; i++) g.addTask(`t${i}`, { kind: 'regression' });
      const ctx = { graph: g, spec: readGraph(g), train: { x: [[0, 0, 0]], y: {} }, seed: 0 };
      const random = seededRandom(5);
      return Array.from({ length: 40 }, () => soft.sample(random, ctx, undefined));
    };
    const many = draws(20);
    expect(new Set(many.map((c) => c.fitOptions.balance))).toEqual(new Set(['static']));
    expect(new Set(many.map((c) => (c.planOptions.trunk as { dropout: number }).dropout))).toEqual(
      new Set([0]),
    );
    const few = draws(4);
    expect(new Set(few.map((c) => c.fitOptions.balance)).size).toBeGreaterThan(1);
    expect(few.some((c) => (c.planOptions.trunk as { dropout: number }).dropout > 0)).toBe(true);
  });

  it('tune refuses a bad option with an OptionsError that says where and how to fix it', async () => {
    const family = generateTaskFamily({ seed: 1, trainRows: 30, groups: 2, tasksPerGroup: 2 });
    const call = (options: unknown) =>
      tune(family.graph, family.train, options as Parameters<typeof tune>[2]);
    await expect(call({ strategies: ['hard', 'sotf'] })).rejects.toThrow(OptionsError);
    await expect(call({ strategies: ['hard', 'sotf'] })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/tune: unknown strategy (got "sotf"; expected one of single, hard, clustered, soft, mmoe, learned) → at options.strategies[1]. Pick registered search spaces, or add one with registerSearchSpace.]`,
    );
    await expect(call({ budget: { trials: 0 } })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/tune: budget.trials must be at least 1 (got 0). Use e.g. trials: 20. → at options.budget.trials]`,
    );
    await expect(call({ fitOptions: { epochs: 50 } })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/tune: fitOptions.epochs is decided by tune (got 50) → at options.fitOptions.epochs. Remove it: tune sets it for every trial.]`,
    );
    await expect(
      call({ schedule: { minEpochs: 10, maxEpochs: 5 } }),
    ).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/tune: schedule.minEpochs is above schedule.maxEpochs (got 10 > 5) → at options.schedule.minEpochs. Lower minEpochs or raise maxEpochs.]`,
    );
  });
});
