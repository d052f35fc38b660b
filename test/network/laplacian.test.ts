import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, TaskGraph, compile, LaplacianPenalty, PlanError } from '../../src/index.js';

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

type Pairs = Array<[string, string, number]>;

/** Random weights (kernel and bias) per task; tasks f and g have another shape than a-e. */
function randomWeights(seed: number): Map<string, tf.Variable[]> {
  const shape = (t: string): [number, number] => (t === 'f' || t === 'g' ? [2, 5] : [3, 4]);
  return new Map(
    ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((t, i) => [
      t,
      [
        tf.variable(tf.randomNormal(shape(t), 0, 1, 'float32', seed + 2 * i)),
        tf.variable(tf.randomNormal([shape(t)[1]], 0, 1, 'float32', seed + 2 * i + 1)),
      ],
    ]),
  );
}

/** Our value and gradients next to those of `strength * sum w ||W_a - W_b||^2`, written pair by pair. */
function againstPairwise(strength: number, pairs: Pairs, seed: number) {
  const weights = randomWeights(seed);
  const vars = [...weights.values()].flat();
  const before = tf.memory().numTensors;
  const penalty = new LaplacianPenalty(
    strength,
    pairs.map(([a, b, w]) => [weights.get(a)!, weights.get(b)!, w] as const),
    0,
  );
  const ours = tf.variableGrads(() => penalty.value(), vars);
  const reference = tf.variableGrads(
    () =>
      tf.addN([
        tf.scalar(0),
        ...pairs.map(([a, b, w]) => {
          const wb = weights.get(b)!;
          return tf.mul(
            tf.addN(weights.get(a)!.map((x, k) => tf.sum(tf.squaredDifference(x, wb[k]!)))),
            strength * w,
          );
        }),
      ]) as tf.Scalar,
    vars,
  );
  const value = [ours.value.dataSync()[0]!, reference.value.dataSync()[0]!];
  // A variable without a gradient (a task in no pair, or paired with weight 0 only) counts as 0.
  const names = new Set([...Object.keys(ours.grads), ...Object.keys(reference.grads)]);
  let gradDiff = 0;
  for (const name of names) {
    gradDiff = Math.max(
      gradDiff,
      tf.tidy(() => {
        const like = vars.find((v) => v.name === name)!;
        const a = ours.grads[name] ?? tf.zerosLike(like);
        const b = reference.grads[name] ?? tf.zerosLike(like);
        return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
      }),
    );
  }
  tf.dispose([
    ours.value,
    reference.value,
    ...Object.values(ours.grads),
    ...Object.values(reference.grads),
  ]);
  const leaked = tf.memory().numTensors - before;
  tf.dispose(vars);
  return { value, gradDiff, gradients: Object.keys(ours.grads).length, leaked };
}

const GRAPHS: Record<string, Pairs> = {
  'a chain with unequal weights, d to g in no pair': [
    ['a', 'b', 0.9],
    ['b', 'c', 0.25],
  ],
  'two components and a triangle': [
    ['a', 'b', 0.3],
    ['c', 'd', 0.9],
    ['d', 'e', 0.5],
    ['c', 'e', 0.1],
  ],
  'every pair of a-e, all weights different': ['a', 'b', 'c', 'd', 'e'].flatMap((x, i, all) =>
    all.slice(i + 1).map((y, j): [string, string, number] => [x, y, 0.1 + 0.07 * (i * 5 + j)]),
  ),
  'a pair of weight 0 and a repeated pair': [
    ['a', 'b', 0],
    ['b', 'c', 0.4],
    ['c', 'b', 0.2],
    ['d', 'e', 1],
  ],
  'two shapes: f-g beside a-b-c': [
    ['a', 'b', 0.6],
    ['f', 'g', 0.8],
    ['b', 'c', 0.7],
  ],
};

