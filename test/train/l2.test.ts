import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  fit,
  loadModel,
  OptionsError,
  plan,
  saveModel,
  TaskGraph,
} from '../../src/index.js';
import { explain } from '../../src/plan/index.js';
import { cpu, features } from './fixture.js';

beforeAll(cpu);
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function graph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 4 } });
  g.addTask('a', { kind: 'regression' });
  g.addTask('b', { kind: 'regression' });
  g.addAffinity('a', 'b', { weight: 0.8 });
  return g;
}
const data = () => {
  const x = features(64, 4, 3);
  return { x, y: { a: x.map((v) => v[0]! + v[1]!), b: x.map((v) => v[0]! - v[2]!) } };
};
/** sum of squares of every Dense kernel of the trunk. */
const trunkSquares = (m: ReturnType<typeof compile>) =>
  tf.tidy(() =>
    [...m.layerNames.blocks.values()]
      .flat()
      .reduce(
        (s, step) =>
          s + tf.sum(tf.square(m.model.getLayer(step.dense).getWeights()[0]!)).dataSync()[0]!,
        0,
      ),
  );

describe('l2 weight decay on planned layers', () => {
  it('is planned only when asked, and explained', () => {
    const off = plan(graph(), { strategy: 'hard', trunk: { units: [8, 4] } });
    expect(off.blocks[0]!.layers.every((l) => !('l2' in l))).toBe(true);
    const on = plan(graph(), { strategy: 'hard', trunk: { units: [8, 4], l2: 1e-3 } });
    expect(on.blocks[0]!.layers.map((l) => l.l2)).toEqual([1e-3, 1e-3]);
    expect(explain(on)).toMatch(/8 l2 0\.001 -> 4 l2 0\.001/);
  });

  it('refuses a negative or infinite l2 with an OptionsError at the option', () => {
    for (const bad of [-1, Infinity, 'big']) {
      const error = (() => {
        try {
          plan(graph(), { strategy: 'hard', trunk: { l2: bad as number } });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(OptionsError);
      expect((error as OptionsError).path).toBe('options.trunk.l2');
    }
  });

  it('adds l2 * sum(W^2) to the training loss: the penalty is reported and the kernels end smaller', async () => {
    const runs = await Promise.all(
      [0, 0.05].map(async (l2) => {
        const m = compile(graph(), { strategy: 'hard', trunk: { units: [8, 4], l2 }, seed: 2 });
        const before = trunkSquares(m);
        const history = await fit(m, data(), {
          epochs: 30,
          batchSize: 64,
          metrics: false,
          optimizer: { name: 'adam', learningRate: 0.02 },
        });
        const after = trunkSquares(m);
        m.dispose();
        return { before, after, penalty: history.penalty };
      }),
    );
    const [plain, decayed] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(plain.before).toBeCloseTo(decayed.before, 5); // same start
    expect(plain.penalty.every((p) => p === 0)).toBe(true);
    // epoch 1's penalty is the mean over its one step of 0.05 * sum(W^2) at the start of the step
    expect(decayed.penalty[0]).toBeCloseTo(0.05 * decayed.before, 3);
    expect(decayed.after).toBeLessThan(0.8 * plain.after);
  });

  it('survives save and load', async () => {
    const m = compile(graph(), { strategy: 'hard', trunk: { units: [8, 4], l2: 0.01 } });
    const dir = mkdtempSync(path.join(tmpdir(), 'mtgraph-l2-'));
    dirs.push(dir);
    await saveModel(m, path.join(dir, 'model'));
    const loaded = await loadModel(path.join(dir, 'model'));
    expect(loaded.model.calculateLosses()).toHaveLength(2);
    const expected = tf.tidy(() => 0.01 * trunkSquares(loaded));
    expect(tf.tidy(() => tf.addN(loaded.model.calculateLosses()).dataSync()[0])).toBeCloseTo(
      expected,
      5,
    );
    tf.dispose(loaded.model.calculateLosses());
    m.dispose();
    loaded.dispose();
  });
});
