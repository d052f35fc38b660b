import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  initBackend,
  generateTaskFamily,
  plan,
  build,
  taskParameters,
  measureAffinity,
  OptionsError,
  type TaskFamily,
} from '../../src/index.js';
import { sharedBlocks, sharedVariables } from '../../src/affinity/index.js';

let family: TaskFamily;
const TRUNK = { units: [6, 4] };

beforeAll(async () => {
  await initBackend();
  family = generateTaskFamily({ groups: 2, tasksPerGroup: 2, seed: 3, trainRows: 64 });
});

describe('shared parameters of a plan, for measuring affinity', () => {
  it.each(['hard', 'clustered', 'tree', 'cross-stitch', 'mmoe', 'ple'])(
    '%s: the shared variables are taskParameters(model).shared, and the plan names shared parts',
    (strategy) => {
      const model = build(plan(family.graph, { strategy, trunk: TRUNK, seed: 1 } as never));
      try {
        const shared = sharedVariables(model);
        expect(shared).toEqual(taskParameters(model).shared);
        expect(shared.length).toBeGreaterThan(0);
        expect(sharedBlocks(model.plan).length).toBeGreaterThan(0);
      } finally {
        model.dispose();
      }
    },
  );

  it('cross-stitch: the units and the tower layers they mix are shared, the heads are not', () => {
    const model = build(plan(family.graph, { strategy: 'cross-stitch', trunk: TRUNK, seed: 1 }));
    try {
      const parts = sharedBlocks(model.plan);
      expect(parts.length).toBe(
        model.plan.couplings.filter((c) => c.kind === 'cross-stitch').length,
      );
      expect(parts.every((p) => p.startsWith('cross-stitch#'))).toBe(true);
      const shared = new Set(sharedVariables(model));
      for (const name of model.layerNames.couplings.values()) {
        for (const w of model.model.getLayer(name).trainableWeights)
          expect(shared.has(w.read() as tf.Variable)).toBe(true);
      }
      const firstTowerLayer = model.layerNames.towers.get(model.plan.tasks[0]!.id)![0]!.dense;
      expect(
        model.model
          .getLayer(firstTowerLayer)
          .trainableWeights.every((w) => shared.has(w.read() as tf.Variable)),
      ).toBe(true);
      for (const head of model.layerNames.heads.values()) {
        for (const w of model.model.getLayer(head).trainableWeights)
          expect(shared.has(w.read() as tf.Variable)).toBe(false);
      }
    } finally {
      model.dispose();
    }
  });

  it('ple: task experts of a lower level feed the shared gate, so every task reaches them', () => {
    const p = plan(family.graph, { strategy: 'ple', trunk: TRUNK, seed: 1 });
    const parts = sharedBlocks(p);
    const taskExpert = p.blocks.find(
      (b) => b.role === 'expert' && b.tasks.length === 1 && b.id.startsWith('ple0.'),
    )!;
    const lastLevelTaskExpert = p.blocks.find(
      (b) => b.role === 'expert' && b.tasks.length === 1 && b.id.startsWith('ple1.'),
    )!;
    expect(parts).toContain(taskExpert.id);
    expect(parts).toContain('ple0.gate.shared');
    expect(parts).not.toContain(lastLevelTaskExpert.id);
  });

  it.each(['single', 'soft'])(
    '%s shares no parameter: nothing shared, and measureAffinity says so',
    async (strategy) => {
      const p = plan(family.graph, { strategy, trunk: TRUNK, seed: 1 } as never);
      expect(sharedBlocks(p)).toEqual([]);
      const model = build(p);
      try {
        expect(sharedVariables(model)).toEqual([]);
      } finally {
        model.dispose();
      }
      const error = await measureAffinity(family.graph, family.train, {
        plan: { strategy } as never,
        steps: 2,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OptionsError);
      expect((error as OptionsError).path).toBe('options.plan.strategy');
    },
  );

  it('gradient-cosine measures through cross-stitch units, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const r = await measureAffinity(family.graph, family.train, {
      method: 'gradient-cosine',
      plan: { strategy: 'cross-stitch', trunk: TRUNK },
      steps: 6,
      warmup: 2,
      seed: 1,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps).toBe(4);
    expect(r.notes[0]).toMatch(/cross-stitch#0/);
    // Tasks in one connected component of the declared graph are mixed, so their gradients meet.
    const i = r.tasks.indexOf('g0_t0');
    const j = r.tasks.indexOf('g0_t1');
    expect(Number.isFinite(r.matrix[i]![j]!)).toBe(true);
  });
});
