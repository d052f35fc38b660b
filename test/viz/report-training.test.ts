import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/index.js';
import { comparisonSpec, renderVegaLite, taskLossSpec } from '../../src/viz/charts.js';
import { renderReport } from '../../src/viz/index.js';
import { fakeHistory } from './report-fixture.js';

const TASKS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];

function six(): TaskGraph {
  const g = new TaskGraph({ name: 'six', input: { features: 4 } });
  for (const t of TASKS) g.addTask(t, { kind: 'regression' });
  for (let i = 0; i < 5; i++) g.addAffinity(TASKS[i]!, TASKS[i + 1]!, { weight: 0.5 });
  return g;
}

/** The X axes a vega SVG draws (vega labels each axis group "X-axis ..."). */
const xAxes = (svg: string) => svg.match(/aria-label="X-axis/g)?.length ?? 0;

describe('renderReport training section', () => {
  it('renderReport lists constant balancing weights that differ between tasks in a table', async () => {
    const history = fakeHistory(TASKS, 10);
    history.weights = Object.fromEntries(TASKS.map((t, i) => [t, Array(10).fill(i < 4 ? 1 : 2.5)]));
    const html = await renderReport({ graph: six(), history });
    expect(html).not.toContain('see the table');
    const table = /<table class="weights">([\s\S]*?)<\/table>/.exec(html)?.[1];
    expect(table).toBeDefined();
    const rows = [...table!.matchAll(/<tr><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(rows).toEqual([
      ['epsilon, zeta', '2.5'],
      ['alpha, beta, gamma, delta', '1'],
    ]);
  });

  it('renderReport names at most 12 tasks per weight and counts the rest', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const g = new TaskGraph({ input: 3 });
    for (const t of ids) g.addTask(t, { kind: 'binary' });
    const history = fakeHistory(ids, 4);
    history.weights = Object.fromEntries(ids.map((t, i) => [t, Array(4).fill(i === 0 ? 3 : 1)]));
    const html = await renderReport({ graph: g, history });
    expect(html).toContain('<tr><td>t0</td><td>3</td></tr>');
    expect(html).toContain(
      '<tr><td>t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12 and 7 more (19 tasks)</td><td>1</td></tr>',
    );
  });

  it('renderReport keeps the one sentence when every weight is the same', async () => {
    const history = fakeHistory(TASKS, 10);
    history.weights = Object.fromEntries(TASKS.map((t) => [t, Array(10).fill(1)]));
    const html = await renderReport({ graph: six(), history });
    expect(html).toContain('Loss-balancing weights were constant over the epochs (all 1).');
    expect(html).not.toContain('class="weights"');
  });
});

describe('faceted charts', () => {
  it('taskLossSpec draws an x axis under every task cell, none under the empty cells of the last row', async () => {
    // 6 tasks in 4 columns: the last row has 2 empty cells.
    const h = fakeHistory(TASKS, 8);
    const svg = await renderVegaLite(taskLossSpec(TASKS, h.taskLoss, h.valTaskLoss));
    expect(xAxes(svg)).toBe(6);
    const one = await renderVegaLite(taskLossSpec(['alpha'], h.taskLoss, h.valTaskLoss));
    expect(xAxes(one)).toBe(1);
  });

  it('comparisonSpec draws an x axis under every task cell', async () => {
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((id, k) => ({
      id,
      metric: 'auc',
      values: [0.7 + k / 100, 0.75, 0.72],
    }));
    const svg = await renderVegaLite(comparisonSpec(['single', 'hard', 'soft'], tasks));
    expect(xAxes(svg)).toBe(5);
  });
});
