import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  initBackend,
  generateTaskFamily,
  compile,
  plan,
  type TaskFamily,
} from '../../src/index.js';
import { measureAffinity, groupTasks, type AffinityResult } from '../../src/affinity/index.js';
import { adjustedRand } from './ari.js';

let family: TaskFamily;

beforeAll(async () => {
  await initBackend();
  family = generateTaskFamily({ groups: 3, tasksPerGroup: 3, seed: 1, trainRows: 200 });
});

/** Mean directed affinity between two different tasks of one true group, and of two groups. */
function withinAcross(r: AffinityResult, groups: string[][]): { within: number; across: number } {
  const groupOf = new Map(groups.flatMap((g, gi) => g.map((t) => [t, gi] as const)));
  let within = 0;
  let nw = 0;
  let across = 0;
  let na = 0;
  r.tasks.forEach((a, i) =>
    r.tasks.forEach((b, j) => {
      if (i === j) return;
      if (groupOf.get(a) === groupOf.get(b)) {
        within += r.matrix[i]![j]!;
        nw++;
      } else {
        across += r.matrix[i]![j]!;
        na++;
      }
    }),
  );
  return { within: within / nw, across: across / na };
}

describe.each(['lookahead', 'gradient-cosine'] as const)('measureAffinity %s', (method) => {
  it(`${method} rates tasks of one group above tasks of different groups, without leaking tensors`, async () => {
    const before = tf.memory().numTensors;
    const r = await measureAffinity(family.graph, family.train, { method, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    const { within, across } = withinAcross(r, family.truth.groups);
    expect(within).toBeGreaterThan(across + 0.05);
    expect(r.steps).toBe(40);
    expect(r.trainingSteps).toBe(50);
    for (const row of r.matrix) for (const v of row) expect(v >= -1 && v <= 1).toBe(true);
    r.graph.forEachEdge((_e, attrs) => {
      expect(attrs.source).toBe(method);
      expect(Math.abs(attrs.weight!)).toBeLessThanOrEqual(1);
    });
    expect(r.graph.size).toBe(36);
    const grouped = groupTasks(r, { groups: 3 });
    expect(adjustedRand(grouped.groups, family.truth.groups)).toBeGreaterThanOrEqual(0.6);
  });
});

describe('measureAffinity lookahead', () => {
  it('lookahead graphs plan with clustered into the true groups', async () => {
    const r = await measureAffinity(family.graph, family.train, {
      method: 'lookahead',
      seed: 1,
      threshold: 0.05,
    });
    const p = plan(r.graph, { strategy: 'clustered', trunk: { units: [8] } });
    expect(p.groups).toEqual(family.truth.groups);
  });

  it('lookahead trains a given model in place and leaves no tensor behind', async () => {
    const model = compile(family.graph, {
      strategy: 'mmoe',
      mmoe: { experts: 2 },
      trunk: { units: [8] },
      seed: 2,
    });
    try {
      const start = model.model.getWeights().map((w) => w.dataSync().slice());
      const before = tf.memory().numTensors;
      const r = await measureAffinity(family.graph, family.train, {
        method: 'lookahead',
        model,
        steps: 6,
        warmup: 2,
        measureEvery: 2,
      });
      expect(tf.memory().numTensors).toBe(before);
      expect(r.steps).toBe(2);
      expect(r.notes[0]).toMatch(/expert0, expert1/);
      const after = model.model.getWeights().map((w) => w.dataSync());
      expect(after.some((w, i) => w.some((v, k) => v !== start[i]![k]))).toBe(true);
      for (const row of r.raw) for (const v of row) expect(Number.isFinite(v)).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it("lookahead 'max' scale gives the strongest pair weight 1", async () => {
    const r = await measureAffinity(family.graph, family.train, {
      method: 'lookahead',
      scale: 'max',
      steps: 20,
      warmup: 10,
    });
    let largest = 0;
    r.matrix.forEach((row, i) =>
      row.forEach((v, j) => {
        if (i !== j) largest = Math.max(largest, Math.abs(v));
      }),
    );
    expect(largest).toBeCloseTo(1, 10);
  });
});
