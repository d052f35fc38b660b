import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  fit,
  loadModel,
  planLayerClasses,
  plan,
  saveModel,
  SeededDropout,
  TaskGraph,
  type FitOptions,
} from '../../src/index.js';
import { cpu, features, weightsOf } from './fixture.js';
import { removeDir, tempDir, thrown } from '../hardening/helpers.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('dropout');
});
afterAll(() => removeDir(root));

function graph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 4 } });
  g.addTask('a', { kind: 'regression' });
  g.addTask('b', { kind: 'binary' });
  g.addAffinity('a', 'b', { weight: 0.8 });
  return g;
}
const x = features(48, 4, 3);
const DATA = { x, y: { a: x.map((v) => v[0]! + v[1]!), b: x.map((v) => (v[2]! > 0 ? 1 : 0)) } };
const OPTIONS: FitOptions = {
  epochs: 4,
  batchSize: 16,
  seed: 3,
  metrics: false,
  optimizer: { name: 'adam', learningRate: 0.05 },
};
const model = () =>
  compile(graph(), { strategy: 'hard', trunk: { units: [16, 8], dropout: 0.4 }, seed: 1 });
const same = (p: Float32Array[], q: Float32Array[]) =>
  p.length === q.length && p.every((w, i) => w.every((v, j) => v === q[i]![j]));

describe('seeded dropout', () => {
  it('draws a new mask at every call in training, restarts with reseed, and passes inputs through in inference', () => {
    const layer = new SeededDropout({ rate: 0.5, seed: 7 });
    const ones = tf.ones([200, 10]);
    const masks = tf.tidy(() =>
      [0, 1, 2].map(() =>
        Array.from((layer.apply(ones, { training: true }) as tf.Tensor).dataSync()),
      ),
    );
    expect(masks[0]).not.toEqual(masks[1]);
    expect(masks[1]).not.toEqual(masks[2]);
    // Kept inputs are scaled by 1 / (1 - rate); about half are dropped.
    expect(new Set(masks[0])).toEqual(new Set([0, 2]));
    const dropped = masks[0]!.filter((v) => v === 0).length / 2000;
    expect(dropped).toBeGreaterThan(0.45);
    expect(dropped).toBeLessThan(0.55);
    layer.reseed(7);
    const again = tf.tidy(() =>
      Array.from((layer.apply(ones, { training: true }) as tf.Tensor).dataSync()),
    );
    expect(again).toEqual(masks[0]);
    const inference = tf.tidy(() =>
      Array.from((layer.apply(ones, { training: false }) as tf.Tensor).dataSync()),
    );
    expect(inference.every((v) => v === 1)).toBe(true);
    ones.dispose();
  });

  it('refuses a rate outside [0, 1) and a fractional seed', () => {
    expect(() => new SeededDropout({ rate: 1 })).toThrow(/rate must be a number in \[0, 1\)/);
    expect(() => new SeededDropout({ rate: -0.1 })).toThrow(/rate/);
    expect(() => new SeededDropout({ rate: 0.2, seed: 1.5 })).toThrow(
      /seed must be a whole number/,
    );
  });

  it('is the dropout layer of planned stacks', () => {
    const p = plan(graph(), { strategy: 'hard', trunk: { units: [16, 8], dropout: 0.4 } });
    expect(planLayerClasses(p)).toContain('MtgraphDropout');
    const m = model();
    const dropouts = m.model.layers.filter((l) => l instanceof SeededDropout);
    expect(dropouts.map((l) => l.name)).toEqual(
      [...m.layerNames.blocks.values()].flat().map((s) => s.dropout),
    );
    m.dispose();
  });

  it('makes fit reproducible: the same seed gives the same weights, another seed others', async () => {
    const runs = [];
    for (const seed of [3, 3, 4]) {
      const m = model();
      await fit(m, DATA, { ...OPTIONS, seed });
      runs.push(weightsOf(m));
      m.dispose();
    }
    expect(same(runs[0]!, runs[1]!)).toBe(true);
    expect(same(runs[0]!, runs[2]!)).toBe(false);
  });

  it('a run interrupted and resumed from its checkpoint draws the masks of the uninterrupted run', async () => {
    const straight = model();
    await fit(straight, DATA, OPTIONS);
    const dir = path.join(root, 'resume');
    const first = model();
    const stop = new Error('interrupted');
    expect(
      await thrown(() =>
        fit(first, DATA, {
          ...OPTIONS,
          checkpoint: { dir },
          onEpochEnd: (epoch) => {
            if (epoch === 1) throw stop;
          },
        }),
      ),
    ).toBe(stop);
    const resumed = model();
    await fit(resumed, DATA, { ...OPTIONS, checkpoint: { dir }, resumeFrom: dir });
    expect(same(weightsOf(resumed), weightsOf(straight))).toBe(true);
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it('survives save and load: same predictions, dropout layers restored, training goes on', async () => {
    const m = model();
    await fit(m, DATA, OPTIONS);
    const dir = path.join(root, 'saved');
    await saveModel(m, dir);
    const loaded = await loadModel(dir);
    expect(
      loaded.model.layers
        .filter((l) => l instanceof SeededDropout)
        .map((l) => (l as SeededDropout).rate),
    ).toEqual([0.4, 0.4]);
    const input = tf.tensor2d(x);
    const [p, q] = [m, loaded].map((k) =>
      (k.model.predict(input) as tf.Tensor[]).map((t) => Array.from(t.dataSync())),
    );
    expect(q).toEqual(p);
    const before = tf.memory().numTensors;
    await fit(loaded, DATA, { ...OPTIONS, epochs: 1 });
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
    m.dispose();
    loaded.dispose();
  });
});
