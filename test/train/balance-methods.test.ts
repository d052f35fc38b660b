import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cagradWeights,
  dwaWeights,
  getBalance,
  gradientNormalizers,
  gradnormGradient,
  minNormWeights,
  pcgradWeights,
  rlwWeights,
  uncertaintyObjective,
  uncertaintyScales,
  type GradientBalancer,
  type TaskGradients,
} from '../../src/train/index.js';
import { projectOntoSimplex } from '../../src/train/balance/numeric.js';
import { seededRandom } from '../../src/graph/random.js';
import { cpu, fixtureModel } from './fixture.js';

beforeAll(cpu);

type Vec = number[];
const dotV = (a: Vec, b: Vec) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const gramOf = (gs: Vec[]) => gs.map((a) => gs.map((b) => dotV(a, b)));
const combine = (w: Vec, gs: Vec[]) =>
  gs[0]!.map((_, k) => gs.reduce((s, g, t) => s + w[t]! * g[k]!, 0));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, digits = 6) => {
  expect(a.length).toBe(b.length);
  Array.from(a).forEach((x, i) => expect(x, `[${i}]`).toBeCloseTo(b[i]!, digits));
};

/** A TaskGradients built by hand (tests only): rows `rows`, last-layer columns `last`. */
function handGradients(losses: Vec, rows: Vec[], last: Vec[] = rows): TaskGradients {
  const matrix = tf.tensor2d(rows);
  return {
    losses: tf.tensor1d(losses),
    matrix,
    gram: () => tf.matMul(matrix, matrix, false, true),
    last: () => tf.tensor2d(last),
  };
}

describe('pcgrad', () => {
  it('pcgradWeights on two conflicting 2-D gradients gives the hand-projected sum', () => {
    // g1 = (1, 0), g2 = (-1, 1): g1·g2 = -1 < 0, so each is projected off the other:
    // g1' = g1 - (-1 / |g2|^2) g2 = (1, 0) + 0.5 (-1, 1) = (0.5, 0.5)
    // g2' = g2 - (-1 / |g1|^2) g1 = (-1, 1) + (1, 0)     = (0, 1)
    // update = g1' + g2' = (0.5, 1.5) = 2 g1 + 1.5 g2
    const gs = [
      [1, 0],
      [-1, 1],
    ];
    const w = pcgradWeights(gramOf(gs), () => [0, 1]);
    close(w, [2, 1.5]);
    close(combine(w, gs), [0.5, 1.5]);
    // projected gradients are orthogonal to what they conflicted with
    expect(dotV([0.5, 0.5], gs[1]!)).toBeCloseTo(0);
    expect(dotV([0, 1], gs[0]!)).toBeCloseTo(0);
  });

  it('pcgradWeights leaves non-conflicting gradients alone and matches projecting vectors in the given order', () => {
    close(
      pcgradWeights(
        gramOf([
          [1, 0],
          [1, 1],
        ]),
        () => [1, 0],
      ),
      [1, 1],
    );
    const gs = [
      [1, 0, 0.5],
      [-1, 1, 0],
      [0.2, -1, -1],
    ];
    const orders = [
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 2],
    ];
    // Direct PCGrad on the vectors, task i visiting orders[i].
    const projected = gs.map((gi, i) => {
      let p = [...gi];
      for (const j of orders[i]!) {
        const d = dotV(p, gs[j]!);
        if (d < 0) p = p.map((x, k) => x - (d / dotV(gs[j]!, gs[j]!)) * gs[j]![k]!);
      }
      return p;
    });
    const expected = projected.reduce((s, p) => s.map((x, k) => x + p[k]!), [0, 0, 0]);
    close(
      combine(
        pcgradWeights(gramOf(gs), (i) => orders[i]!),
        gs,
      ),
      expected,
    );
  });
});

