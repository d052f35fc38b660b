import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  evaluate,
  fit,
  loadModel,
  OptionsError,
  plan,
  saveModel,
  targetScale,
  TaskGraph,
} from '../../src/index.js';
import { MultiHead } from '../../src/network/index.js';
import { Objective } from '../../src/train/index.js';
import type { ScaledDense } from '../../src/network/layers/scaled-dense.js';
import { cpu, features } from './fixture.js';
import { removeDir, tempDir } from '../hardening/helpers.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('target-scale');
});
afterAll(() => removeDir(root));

/** Two regression tasks of very different units (a in thousands around 5,000; b near 0) and a binary one. */
function graph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 4 } });
  g.addTask('a', { kind: 'regression' });
  g.addTask('b', { kind: 'regression' });
  g.addTask('c', { kind: 'binary' });
  g.addAffinity('a', 'b', { weight: 0.7 });
  return g;
}
const x = features(256, 4, 7);
const DATA = {
  x,
  y: {
    a: x.map((v) => 5000 + 1000 * (v[0]! + 0.5 * v[1]! * v[2]!)),
    b: x.map((v, i) => (i % 9 === 0 ? NaN : 0.3 * (v[0]! - v[3]!))),
    c: x.map((v) => (v[1]! > 0 ? 1 : 0)),
  },
};

