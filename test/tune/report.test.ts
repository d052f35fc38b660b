import { describe, it, expect, beforeAll } from 'vitest';
import { initBackend, generateTaskFamily, renderReport, OptionsError } from '../../src/index.js';
import { tune, tuningSummary } from '../../src/tune/index.js';
import { scaled } from '../timeouts.js';

describe('tuning report section', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('renderReport draws every trial, the settings chart and the best per-task scores', {
    timeout: scaled(60_000),
  }, async () => {
    const family = generateTaskFamily({ seed: 2, trainRows: 60, groups: 2, tasksPerGroup: 2 });
    const result = await tune(family.graph, family.train, {
      budget: { trials: 5 },
      schedule: { minEpochs: 2, eta: 2, maxEpochs: 4 },
    });
    const test = Object.fromEntries(family.graph.nodes().map((t, i) => [t, 0.5 + i / 100]));
    const summary = tuningSummary(result, test, '5 trials');
    expect(summary.trials).toHaveLength(5);
    expect(summary.lowerIsBetter).toBe(true);
    expect(summary.trials[0]!.settings.learningRate).toBeGreaterThan(0);
    const html = await renderReport({ graph: family.graph, tuning: summary });
    const section = html.slice(html.indexOf('<section id="tuning">'));
    expect(section).toContain('<h2>Tuning</h2>');
    expect(section).toContain('<svg');
    expect(section).toContain('learning rate');
    expect(section).toContain('mean rank (lower is better)');
    // One row per trial, one per task in the best's table (with its test score).
    expect(section.match(/<tr[^>]*><td>\d+<\/td><td>/g)?.length).toBe(5);
    for (const t of family.graph.nodes()) expect(section).toContain(`<td>${t}</td><td>r2</td>`);
    expect(section).toContain(test[family.graph.nodes()[0]!]!.toFixed(4));
  });

  it('renderReport refuses a malformed tuning summary', async () => {
    const family = generateTaskFamily({ seed: 2, trainRows: 20, groups: 2, tasksPerGroup: 2 });
    await expect(
      renderReport({ graph: family.graph, tuning: { trials: 3 } as never }),
    ).rejects.toThrow(OptionsError);
  });
});