describe('uncertainty', () => {
  it('uncertaintyObjective matches the hand value of both forms and their gradients in s', () => {
    // Regression task: 0.5 e^{-s} L + 0.5 s with L = 2, s = 0       -> 1
    // Binary task:     e^{-s} L + 0.5 s     with L = 0.5, s = ln 2  -> 0.25 + 0.5 ln 2
    const scales = uncertaintyScales(['regression', 'binary'], 'kind');
    expect(scales).toEqual([0.5, 1]);
    const loss = tf.tensor1d([2, 0.5]);
    const s = tf.tensor1d([0, Math.LN2]);
    const c = tf.tensor1d(scales);
    const { total, weights } = uncertaintyObjective(loss, s, c);
    expect(total.dataSync()[0]).toBeCloseTo(1 + 0.25 + 0.5 * Math.LN2, 6);
    close(weights.dataSync(), [0.5, 0.5]);
    // d/ds = -c e^{-s} L + 0.5: -0.5 * 2 + 0.5 = -0.5 and -0.5 * 0.5 + 0.5 = 0.25
    const grad = tf.grad((v: tf.Tensor) => uncertaintyObjective(loss, v as tf.Tensor1D, c).total)(
      s,
    );
    close(grad.dataSync(), [-0.5, 0.25]);
    expect(uncertaintyScales(['regression', 'binary'], 'regression')).toEqual([0.5, 0.5]);
    expect(uncertaintyScales(['regression', 'binary'], 'classification')).toEqual([1, 1]);
    tf.dispose([loss, s, c, total, weights, grad]);
  });

  it('uncertainty balancer owns one trainable log-variance per task and weighs by c * exp(-s)', () => {
    const model = fixtureModel({
      features: 3,
      tasks: { r: { kind: 'regression' }, b: { kind: 'binary' } },
    });
    const balancer = getBalance('uncertainty')!.create({
      tasks: model.plan.tasks,
      epochs: 1,
      seed: 0,
      options: { form: 'kind', init: Math.log(4) },
      model,
      optimizer: { name: 'adam', learningRate: 0.01 },
    });
    if (balancer.needs !== undefined && balancer.needs !== 'losses')
      throw new Error('expected a loss balancer');
    expect(balancer.variables).toHaveLength(1);
    expect(balancer.variables![0]!.trainable).toBe(true);
    tf.tidy(() => {
      const { total, weights } = balancer.combine(tf.tensor1d([1, 1]));
      close(weights.dataSync(), [0.125, 0.25]);
      expect(total.dataSync()[0]).toBeCloseTo(0.125 + 0.25 + Math.log(4), 5);
    });
    balancer.dispose();
    model.dispose();
  });
});

describe('dwa', () => {
  it('dwaWeights from a given loss history: K * softmax(ratio / T)', () => {
    // L(e-2) = [1, 2], L(e-1) = [0.5, 1.5]: r = [0.5, 0.75]; T = 2: softmax([0.25, 0.375]) * 2
    const e1 = Math.exp(0.25);
    const e2 = Math.exp(0.375);
    close(dwaWeights([0.5, 1.5], [1, 2], 2), [(2 * e1) / (e1 + e2), (2 * e2) / (e1 + e2)]);
    close(dwaWeights([0.5, 1.5], [1, 2], 2), [0.937584, 1.062416], 5);
    // equal ratios -> equal weights; a task with no loss counts as ratio 1
    close(dwaWeights([1, 2, 3], [2, 4, 6], 2), [1, 1, 1]);
    close(dwaWeights([NaN, 1], [NaN, 1], 2), [1, 1]);
    expect(dwaWeights([0.2, 0.9, 1.1], [1, 1, 1], 0.5).reduce((a, b) => a + b)).toBeCloseTo(3);
  });
});

describe('gradnorm', () => {
  it('gradnormGradient on a fixed toy: sign(G - mean(G) r^alpha) * norm', () => {
    // w = [1, 1], ||grad_W L|| = [2, 1], L/L0 = [0.5, 1]: G = [2, 1], mean 1.5,
    // r = [2/3, 4/3], targets 1.5 * r^1.5 = [0.8165, 2.3094]: task 0 is above (shrink), task 1 below (grow).
    const g = tf.tidy(() =>
      gradnormGradient(tf.tensor1d([1, 1]), tf.tensor1d([2, 1]), tf.tensor1d([0.5, 1]), 1.5),
    );
    close(g.dataSync(), [2, -1]);
    expect(1.5 * (2 / 3) ** 1.5).toBeCloseTo(0.8165, 4);
    g.dispose();
  });

  it('gradnorm balancer steps its weights with the optimizer on L_grad and renormalises them to sum to K', () => {
    const model = fixtureModel({
      features: 3,
      tasks: { a: { kind: 'regression' }, b: { kind: 'regression' } },
    });
    const balancer = getBalance('gradnorm')!.create({
      tasks: model.plan.tasks,
      epochs: 1,
      seed: 0,
      options: { alpha: 1.5 },
      model,
      optimizer: { name: 'sgd', learningRate: 0.1 },
    }) as GradientBalancer;
    expect(balancer.needs).toBe('task-gradients');
    const rows = [
      [2, 0],
      [0, 1],
    ]; // last-layer gradients with norms 2 and 1
    // Step 1 sets L0 = [2, 1] (ratios 1): G = [2, 1], targets 1.5 -> gradient [2, -1]
    // w = [1, 1] - 0.1 [2, -1] = [0.8, 1.1], renormalised: * 2 / 1.9
    const first = tf.tidy(() => {
      const r = balancer.combineGradients(handGradients([2, 1], rows));
      return [r.weights.arraySync(), r.own!.arraySync()];
    });
    close(first[0]!, [1, 1]);
    close(first[1]!, [1, 1]);
    const w1 = [(0.8 * 2) / 1.9, (1.1 * 2) / 1.9];
    // Step 2, losses [1, 1]: ratios [0.5, 1], r = [2/3, 4/3]; G = w1 * [2, 1]
    const second = tf.tidy(() =>
      balancer.combineGradients(handGradients([1, 1], rows)).weights.arraySync(),
    );
    close(second, w1, 5);
    const G = [w1[0]! * 2, w1[1]!];
    const mean = (G[0]! + G[1]!) / 2;
    const targets = [mean * (2 / 3) ** 1.5, mean * (4 / 3) ** 1.5];
    expect(G[0]! > targets[0]! && G[1]! < targets[1]!).toBe(true); // gradient [2, -1] again
    const stepped = [w1[0]! - 0.2, w1[1]! + 0.1];
    const sum = stepped[0]! + stepped[1]!;
    const third = tf.tidy(() =>
      balancer.combineGradients(handGradients([1, 1], rows)).weights.arraySync(),
    );
    close(
      third,
      stepped.map((w) => (w * 2) / sum),
      5,
    );
    balancer.dispose();
    model.dispose();
  });
});

