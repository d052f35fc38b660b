import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, TaskGraph, compile, LaplacianPenalty } from '../../src/index.js';

beforeAll(async () => {
  await initBackend();
});

function chain(): TaskGraph {
  const g = new TaskGraph({ input: { features: 3 } });
  for (const id of ['a', 'b', 'c', 'd']) g.addTask(id, { kind: 'regression' });
  g.addAffinity('a', 'b', { weight: 0.9 });
  g.addAffinity('b', 'c', { weight: 0.5 });
  g.addAffinity('a', 'c', { weight: 0.2 });
  g.addAffinity('c', 'd', { weight: 0.7 });
  return g;
}

describe('LaplacianPenalty', () => {
  it('has one row per coupled task, however the pairs hold their weights', () => {
    const vars = ['a', 'b', 'c'].map((_, i) => [tf.variable(tf.fill([2, 2], i + 1)), tf.variable(tf.zeros([2]))]);
    // A fresh array per pair end, as a caller might build it.
    const penalty = new LaplacianPenalty(1, [[[...vars[0]!], [...vars[1]!], 1], [[...vars[1]!], [...vars[2]!], 0.5]], 0);
    expect(penalty.size).toBe(3);
    // (1-2)^2*4*1 + (2-3)^2*4*0.5 = 4 + 2
    expect(tf.tidy(() => penalty.value().dataSync()[0])).toBeCloseTo(6, 5);
    tf.dispose(vars.flat());
  });

  it('its gradient equals the gradient of the per-pair sum', () => {
    const model = compile(chain(), { strategy: 'soft', trunk: { units: [4, 3] }, seed: 3, soft: { strength: 0.3 } });
    const pairs = model.plan.couplings.flatMap((c) => (c.kind === 'laplacian' ? [{ c, pairs: c.pairs }] : []));
    expect(pairs.length).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    const ours = tf.variableGrads(() => model.penalty(), model.trainableVariables);
    // Reference: strength * sum w ||W_a - W_b||^2, written pair by pair from the layer weights.
    const layer = (task: string, l: number | 'head') => {
      const names = model.layerNames;
      const name = l === 'head' ? names.heads.get(task)! : names.towers.get(task)![l]!.dense;
      return model.model.getLayer(name).trainableWeights.map((w) => w.read());
    };
    const reference = tf.variableGrads(() => tf.addN(pairs.flatMap(({ c }) => c.pairs.map(([a, b, w]) => {
      const wa = layer(a, c.layer);
      const wb = layer(b, c.layer);
      return tf.mul(tf.addN(wa.map((x, i) => tf.sum(tf.squaredDifference(x, wb[i]!)))), w * c.strength);
    }))) as tf.Scalar, model.trainableVariables);
    expect(ours.value.dataSync()[0]).toBeCloseTo(reference.value.dataSync()[0]!, 5);
    let compared = 0;
    for (const [name, g] of Object.entries(reference.grads)) {
      const mine = ours.grads[name]!;
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(mine, g))).dataSync()[0]!);
      expect(diff).toBeLessThan(1e-5);
      compared++;
    }
    expect(compared).toBeGreaterThan(4);
    tf.dispose([ours.value, reference.value, ...Object.values(ours.grads), ...Object.values(reference.grads)]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
