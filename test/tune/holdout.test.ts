import { describe, it, expect } from 'vitest';
import { holdOutPerTask } from '../../src/data/holdout.js';
import type { PreparedData } from '../../src/data/types.js';

/** Long-format data: task t labelled on its own rows only (sizes per task). */
function longFormat(sizes: number[]): PreparedData {
  const rows = sizes.reduce((a, b) => a + b, 0);
  let start = 0;
  const tasks = sizes.map((n, t) => {
    const mask = new Float32Array(rows);
    mask.fill(1, start, start + n);
    start += n;
    return {
      id: `t${t}`,
      width: 1,
      labels: new Float32Array(rows),
      mask,
      labelled: n,
      excluded: false,
    };
  });
  return { rows, features: 1, x: new Float32Array(rows), tasks };
}

describe('holdOutPerTask', () => {
  it('holdOutPerTask holds out a share of each task and keeps a training row for every task', () => {
    const data = longFormat([100, 20, 2, 1]);
    const { train, valid } = holdOutPerTask(data, 0.2, 0);
    const count = (rows: number[], t: number) =>
      rows.filter((r) => data.tasks[t]!.mask[r] === 1).length;
    expect([0, 1, 2, 3].map((t) => count(valid, t))).toEqual([20, 4, 1, 0]);
    expect([0, 1, 2, 3].map((t) => count(train, t))).toEqual([80, 16, 1, 1]);
    expect([...train, ...valid].sort((a, b) => a - b)).toEqual(
      Array.from({ length: data.rows }, (_, i) => i),
    );
  });

  it('holdOutPerTask is seeded', () => {
    const data = longFormat([50, 30]);
    expect(holdOutPerTask(data, 0.3, 5)).toEqual(holdOutPerTask(data, 0.3, 5));
    expect(holdOutPerTask(data, 0.3, 5).valid).not.toEqual(holdOutPerTask(data, 0.3, 6).valid);
  });
});