describe('mgda', () => {
  it('minNormWeights for two conflicting 2-D gradients is the closest point of the segment to the origin', () => {
    // g1 = (1, 0), g2 = (-1, 1): gamma = (|g2|^2 - g1·g2) / |g1 - g2|^2 = (2 + 1) / 5 = 0.6
    // point 0.6 (1, 0) + 0.4 (-1, 1) = (0.2, 0.4), orthogonal to g1 - g2 = (2, -1)
    const gs = [
      [1, 0],
      [-1, 1],
    ];
    const alpha = minNormWeights(gramOf(gs));
    close(alpha, [0.6, 0.4]);
    const point = combine(alpha, gs);
    close(point, [0.2, 0.4]);
    expect(dotV(point, [2, -1])).toBeCloseTo(0);
    // one gradient inside the other's half-space: the shorter one
    close(
      minNormWeights(
        gramOf([
          [1, 0],
          [3, 0],
        ]),
      ),
      [1, 0],
    );
  });

  it('minNormWeights for three gradients with known answers', () => {
    // orthonormal: the centroid, norm^2 1/3
    close(
      minNormWeights(
        gramOf([
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
      ),
      [1 / 3, 1 / 3, 1 / 3],
    );
    // (1,1) is dominated: the midpoint of (1,0) and (0,1)
    close(
      minNormWeights(
        gramOf([
          [1, 0],
          [0, 1],
          [1, 1],
        ]),
      ),
      [0.5, 0.5, 0],
    );
    // the origin lies inside the hull of (1,0), (-1,2), (-1,-1): a1 - a2 - a3 = 0 and 2 a2 - a3 = 0
    // on the simplex give alpha = (1/2, 1/6, 1/3), norm 0
    const gs = [
      [1, 0],
      [-1, 2],
      [-1, -1],
    ];
    const alpha = minNormWeights(gramOf(gs));
    expect(Math.hypot(...combine(alpha, gs))).toBeLessThan(1e-6);
    close(alpha, [1 / 2, 1 / 6, 1 / 3], 5);
    expect(alpha.reduce((a, b) => a + b)).toBeCloseTo(1, 10);
    // a 4-task case in 3-D against a brute-force search over the simplex
    const hs = [
      [1, 0.2, 0],
      [-0.3, 1, 0.1],
      [0.1, -0.4, 1],
      [0.8, 0.9, -0.5],
    ];
    const beta = minNormWeights(gramOf(hs));
    let best = Infinity;
    const n = 60;
    for (let i = 0; i <= n; i++)
      for (let j = 0; i + j <= n; j++)
        for (let k = 0; i + j + k <= n; k++) {
          best = Math.min(
            best,
            Math.hypot(...combine([i / n, j / n, k / n, (n - i - j - k) / n], hs)),
          );
        }
    expect(Math.hypot(...combine(beta, hs))).toBeLessThanOrEqual(best + 1e-9);
  });

  it('gradientNormalizers: none, l2, loss and loss+', () => {
    const gram = [
      [4, 0],
      [0, 9],
    ];
    expect(gradientNormalizers(gram, [0.5, 2], 'none')).toEqual([1, 1]);
    expect(gradientNormalizers(gram, [0.5, 2], 'l2')).toEqual([2, 3]);
    expect(gradientNormalizers(gram, [0.5, 2], 'loss')).toEqual([0.5, 2]);
    expect(gradientNormalizers(gram, [0.5, 2], 'loss+')).toEqual([1, 6]);
  });
});

describe('cagrad', () => {
  it('cagradWeights on a derived 2-task case', () => {
    // g1 = (2, 0), g2 = (-1, 1), c = 0.5: g0 = (0.5, 0.5), |g0| = 1/sqrt(2), sqrt(phi) = c |g0| = 0.35355.
    // With w = (a, 1 - a): g_w = (3a - 1, 1 - a), g_w·g0 = a, |g_w|^2 = 10a^2 - 8a + 2.
    // F(a) = a + 0.35355 sqrt(10a^2 - 8a + 2); F'(0) = 1 + 0.35355 * (-8) / (2 sqrt 2) = 0 and F is convex,
    // so a = 0: g_w = g2, lambda = 0.35355 / sqrt(2) = 0.25, d = g0 + 0.25 g2 = (0.25, 0.75),
    // divided by 1 + c^2 = 1.25: (0.2, 0.6) = 0.4 g1 + 0.6 g2.
    const gs = [
      [2, 0],
      [-1, 1],
    ];
    const w = cagradWeights(gramOf(gs), 0.5, 1);
    close(w, [0.4, 0.6], 5);
    close(combine(w, gs), [0.2, 0.6], 5);
    // d (before rescaling) sits on the ball's edge and improves both tasks equally (0.5 each)
    const d = combine(
      w.map((x) => x * 1.25),
      gs,
    );
    expect(Math.hypot(d[0]! - 0.5, d[1]! - 0.5)).toBeCloseTo(0.5 * Math.SQRT1_2, 5);
    expect(dotV(gs[0]!, d)).toBeCloseTo(0.5, 5);
    expect(dotV(gs[1]!, d)).toBeCloseTo(0.5, 5);
    // and no point of the ball does better for the worse task (primal check on a grid of the circle)
    for (let k = 0; k < 360; k++) {
      const angle = (k * Math.PI) / 180;
      const p = [
        0.5 + 0.5 * Math.SQRT1_2 * Math.cos(angle),
        0.5 + 0.5 * Math.SQRT1_2 * Math.sin(angle),
      ];
      expect(Math.min(dotV(gs[0]!, p), dotV(gs[1]!, p))).toBeLessThanOrEqual(0.5 + 1e-9);
    }
  });

  it('cagradWeights: symmetric conflict, c = 0 and rescale variants', () => {
    // g1 = (1, 2), g2 = (1, -2): g0 = (1, 0), the dual picks w = (1/2, 1/2), g_w = g0, lambda = 0.5,
    // d = 1.5 g0 = 0.75 g1 + 0.75 g2; / 1.25 -> 0.6 each
    const gram = gramOf([
      [1, 2],
      [1, -2],
    ]);
    close(cagradWeights(gram, 0.5, 1), [0.6, 0.6], 5);
    close(cagradWeights(gram, 0.5, 0), [0.75, 0.75], 5);
    close(cagradWeights(gram, 0.5, 2), [0.5, 0.5], 5);
    // c = 0 is the mean gradient
    close(
      cagradWeights(
        gramOf([
          [2, 0],
          [-1, 1],
        ]),
        0,
        1,
      ),
      [0.5, 0.5],
    );
    // scale-free: the weights do not depend on the gradients' magnitude
    close(
      cagradWeights(
        gramOf([
          [2e-4, 0],
          [-1e-4, 1e-4],
        ]),
        0.5,
        1,
      ),
      [0.4, 0.6],
      4,
    );
  });
});

describe('rlw', () => {
  it('rlwWeights are repeatable from a seed, differ between steps and sum to K', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const first = [rlwWeights(4, a), rlwWeights(4, a)];
    const again = [rlwWeights(4, b), rlwWeights(4, b)];
    expect(again).toEqual(first);
    expect(first[1]).not.toEqual(first[0]);
    for (const w of first) {
      expect(w.reduce((s, x) => s + x, 0)).toBeCloseTo(4, 10);
      expect(w.every((x) => x > 0)).toBe(true);
    }
  });
});

describe('numeric', () => {
  it('projectOntoSimplex projects onto {w >= 0, sum w = 1}', () => {
    close(projectOntoSimplex([0.5, 0.5, 0.5]), [1 / 3, 1 / 3, 1 / 3]);
    close(projectOntoSimplex([2, 0]), [1, 0]);
    close(projectOntoSimplex([0.6, 0.2]), [0.7, 0.3]);
    close(projectOntoSimplex([0.2, 0.3, 0.5]), [0.2, 0.3, 0.5]);
  });
});
