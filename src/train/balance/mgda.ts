import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { OptionsError } from '../../errors.js';
import { says } from '../../schema/common.js';
import { sharedRepresentation } from '../parameters.js';
import { defineBalance } from './types.js';
import { optionsObjectError } from './options.js';
import { matVec, minNormOnSegment, toMatrix, type Matrix } from './numeric.js';
import { hasChains } from '../../schema/chains.js';

export interface MgdaOptions {
  /**
   * MGDA-UB: find the weights from the gradients of the task losses with respect to the shared
   * representation (the output of the block every task reads) instead of the shared parameters;
   * then one ordinary pass minimises the weighted sum. Needs a model whose tasks all read one block.
   */
  upperBound: boolean;
  /**
   * How each task's gradient is scaled before the min-norm problem (Sener & Koltun's
   * normalisers): 'none' (default), 'l2' (its norm), 'loss' (its loss), 'loss+' (loss times norm).
   * The weights found then multiply the unscaled gradients (losses), as in the paper's code.
   */
  normalize: 'none' | 'l2' | 'loss' | 'loss+';
  /** Frank-Wolfe iterations at most (default 250). */
  maxIterations: number;
}

/**
 * The min-norm point of the convex hull of the task gradients, from their Gram matrix:
 * the weights `alpha` (on the simplex) minimising `||sum_t alpha_t g_t||^2 = alphaᵀ G alpha`.
 * Starts at the best pair's exact solution (so 1 and 2 tasks are exact), then runs Frank-Wolfe with
 * the exact line search towards the vertex of least `(G alpha)_t`, until the duality gap
 * `alphaᵀ G alpha - min_t (G alpha)_t` is at most `tolerance` times `alphaᵀ G alpha`.
 */
export function minNormWeights(
  gram: Matrix,
  options: { maxIterations?: number; tolerance?: number } = {},
): number[] {
  const n = gram.length;
  if (n === 1) return [1];
  const maxIterations = options.maxIterations ?? 250;
  const tolerance = options.tolerance ?? 1e-6;
  let alpha: number[] = [];
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const { gamma, norm2 } = minNormOnSegment(gram[i]![i]!, gram[i]![j]!, gram[j]![j]!);
      if (norm2 < best) {
        best = norm2;
        alpha = Array.from({ length: n }, (_, k) => (k === i ? gamma : k === j ? 1 - gamma : 0));
      }
    }
  }
  if (n === 2) return alpha;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const ga = matVec(gram, alpha);
    const current = Math.max(
      0,
      alpha.reduce((s, a, k) => s + a * ga[k]!, 0),
    );
    let t = 0;
    for (let k = 1; k < n; k++) if (ga[k]! < ga[t]!) t = k;
    if (current - ga[t]! <= tolerance * current || current === 0) break;
    // Segment from the current point (a) to g_t (b): a·a = current, a·b = (G alpha)_t, b·b = G_tt.
    const { gamma } = minNormOnSegment(current, ga[t]!, gram[t]![t]!);
    if (gamma === 1) break; // no step towards g_t helps
    alpha = alpha.map((a, k) => gamma * a + (1 - gamma) * (k === t ? 1 : 0));
  }
  return alpha;
}

/** Sener & Koltun's gradient normalisers: the factor dividing each task's gradient. */
export function gradientNormalizers(
  gram: Matrix,
  losses: readonly number[],
  type: MgdaOptions['normalize'],
): number[] {
  return gram.map((row, t) => {
    const norm = Math.sqrt(Math.max(0, row[t]!));
    const n =
      type === 'l2'
        ? norm
        : type === 'loss'
          ? losses[t]!
          : type === 'loss+'
            ? losses[t]! * norm
            : 1;
    return n > 0 && Number.isFinite(n) ? n : 1;
  });
}

/**
 * `mgda` (multiple-gradient descent as multi-objective optimisation, Sener & Koltun 2018): the
 * shared parameters move along the min-norm point of the convex hull of the task gradients
 * (weights alpha on the simplex, Frank-Wolfe solver); task-specific parameters get their own
 * task's gradient. With `upperBound`, alpha comes from the gradients on the shared representation
 * and weighs the task losses of one ordinary pass (MGDA-UB).
 */
export const mgdaBalance = defineBalance<MgdaOptions>({
  name: 'mgda',
  summary:
    'min-norm combination of the task gradients (Frank-Wolfe), optionally on the shared representation (Sener & Koltun 2018)',
  needs: 'task-gradients',
  options: z.strictObject(
    {
      upperBound: z
        .boolean({
          error: says('upperBound must be true or false', 'Use upperBound: true for MGDA-UB.'),
        })
        .optional(),
      normalize: z
        .enum(['none', 'l2', 'loss', 'loss+'], {
          error: says('unknown gradient normalisation', "Use 'none', 'l2', 'loss' or 'loss+'."),
        })
        .optional(),
      maxIterations: z
        .int({
          error: says('maxIterations must be a whole number', 'Use e.g. maxIterations: 250.'),
        })
        .min(1, { error: says('maxIterations must be at least 1', 'Use e.g. maxIterations: 250.') })
        .optional(),
    },
    { error: optionsObjectError('mgda', '{ upperBound: true }') },
  ),
  defaults: { upperBound: false, normalize: 'none', maxIterations: 250 },
  create({ tasks, options, model }) {
    if (options.upperBound && !sharedRepresentation(model)) {
      const chained = hasChains(model.plan.tasks);
      throw new OptionsError(
        `mtgraph/fit: mgda's upper-bound variant needs one shared representation, a block that every task reads (got ${chained ? 'a model with task chains or task inputs (condition, reads, inputs), whose outputs read more than that block' : `strategy '${model.plan.strategy}', whose tasks do not all read one block`}) → at options.balanceOptions.upperBound. ` +
          (chained
            ? 'Set upperBound: false (mgda on the shared parameters works with chains), or drop the chain attributes.'
            : "Use it with hard sharing (strategy 'hard'), or set upperBound: false."),
        { path: 'options.balanceOptions.upperBound', got: true },
      );
    }
    const n = tasks.length;
    return {
      needs: options.upperBound ? 'representation-gradients' : 'task-gradients',
      combineGradients(g) {
        const gram = toMatrix(g.gram().dataSync(), n);
        const scale =
          options.normalize === 'none'
            ? gram.map(() => 1)
            : gradientNormalizers(gram, Array.from(g.losses.dataSync()), options.normalize);
        const normalized = gram.map((row, i) => row.map((x, j) => x / (scale[i]! * scale[j]!)));
        // A task whose gradient on the shared variables is zero (its loss reaches none of them: a
        // task reading only its own inputs, or alone in its group) would be the min-norm point and
        // stop every shared variable; it takes no part (weight 0; its own variables still move).
        const live = normalized.flatMap((row, t) => (row[t]! > 0 ? [t] : []));
        const solve = (m: Matrix) => minNormWeights(m, { maxIterations: options.maxIterations });
        let weights: number[];
        if (live.length > 0 && live.length < n) {
          const sub = solve(live.map((i) => live.map((j) => normalized[i]![j]!)));
          weights = Array.from({ length: n }, () => 0);
          live.forEach((t, k) => {
            weights[t] = sub[k]!;
          });
        } else weights = solve(normalized);
        return { weights: tf.tensor1d(weights, 'float32') };
      },
      dispose() {},
    };
  },
});
