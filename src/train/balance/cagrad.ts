import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { says } from '../../schema/common.js';
import { defineBalance } from './types.js';
import { numberOption, optionsObjectError } from './options.js';
import { dot, matVec, projectOntoSimplex, toMatrix, type Matrix } from './numeric.js';

export interface CagradOptions {
  /** Radius c of the ball around the mean gradient g0 the update may move in, relative to ||g0|| (default 0.5). */
  c: number;
  /** Divide the update by 1 (0), 1 + c^2 (1, the default, as in the authors' code) or 1 + c (2). */
  rescale: 0 | 1 | 2;
}

/**
 * Minimises `F(w) = wᵀ b + s * sqrt(wᵀ G w)` over the simplex: projected gradient descent (Euclidean
 * projection onto the simplex) with Armijo backtracking, from the uniform weights, until a step
 * moves w by less than 1e-10 or after `maxIterations`. F is convex, so this reaches its minimum.
 */
function minimizeDual(
  gram: Matrix,
  b: readonly number[],
  s: number,
  maxIterations = 1000,
): number[] {
  const n = gram.length;
  const f = (w: readonly number[]) =>
    dot(w, b) + s * Math.sqrt(Math.max(0, dot(w, matVec(gram, w))));
  let w = Array.from({ length: n }, () => 1 / n);
  let fw = f(w);
  let step = 1;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const gw = matVec(gram, w);
    const norm = Math.sqrt(Math.max(0, dot(w, gw)));
    const grad = b.map((bi, t) => bi + (norm > 0 ? (s * gw[t]!) / norm : 0));
    let moved = 0;
    step *= 2;
    for (;;) {
      const next = projectOntoSimplex(w.map((x, t) => x - step * grad[t]!));
      const delta = next.map((x, t) => x - w[t]!);
      const fn = f(next);
      moved = Math.sqrt(dot(delta, delta));
      // Armijo condition for projected gradient: f(next) <= f(w) + grad·delta + |delta|^2 / (2 step)
      if (fn <= fw + dot(grad, delta) + (moved * moved) / (2 * step) + 1e-15 || moved < 1e-14) {
        w = next;
        fw = Math.min(fw, fn);
        break;
      }
      step /= 2;
    }
    if (moved < 1e-10) break;
  }
  return w;
}

/**
 * CAGrad's update as a combination of the task gradients, from their Gram matrix. With
 * `g0 = mean_t g_t` and `phi = c^2 ||g0||^2`, the dual `min_{w in simplex} g_wᵀ g0 + sqrt(phi) ||g_w||`
 * (g_w = sum_t w_t g_t) is solved on the host (`minimizeDual`); the update is
 * `d = g0 + (sqrt(phi) / ||g_w||) g_w`, divided by the rescale factor. Returns the coefficients
 * `(1/K + lambda w_t) / rescale` of d on the task gradients (lambda = sqrt(phi) / ||g_w||).
 */
export function cagradWeights(
  gram: Matrix,
  c: number,
  rescale: CagradOptions['rescale'] = 1,
): number[] {
  const n = gram.length;
  const divide = rescale === 1 ? 1 + c * c : rescale === 2 ? 1 + c : 1;
  const uniform = Array.from({ length: n }, () => 1 / n);
  // Scale-free: solve on G / mean(diag G) (the minimiser is the same; lambda is scale-free too).
  const kappa = gram.reduce((s, row, t) => s + row[t]!, 0) / n;
  if (!(kappa > 0)) return uniform.map((u) => u / divide);
  const g = gram.map((row) => row.map((x) => x / kappa));
  const g0Norm = Math.sqrt(Math.max(0, dot(uniform, matVec(g, uniform))));
  const s = c * g0Norm;
  if (!(s > 0)) return uniform.map((u) => u / divide);
  const b = matVec(g, uniform); // b_t = g_t · g0
  const w = minimizeDual(g, b, s);
  const gwNorm = Math.sqrt(Math.max(0, dot(w, matVec(g, w))));
  const lambda = gwNorm > 1e-12 * g0Norm ? s / gwNorm : 0;
  return w.map((wt) => (1 / n + lambda * wt) / divide);
}

/**
 * `cagrad` (conflict-averse gradient descent, Liu et al. 2021): on the shared parameters, the update
 * d maximises the worst task's improvement `min_t g_t · d` within the ball `||d - g0|| <= c ||g0||`
 * around the mean gradient g0 (c = 0.5 by default); task-specific parameters get their own
 * task's gradient.
 */
export const cagradBalance = defineBalance<CagradOptions>({
  name: 'cagrad',
  summary:
    'conflict-averse gradient: the best worst-task improvement near the mean gradient (Liu et al. 2021)',
  needs: 'task-gradients',
  options: z.strictObject(
    {
      c: numberOption('c', '0.5', { min: 0 }).optional(),
      rescale: z
        .union([z.literal(0), z.literal(1), z.literal(2)], {
          error: says('rescale must be 0, 1 or 2', 'Use rescale: 1 (divide by 1 + c^2).'),
        })
        .optional(),
    },
    { error: optionsObjectError('cagrad', '{ c: 0.5 }') },
  ),
  defaults: { c: 0.5, rescale: 1 },
  create({ tasks, options }) {
    const n = tasks.length;
    return {
      needs: 'task-gradients',
      combineGradients(g) {
        const gram = toMatrix(g.gram().dataSync(), n);
        return { weights: tf.tensor1d(cagradWeights(gram, options.c, options.rescale), 'float32') };
      },
      dispose() {},
    };
  },
});