describe('LaplacianPenalty', () => {
  for (const backend of ['wasm', 'cpu']) {
    describe(`on ${backend}`, () => {
      let previous = '';
      beforeAll(async () => {
        previous = tf.getBackend();
        await tf.setBackend(backend);
      });
      afterAll(async () => {
        await tf.setBackend(previous);
      });
      it.each(Object.entries(GRAPHS))(
        'value and gradients equal the pairwise form: %s',
        (_, pairs) => {
          expect(tf.getBackend()).toBe(backend);
          const { value, gradDiff, gradients, leaked } = againstPairwise(0.37, pairs, 11);
          expect(value[0]).toBeCloseTo(value[1]!, 4);
          expect(value[0]).toBeGreaterThan(0);
          expect(gradDiff).toBeLessThan(1e-5);
          expect(gradients).toBeGreaterThanOrEqual(4);
          expect(leaked).toBe(0);
        },
      );
    });
  }

  it('is 0 with strength 0, and without pairs', () => {
    for (const [strength, pairs] of [
      [0, GRAPHS['two components and a triangle']!],
      [1, []],
    ] as const) {
      const weights = randomWeights(3);
      const before = tf.memory().numTensors;
      const penalty = new LaplacianPenalty(
        strength,
        pairs.map(([a, b, w]) => [weights.get(a)!, weights.get(b)!, w] as const),
        'head',
      );
      expect(tf.tidy(() => penalty.value().dataSync()[0])).toBe(0);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([...weights.values()].flat());
    }
  });

  it('refuses to pair weights of different shapes', () => {
    const weights = randomWeights(5);
    expect(() => new LaplacianPenalty(1, [[weights.get('a')!, weights.get('f')!, 0.5]], 1)).toThrow(
      PlanError,
    );
    expect(
      () => new LaplacianPenalty(1, [[weights.get('a')!, weights.get('f')!, 0.5]], 1),
    ).toThrowErrorMatchingInlineSnapshot(
      `[PlanError: mtgraph/build: laplacian:tower.1 pairs weights of different shapes (got [3x4, 4] and [2x5, 5]). Pair only layers of one shape.]`,
    );
    tf.dispose([...weights.values()].flat());
  });

  it('has one row per coupled task, however the pairs hold their weights', () => {
    const vars = ['a', 'b', 'c'].map((_, i) => [
      tf.variable(tf.fill([2, 2], i + 1)),
      tf.variable(tf.zeros([2])),
    ]);
    // A fresh array per pair end, as a caller might build it.
    const penalty = new LaplacianPenalty(
      1,
      [
        [[...vars[0]!], [...vars[1]!], 1],
        [[...vars[1]!], [...vars[2]!], 0.5],
      ],
      0,
    );
    expect(penalty.size).toBe(3);
    // (1-2)^2*4*1 + (2-3)^2*4*0.5 = 4 + 2
    expect(tf.tidy(() => penalty.value().dataSync()[0])).toBeCloseTo(6, 5);
    tf.dispose(vars.flat());
  });

  it('its gradient equals the gradient of the per-pair sum', () => {
    const model = compile(chain(), {
      strategy: 'soft',
      trunk: { units: [4, 3] },
      seed: 3,
      soft: { strength: 0.3 },
    });
    const pairs = model.plan.couplings.flatMap((c) =>
      c.kind === 'laplacian' ? [{ c, pairs: c.pairs }] : [],
    );
    expect(pairs.length).toBeGreaterThan(0);
    const before = tf.memory().numTensors;
    const ours = tf.variableGrads(() => model.penalty(), model.trainableVariables);
    // Reference: strength * sum w ||W_a - W_b||^2, written pair by pair from the layer weights.
    const layer = (task: string, l: number | 'head') => {
      const names = model.layerNames;
      const name = l === 'head' ? names.heads.get(task)! : names.towers.get(task)![l]!.dense;
      return model.model.getLayer(name).trainableWeights.map((w) => w.read());
    };
    const reference = tf.variableGrads(
      () =>
        tf.addN(
          pairs.flatMap(({ c }) =>
            c.pairs.map(([a, b, w]) => {
              const wa = layer(a, c.layer);
              const wb = layer(b, c.layer);
              return tf.mul(
                tf.addN(wa.map((x, i) => tf.sum(tf.squaredDifference(x, wb[i]!)))),
                w * c.strength,
              );
            }),
          ),
        ) as tf.Scalar,
      model.trainableVariables,
    );
    expect(ours.value.dataSync()[0]).toBeCloseTo(reference.value.dataSync()[0]!, 5);
    let compared = 0;
    for (const [name, g] of Object.entries(reference.grads)) {
      const mine = ours.grads[name]!;
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(mine, g))).dataSync()[0]!);
      expect(diff).toBeLessThan(1e-5);
      compared++;
    }
    expect(compared).toBeGreaterThan(4);
    tf.dispose([
      ours.value,
      reference.value,
      ...Object.values(ours.grads),
      ...Object.values(reference.grads),
    ]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
