import * as tf from '@tensorflow/tfjs';
import { randomStream, streamState } from '../random.js';
import { defineBalance } from './types.js';
import { noOptions } from './options.js';
import { shuffled, toMatrix, type Matrix } from './numeric.js';
import { badState, stateObject } from './state.js';

/** Salt of the pcgrad random stream, so that it is not the stream that shuffles the rows. */
const SALT = 0x9c62ad;

/**
 * PCGrad's update as a combination of the original task gradients, from their Gram matrix
 * `G[i][j] = g_i · g_j`. For each task i (its projected gradient starting at g_i), for each task j
 * in `order(i)`: when `g_i' · g_j < 0`, `g_i' -= (g_i' · g_j / ||g_j||^2) g_j`. The update is
 * `sum_i g_i'`; every g_i' stays a combination `sum_k C[i][k] g_k` of the originals (so
 * `g_i' · g_j = sum_k C[i][k] G[k][j]`), and the returned weights are `w_k = sum_i C[i][k]`.
 */
export function pcgradWeights(gram: Matrix, order: (task: number) => readonly number[]): number[] {
  const n = gram.length;
  const c = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, k) => (i === k ? 1 : 0)),
  );
  for (let i = 0; i < n; i++) {
    const row = c[i]!;
    for (const j of order(i)) {
      const normJ = gram[j]![j]!;
      if (!(normJ > 0)) continue;
      let d = 0;
      for (let k = 0; k < n; k++) d += row[k]! * gram[k]![j]!;
      if (d < 0) row[j]! -= d / normJ;
    }
  }
  return Array.from({ length: n }, (_, k) => c.reduce((s, row) => s + row[k]!, 0));
}

/**
 * `pcgrad` (projecting conflicting gradients, Yu et al. 2020): on the shared parameters, each
 * task's gradient loses its component along every other task's gradient it conflicts with
 * (negative dot product), the others taken in a random order per task (seeded by fit's seed); the
 * projected gradients are summed. Task-specific parameters get their own task's gradient.
 */
export const pcgradBalance = defineBalance<Record<never, never>>({
  name: 'pcgrad',
  summary:
    "projects each task's shared gradient off the gradients it conflicts with, in a seeded random order (Yu et al. 2020)",
  needs: 'task-gradients',
  options: noOptions('pcgrad'),
  defaults: {},
  create({ tasks, seed }) {
    const random = randomStream(seed ^ SALT);
    const n = tasks.length;
    const order = () =>
      shuffled(
        Array.from({ length: n }, (_, j) => j),
        random,
      );
    return {
      needs: 'task-gradients',
      combineGradients(g) {
        const gram = toMatrix(g.gram().dataSync(), n);
        return { weights: tf.tensor1d(pcgradWeights(gram, order), 'float32') };
      },
      getState: () => ({ random: random.state }),
      setState(state) {
        const saved = streamState(stateObject('pcgrad', state).random);
        if (saved === undefined) throw badState('pcgrad', 'random must be a 32-bit stream state');
        random.state = saved;
      },
      dispose() {},
    };
  },
});
