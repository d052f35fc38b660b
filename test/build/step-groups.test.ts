import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { build, Columns, MultiHead } from '../../src/build/index.js';
import { fusedStepGroups } from '../../src/build/step-groups.js';
import { plan } from '../../src/plan/compile-plan.js';
import { fit, loadModel, saveModel } from '../../src/index.js';
import { removeDir, tempDir } from '../hardening/helpers.js';
import { STRATEGIES, smallGraph } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = await tempDir('step-groups');
});
afterAll(() => removeDir(root));

const TRUNK = { units: [6, 4] };
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

function data(rows: number) {
  const x = Array.from({ length: rows }, (_, r) => Array.from({ length: 5 }, (_, j) => Math.sin(r * 1.3 + j * 0.7)));
  return {
    x,
    y: {
      click: x.map((v) => (v[0]! > 0 ? 1 : 0)),
      'segment id/2': x.map((v) => (v[1]! > 0.3 ? 2 : v[1]! > -0.3 ? 1 : 0)),
      spend: x.map((v) => v[2]! + 0.5 * v[3]!),
      tags: x.map((v) => [v[3]! > 0 ? 1 : 0, v[4]! > 0 ? 1 : 0]),
    },
  };
}

describe('fusedStepGroups', () => {
  it('groups first layers that read one tensor: experts, uncoupled towers; never coupled towers, batch norm or l2', () => {
    const g = smallGraph();
    const groups = (options: Parameters<typeof plan>[1]) => fusedStepGroups(plan(g, options)).map((s) => s.members.map((m) => `${m.kind}:${m.id}`));
    // mmoe: the experts read the input and serve every task.
    const mmoe = plan(g, { strategy: 'mmoe', trunk: TRUNK, mmoe: { experts: 3 } });
    expect(groups({ strategy: 'mmoe', trunk: TRUNK, mmoe: { experts: 3 } })).toEqual([mmoe.blocks.map((b) => `block:${b.id}`)]);
    // single: every tower reads the input.
    expect(groups({ strategy: 'single', trunk: TRUNK })).toEqual([g.nodes().map((t) => `tower:${t}`)]);
    // hard with towers: the towers read the trunk (one block: nothing to fuse it with).
    expect(groups({ strategy: 'hard', trunk: TRUNK, tower: { units: [3] } })).toEqual([g.nodes().map((t) => `tower:${t}`)]);
    // soft ties its towers and cross-stitch mixes them: their layers stay their own.
    expect(groups({ strategy: 'soft', trunk: TRUNK })).toEqual([]);
    expect(groups({ strategy: 'cross-stitch', trunk: TRUNK })).toEqual([]);
    // Batch norm or an L2 penalty keep a layer its own Dense.
    expect(groups({ strategy: 'single', trunk: { ...TRUNK, batchNorm: true } })).toEqual([]);
    expect(groups({ strategy: 'single', trunk: { ...TRUNK, l2: 0.01 } })).toEqual([]);
    // ple: on the input, the shared experts and the tasks' first-level experts (which the shared
    // gate mixes for every task's second level: shared too); on the second level the shared
    // experts, which read the shared gate. The tasks' second-level experts read their own gates.
    const ple = fusedStepGroups(plan(g, { strategy: 'ple', trunk: TRUNK }));
    expect(ple.map((s) => [s.parent, s.members.length])).toEqual([[null, 6], ['ple0.gate.shared', 2]]);
    // Blocks read by one task and blocks read by several are never fused together.
    const clustered = plan(g, { strategy: 'clustered', trunk: TRUNK, clustered: { method: 'threshold', threshold: 0.55 } });
    const sizes = new Map(clustered.blocks.map((b) => [b.id, b.tasks.length]));
    for (const s of fusedStepGroups(clustered)) {
      const kinds = new Set(s.members.map((m) => (m.kind === 'tower' ? 1 : Math.min(2, sizes.get(m.id)!))));
      expect(kinds.size).toBe(1);
    }
  });

  it.each(STRATEGIES)('%s: the fused model starts from the same weights and computes the same outputs, before and after training', async (strategy) => {
    const p = plan(smallGraph(), { strategy, trunk: TRUNK, tower: { units: [3] }, seed: 4 });
    const fused = build(p);
    const plain = build(p, { fuseSteps: false });
    try {
      expect(plain.layerNames.fusedSteps.size).toBe(0);
      expect(fused.layerNames.fusedSteps.size).toBe(fusedStepGroups(p).length);
      // Each member's columns of the fused kernel are its own Dense's initial kernel.
      for (const [name, members] of fused.layerNames.fusedSteps) {
        const layer = fused.model.getLayer(name) as MultiHead;
        expect(layer).toBeInstanceOf(MultiHead);
        const [kernel] = layer.getWeights();
        let begin = 0;
        for (const m of members) {
          expect(fused.model.getLayer(m)).toBeInstanceOf(Columns);
          const own = plain.model.getLayer(m).getWeights()[0]!;
          const cols = tf.slice(kernel!, [0, begin], [-1, own.shape[1]!]);
          expect(maxDiff(cols, own)).toBe(0);
          cols.dispose();
          begin += own.shape[1]!;
        }
        expect(begin).toBe(kernel!.shape[1]);
      }
      const d = data(48);
      const x = tf.tensor2d(d.x);
      const compare = () => {
        const a = fused.model.predict(x) as tf.Tensor[];
        const b = plain.model.predict(x) as tf.Tensor[];
        const diff = Math.max(...a.map((t, i) => maxDiff(t, b[i]!)));
        tf.dispose([...a, ...b]);
        return diff;
      };
      expect(compare()).toBeLessThan(1e-5);
      const options = { epochs: 3, batchSize: 16, seed: 2, metrics: false as const, optimizer: { name: 'adam' as const, learningRate: 0.01 } };
      const before = tf.memory().numTensors;
      const h1 = await fit(fused, d, options);
      expect(tf.memory().numTensors).toBe(before);
      const h2 = await fit(plain, d, options);
      h1.loss.forEach((l, i) => expect(Math.abs(l - h2.loss[i]!)).toBeLessThan(1e-4 * Math.max(1, l)));
      expect(h1.loss.at(-1)).toBeLessThan(h1.loss[0]!);
      expect(compare()).toBeLessThan(1e-3);
      x.dispose();
    } finally {
      fused.dispose();
      plain.dispose();
    }
  });

  it('a fused model saves and loads equal; a model saved without fused layers (earlier versions) loads as it is', async () => {
    const p = plan(smallGraph(), { strategy: 'mmoe', trunk: TRUNK, mmoe: { experts: 3 }, seed: 1 });
    const x = tf.tensor2d(data(10).x);
    for (const fuseSteps of [true, false]) {
      const model = build(p, { fuseSteps });
      const dir = path.join(root, `mmoe-${fuseSteps}`);
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      expect(loaded.layerNames.fusedSteps.size).toBe(fuseSteps ? 1 : 0);
      expect(loaded.model.layers.some((l) => l instanceof MultiHead)).toBe(fuseSteps);
      const a = model.model.predict(x) as tf.Tensor[];
      const b = loaded.model.predict(x) as tf.Tensor[];
      a.forEach((t, i) => expect(maxDiff(t, b[i]!)).toBeLessThan(1e-6));
      tf.dispose([...a, ...b]);
      // And it trains further.
      const h = await fit(loaded, data(32), { epochs: 2, batchSize: 16, metrics: false });
      expect(h.loss.every(Number.isFinite)).toBe(true);
      model.dispose();
      loaded.dispose();
    }
    x.dispose();
  });

  it('Columns applies any planned activation as tfjs-layers does', () => {
    const x = tf.randomNormal([4, 6], 0, 2, 'float32', 5);
    for (const activation of ['relu', 'relu6', 'elu', 'selu', 'tanh', 'sigmoid', 'linear', 'softplus', 'softsign', 'swish', 'mish'] as const) {
      const ours = new Columns({ begin: 1, size: 3, activation }).apply(x) as tf.Tensor;
      const slice = tf.slice(x, [0, 1], [-1, 3]);
      const theirs = tf.layers.activation({ activation }).apply(slice) as tf.Tensor;
      expect(maxDiff(ours, theirs), activation).toBe(0);
      tf.dispose([ours, slice, theirs]);
    }
    expect(() => new Columns({ begin: 0, size: 1, activation: 'gelu-ish' })).toThrow(/unknown activation "gelu-ish"/);
    x.dispose();
  });
});
