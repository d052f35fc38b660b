// Issue 14, point 16: validationSplit holds out a share of EACH task's labelled rows.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { compile } from '../../src/network/compile.js';
import { fit } from '../../src/train/fit.js';
import { holdOutPerTask } from '../../src/data/holdout.js';
import { prepareData } from '../../src/data/prepare.js';

/**
 * School-like long-format data: task t_i is labelled on its own `sizes[i]` rows only (NaN
 * elsewhere), the rows of the small tasks at the END of the data, as in a file sorted by task.
 */
function longFormat(sizes: number[]) {
  const g = new TaskGraph({ input: { features: 3 } });
  sizes.forEach((_, i) => g.addTask(`t${i}`, { kind: 'regression' }));
  const rows = sizes.reduce((a, b) => a + b, 0);
  const x: number[][] = [];
  const y: Record<string, number[]> = Object.fromEntries(
    sizes.map((_, i) => [`t${i}`, new Array<number>(rows).fill(Number.NaN)]),
  );
  let r = 0;
  sizes.forEach((n, i) => {
    for (let k = 0; k < n; k++, r++) {
      const f = [Math.sin(r), Math.cos(r * 1.3), (r % 7) / 7];
      x.push(f);
      y[`t${i}`]![r] = f[0]! + i * 0.1;
    }
  });
  return { graph: g, data: { x, y }, rows };
}

describe('validationSplit per task (#14.16)', () => {
  // Big tasks first, then tasks of 20, 3, 2 and 1 labelled rows at the end of the data: the old
  // split (the last 15 % of the rows) held out every row of the small tasks.
  const sizes = [60, 60, 60, 20, 3, 2, 1];

  it('holdOutPerTask keeps a training row for every task and holds out one of each task with two or more', () => {
    const { graph, data } = longFormat(sizes);
    const model = compile(graph, { strategy: 'hard', trunk: { units: [4] } });
    const prepared = prepareData(model.plan, data, { scope: 'test' });
    for (const shuffle of [false, true]) {
      const { train, valid } = holdOutPerTask(prepared, 0.15, 3, shuffle);
      expect(train.length + valid.length).toBe(prepared.rows);
      let start = 0;
      sizes.forEach((n) => {
        const rows = Array.from({ length: n }, (_, k) => start + k);
        start += n;
        const held = rows.filter((row) => valid.includes(row)).length;
        const expected = n >= 2 ? Math.min(n - 1, Math.max(1, Math.round(0.15 * n))) : 0;
        expect(held).toBe(expected);
      });
    }
    model.dispose();
  });

  it('fit trains a task family whose small tasks sit at the end of the data', async () => {
    const { graph, data } = longFormat(sizes);
    const model = compile(graph, { strategy: 'hard', trunk: { units: [4] } });
    const before = tf.memory().numTensors;
    const history = await fit(model, data, { epochs: 2, validationSplit: 0.15, batchSize: 32 });
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < sizes.length; i++)
      expect(Number.isFinite(history.taskLoss[`t${i}`]![1]!)).toBe(true);
    // every task with two or more rows has validation labels; the one-row task has none
    for (let i = 0; i < sizes.length - 1; i++)
      expect(Number.isFinite(history.valTaskLoss![`t${i}`]![1]!)).toBe(true);
    expect(Number.isNaN(history.valTaskLoss![`t${sizes.length - 1}`]![1]!)).toBe(true);
    // 9 + 9 + 9 + 3 + 1 + 1 (+ 0) rows held out
    expect(history.valRows).toBe(32);
    expect(history.trainRows).toBe(206 - 32);
    model.dispose();
  });

  it('a shuffled split is seeded: the same seed holds out the same rows, another seed others', () => {
    const { graph, data } = longFormat(sizes);
    const model = compile(graph, { strategy: 'hard', trunk: { units: [4] } });
    const prepared = prepareData(model.plan, data, { scope: 'test' });
    const a = holdOutPerTask(prepared, 0.15, 1).valid;
    expect(holdOutPerTask(prepared, 0.15, 1).valid).toEqual(a);
    expect(holdOutPerTask(prepared, 0.15, 2).valid).not.toEqual(a);
    model.dispose();
  });
});
