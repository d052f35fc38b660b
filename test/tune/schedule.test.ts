import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, generateTaskFamily, OptionsError, TaskGraph } from '../../src/index.js';
import { cpuSeconds } from '../../src/platform/index.js';
import { tune, rungEpochs, SOFT_RUNG_SCALE } from '../../src/tune/index.js';
import { scaled } from '../timeouts.js';

describe('tune: CPU-time budget, rungs per space, label-less tasks', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('cpuSeconds reads this process CPU time, which grows with work done', () => {
    const a = cpuSeconds();
    expect(typeof a).toBe('number');
    let x = 0;
    for (let i = 0; i < 5e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    expect(cpuSeconds()!).toBeGreaterThan(a!);
  });

  it('tune stops at the CPU-time budget and reports the CPU seconds it used', {
    timeout: scaled(60_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 2, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const before = tf.memory().numTensors;
    const result = await tune(family.graph, family.train, {
      strategies: ['hard'],
      budget: { cpuSeconds: 2 },
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 4096 },
    });
    // Paused runs (more than PAUSED_RUNS_MAX: some given up) are all freed at the end.
    expect(tf.memory().numTensors).toBe(before);
    expect(result.stopped).toBe('cpuSeconds');
    expect(result.cpuSeconds).toBeGreaterThanOrEqual(2);
    expect(result.trials.filter((t) => t.status === 'done').length).toBeGreaterThan(0);
    expect(result.trials.filter((t) => t.status === 'cut').length).toBeLessThanOrEqual(1);
    const cut = result.trials.find((t) => t.status === 'cut');
    if (cut) expect(cut.error).toMatch(/CPU-time budget ran out/);
  });

  it('a bad CPU budget, or one without a CPU clock, is an OptionsError saying how to fix it', async () => {
    const family = generateTaskFamily({ seed: 1, trainRows: 30, groups: 2, tasksPerGroup: 2 });
    const call = (options: unknown) =>
      tune(family.graph, family.train, options as Parameters<typeof tune>[2]);
    await expect(call({ budget: { cpuSeconds: -1 } })).rejects.toThrow(OptionsError);
    await expect(call({ budget: { cpuSeconds: -1 } })).rejects.toThrowErrorMatchingInlineSnapshot(
      `[OptionsError: mtgraph/tune: budget.cpuSeconds must be positive (got -1). Use e.g. cpuSeconds: 600. → at options.budget.cpuSeconds]`,
    );
    await expect(call({ budget: { minutes: 3 } })).rejects.toThrow(
      /budget must be \{ trials\?, seconds\?, cpuSeconds\? \}|minutes/,
    );
    // A host without a process CPU clock (a browser): the CPU budget is refused, not ignored.
    const usage = process.cpuUsage;
    (process as { cpuUsage?: unknown }).cpuUsage = undefined;
    try {
      expect(cpuSeconds()).toBeUndefined();
      await expect(call({ budget: { cpuSeconds: 60 } })).rejects.toThrowErrorMatchingInlineSnapshot(
        `[OptionsError: mtgraph/tune: budget.cpuSeconds needs the process's CPU clock, which this host does not have (got cpuSeconds: 60; expected Node) → at options.budget.cpuSeconds. Use budget.seconds (wall time) here.]`,
      );
    } finally {
      process.cpuUsage = usage;
    }
  });

  it('rungs: a space with a rungScale (soft) starts longer, and a run that stopped early is not promoted', {
    timeout: scaled(120_000),
  }, async () => {
    expect(rungEpochs({ minEpochs: 2, eta: 3, maxEpochs: 40 })).toEqual([2, 6, 18, 40]);
    expect(rungEpochs({ minEpochs: 2, eta: 3, maxEpochs: 40 }, SOFT_RUNG_SCALE)).toEqual([
      8, 24, 40,
    ]);
    const family = generateTaskFamily({ seed: 5, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const result = await tune(family.graph, family.train, {
      strategies: ['hard', 'soft'],
      budget: { trials: 14 },
      seed: 2,
      patience: 2,
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 40 },
    });
    const soft = result.trials.filter((t) => t.space === 'soft');
    const hard = result.trials.filter((t) => t.space === 'hard');
    expect(soft.length).toBeGreaterThan(0);
    expect(hard.length).toBeGreaterThan(0);
    for (const t of soft) expect(t.maxEpochs).toBe([8, 16, 32, 40][t.rung]);
    for (const t of hard) expect(t.maxEpochs).toBe([2, 4, 8, 16, 32, 40][t.rung]);
    // A candidate that stopped early at one rung never runs at a higher one.
    for (const t of result.trials) {
      if (t.status !== 'done' || t.epochs >= t.maxEpochs) continue;
      const later = result.trials.filter((u) => u.candidate === t.candidate && u.rung > t.rung);
      expect(later).toEqual([]);
    }
    expect(result.trials.some((t) => t.rung > 0)).toBe(true);
  });

  it('a promoted run continues its paused run: the same as one uninterrupted run of the longer rung', {
    timeout: scaled(60_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 6, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const before = tf.memory().numTensors;
    const halving = await tune(family.graph, family.train, {
      strategies: ['hard'],
      budget: { trials: 3 },
      seed: 1,
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 4 },
      objective: 'mean',
    });
    expect(tf.memory().numTensors).toBe(before);
    const promoted = halving.trials[2]!;
    expect(promoted.rung).toBe(1);
    expect(promoted.candidate).toBeLessThan(2);
    expect(promoted.epochs).toBe(4);
    // The same candidate trained straight for 4 epochs (one rung of 4).
    const straight = await tune(family.graph, family.train, {
      strategies: ['hard'],
      budget: { trials: promoted.candidate + 1 },
      seed: 1,
      schedule: { minEpochs: 4, eta: 2, maxEpochs: 4 },
      objective: 'mean',
    });
    const same = straight.trials[promoted.candidate]!;
    expect(same.planOptions).toEqual(promoted.planOptions);
    expect(same.epochs).toBe(4);
    expect(same.bestEpochs).toBe(promoted.bestEpochs);
    for (const [task, score] of Object.entries(same.scores))
      expect(promoted.scores[task]).toBeCloseTo(score, 6);
    expect(promoted.value).toBeCloseTo(same.value, 6);
  });

  it('a label-less task (a centre tied to every task) does not stop the runs: trials are scored', {
    timeout: scaled(60_000),
  }, async () => {
    const g = new TaskGraph({ input: { features: 2 } });
    const tasks = ['a', 'b', 'c'];
    for (const t of tasks) g.addTask(t, { kind: 'regression' });
    g.addTask('centre', { kind: 'regression' });
    for (const t of tasks) g.addAffinity('centre', t, { weight: 1 });
    const x: number[][] = [];
    const y: Record<string, number[]> = { a: [], b: [], c: [] };
    for (let i = 0; i < 90; i++) {
      const row = [Math.sin(i), Math.cos(2 * i)];
      x.push(row);
      tasks.forEach((t, k) =>
        y[t]!.push(row[0]! * (1 + 0.1 * k) - row[1]! + 0.05 * Math.sin(7 * i)),
      );
    }
    const mask = { centre: new Float32Array(90) };
    const result = await tune(
      g,
      { x, y, mask },
      {
        strategies: ['hard', 'soft'],
        budget: { trials: 4 },
        objective: 'mean',
        schedule: { minEpochs: 4, eta: 2, maxEpochs: 16 },
      },
    );
    const scoredTrials = result.trials.filter((t) => t.bestEpochs > 0);
    expect(scoredTrials.length).toBe(result.trials.length);
    // Scored on the labelled tasks: r2 above 0 (better than their mean).
    expect(result.best.score.tasks.a!.value).toBeGreaterThan(0);
  });
});