describe('targetScale', () => {
  it("gives each regression task its labels' mean and standard deviation, missing labels left out", () => {
    const scale = targetScale(graph(), DATA);
    expect(Object.keys(scale)).toEqual(['a', 'b']);
    const labelled = DATA.y.b.filter((v) => !Number.isNaN(v));
    const mean = labelled.reduce((s, v) => s + v, 0) / labelled.length;
    const std = Math.sqrt(labelled.reduce((s, v) => s + (v - mean) ** 2, 0) / labelled.length);
    expect(scale.b!.mean[0]).toBeCloseTo(mean, 5);
    expect(scale.b!.std[0]).toBeCloseTo(std, 5);
    expect(scale.a!.mean[0]).toBeGreaterThan(4800);
    expect(scale.a!.std[0]).toBeGreaterThan(300);
    // A constant target keeps std 1.
    expect(targetScale(graph(), { ...DATA, y: { ...DATA.y, b: x.map(() => 2) } }).b).toEqual({
      mean: [2],
      std: [1],
    });
  });

  it('scales each output of a multi-output regression task on its own, fused or not', async () => {
    const g = new TaskGraph({ input: { features: 4 } });
    g.addTask('pair', { kind: 'regression', outputs: 2 });
    g.addTask('one', { kind: 'regression' });
    const data = {
      x,
      y: { pair: x.map((v) => [100 + 50 * v[0]!, -3 + 0.1 * v[1]!]), one: x.map((v) => v[2]!) },
    };
    const scale = targetScale(g, data);
    expect(scale.pair!.mean[0]).toBeGreaterThan(90);
    expect(scale.pair!.mean[1]).toBeLessThan(-2.5);
    expect(scale.pair!.std[0]! / scale.pair!.std[1]!).toBeGreaterThan(100);
    for (const strategy of ['hard', 'single'] as const) {
      const model = compile(g, { strategy, trunk: { units: [8] }, seed: 1, targetScale: scale });
      await fit(model, data, {
        epochs: 30,
        batchSize: 32,
        metrics: false,
        optimizer: { name: 'adam', learningRate: 0.01 },
      });
      const result = await evaluate(model, data);
      expect(result.pair!.r2, strategy).toBeGreaterThan(0.8);
      model.dispose();
    }
  });

  it('puts the scale on the planned heads; bad scales raise an OptionsError at the option', () => {
    const p = plan(graph(), { strategy: 'hard', targetScale: { a: { mean: 5000, std: 1000 } } });
    expect(p.heads.a!.scale).toEqual({ mean: [5000], std: [1000] });
    expect(p.heads.b!.scale).toBeUndefined();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ z: { mean: 0, std: 1 } }, 'options.targetScale.z'],
      [{ c: { mean: 0, std: 1 } }, 'options.targetScale.c'],
      [{ a: { mean: 0, std: 0 } }, 'options.targetScale.a.std'],
      [{ a: { mean: NaN, std: 1 } }, 'options.targetScale.a.mean'],
      [{ a: { mean: [1, 2], std: 1 } }, 'options.targetScale.a.mean'],
      [{ a: { mean: 1 } }, 'options.targetScale.a.std'],
    ];
    for (const [targetScale, where] of cases) {
      const error = (() => {
        try {
          plan(graph(), { strategy: 'hard', targetScale: targetScale as never });
        } catch (e) {
          return e;
        }
      })();
      expect(error, where).toBeInstanceOf(OptionsError);
      expect((error as OptionsError).path, JSON.stringify(targetScale)).toBe(where);
    }
  });

  it('the training loss compares standardised outputs with standardised labels', () => {
    const p = plan(graph(), { strategy: 'hard', targetScale: { a: { mean: 10, std: 4 } } });
    const model = compile(graph(), { strategy: 'hard', targetScale: { a: { mean: 10, std: 4 } } });
    const objective = new Objective(p, model.outputIndex);
    const { num } = tf.tidy(() => {
      const outputs = [
        tf.tensor2d([[14], [10]]),
        tf.tensor2d([[1], [2]]),
        tf.tensor2d([[0.5], [0.5]]),
      ];
      const order = objective.order;
      const first: Record<string, number> = { a: 6, b: 0, c: 1 };
      const second: Record<string, number> = { a: 10, b: 1, c: 0 };
      const y = tf.tensor2d([order.map((t) => first[t]!), order.map((t) => second[t]!)]);
      const mask = tf.ones([2, 3]) as tf.Tensor2D;
      const sums = objective.sums(outputs, y as tf.Tensor2D, mask);
      return { num: Array.from(sums.num.dataSync()) };
    });
    // a: ((14 - 6) / 4)^2 + 0 = 4; b unscaled: 1 + 1 = 2.
    expect(num[objective.order.indexOf('a')]).toBeCloseTo(4, 5);
    expect(num[objective.order.indexOf('b')]).toBeCloseTo(2, 5);
    model.dispose();
  });

  it.each(['hard', 'single'] as const)(
    '%s: a task in thousands trains as well as one near 0, and predicts in its own units',
    async (strategy) => {
      const scores: Record<string, number> = {};
      for (const scaled of [true, false]) {
        const model = compile(graph(), {
          strategy,
          trunk: { units: [16] },
          seed: 2,
          ...(scaled ? { targetScale: targetScale(graph(), DATA) } : {}),
        });
        const head = model.model.getLayer(
          model.layerNames.fusedHeads.size > 0
            ? [...model.layerNames.fusedHeads.keys()][0]!
            : model.layerNames.heads.get('a')!,
        );
        if (scaled)
          expect(
            head instanceof MultiHead ? head.mean : (head as unknown as ScaledDense).mean,
          ).toBeDefined();
        const before = tf.memory().numTensors;
        const history = await fit(model, DATA, {
          epochs: 40,
          batchSize: 32,
          seed: 1,
          metrics: false,
          optimizer: { name: 'adam', learningRate: 0.01 },
        });
        expect(tf.memory().numTensors).toBe(before);
        // Unscaled, fit says which targets differ and how to fix it.
        if (scaled) expect(history.notes).toEqual([]);
        else {
          expect(history.notes).toHaveLength(1);
          expect(history.notes[0]).toMatch(/"a" has a root mean square of 5\d{3}, "b" 0\.\d+/);
          expect(history.notes[0]).toContain('targetScale: targetScale(graph, data)');
        }
        const result = await evaluate(model, DATA);
        scores[scaled ? 'scaled' : 'plain'] = result.a!.r2!;
        if (scaled) {
          const mean = tf.tidy(
            () =>
              tf
                .mean(
                  (model.model.predict(tf.tensor2d(x)) as tf.Tensor[])[
                    model.outputIndex.get('a')!
                  ]!,
                )
                .dataSync()[0]!,
          );
          expect(mean).toBeGreaterThan(4700);
          expect(mean).toBeLessThan(5300);
          expect(result.b!.r2!).toBeGreaterThan(0.8);
        }
        model.dispose();
      }
      expect(scores.scaled).toBeGreaterThan(0.8);
      expect(scores.scaled).toBeGreaterThan(scores.plain! + 0.3);
    },
  );

  it('fit notes regression targets 100x apart in size, not 50x apart, nor classification labels', async () => {
    const g = new TaskGraph({ input: { features: 4 } });
    for (const id of ['p', 'q']) g.addTask(id, { kind: 'regression' });
    g.addTask('c', { kind: 'binary' });
    const rows = x.slice(0, 64);
    for (const [factor, notes] of [
      [50, 0],
      [200, 1],
    ] as const) {
      const model = compile(g, { strategy: 'hard', trunk: { units: [4] } });
      const history = await fit(
        model,
        {
          x: rows,
          y: {
            p: rows.map(() => 1),
            q: rows.map((_, i) => (i % 2 ? factor : -factor)),
            c: rows.map((_, i) => i % 2),
          },
        },
        { epochs: 1, metrics: false },
      );
      expect(history.notes).toHaveLength(notes);
      if (notes) expect(history.notes[0]).toContain('"q" has a root mean square of 200, "p" 1');
      model.dispose();
    }
  });

  it('a scaled model interrupted and resumed from its checkpoint ends with the uninterrupted weights', async () => {
    const options = {
      epochs: 4,
      batchSize: 32,
      seed: 3,
      metrics: false,
      optimizer: { name: 'adam', learningRate: 0.01 },
    } as const;
    const make = () =>
      compile(graph(), {
        strategy: 'hard',
        trunk: { units: [8] },
        seed: 4,
        targetScale: targetScale(graph(), DATA),
      });
    const straight = make();
    await fit(straight, DATA, options);
    const dir = path.join(root, 'resume');
    const first = make();
    const stop = new Error('interrupted');
    await expect(
      fit(first, DATA, {
        ...options,
        checkpoint: { dir },
        onEpochEnd: (epoch) => {
          if (epoch === 1) throw stop;
        },
      }),
    ).rejects.toBe(stop);
    const resumed = make();
    await fit(resumed, DATA, { ...options, checkpoint: { dir }, resumeFrom: dir });
    const weights = (m: typeof straight) =>
      m.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(resumed)).toEqual(weights(straight));
    for (const m of [straight, first, resumed]) m.dispose();
  });

  it.each(['hard', 'single'] as const)(
    '%s: a scaled model saves and loads with equal predictions',
    async (strategy) => {
      const model = compile(graph(), {
        strategy,
        trunk: { units: [8] },
        targetScale: { a: { mean: 5000, std: 1000 }, b: { mean: 0, std: 0.3 } },
      });
      await fit(model, DATA, { epochs: 2, batchSize: 64, metrics: false });
      const dir = path.join(root, strategy);
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      expect(loaded.plan.heads.a!.scale).toEqual({ mean: [5000], std: [1000] });
      const input = tf.tensor2d(x);
      const [p, q] = [model, loaded].map((m) =>
        (m.model.predict(input) as tf.Tensor[]).map((t) => Array.from(t.dataSync())),
      );
      expect(q).toEqual(p);
      expect(Math.abs(p![model.outputIndex.get('a')!]![0]! - 5000)).toBeLessThan(4000);
      input.dispose();
      model.dispose();
      loaded.dispose();
    },
  );
});
