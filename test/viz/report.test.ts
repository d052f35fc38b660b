import { describe, expect, it } from 'vitest';
import { OptionsError, loadGraph, plan } from '../../src/index.js';
import { renderReport } from '../../src/viz/index.js';
import { HOSTILE, elements, hostileGraph, parseXml } from './helpers.js';
import { fakeAffinity, fakeHistory } from './report-fixture.js';

/** The inline <svg> documents of a page. */
const svgs = (html: string) => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

/** The page's text with tags removed and entities decoded (roughly what a reader sees). */
function visibleText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('renderReport', () => {
  it('renderReport draws every section it is given, in one self-contained page', async () => {
    const g = hostileGraph();
    const tasks = g.nodes();
    const p = plan(g, { strategy: 'clustered', trunk: { units: [8] } });
    const metrics = Object.fromEntries(
      tasks.map((t, i) => [t, { loss: 0.1 * i, accuracy: 0.7, auc: NaN }]),
    );
    const html = await renderReport({
      graph: g,
      plan: p,
      history: fakeHistory(tasks),
      metrics,
      affinity: fakeAffinity(tasks),
    });
    for (const id of ['graph', 'network', 'training', 'metrics', 'affinity'])
      expect(html).toContain(`<section id="${id}">`);
    expect(html).toContain('Content-Security-Policy" content="default-src \'none\'');
    // graph, plan, total loss, per-task loss, weights, affinity
    const inline = svgs(html);
    expect(inline).toHaveLength(6);
    for (const svg of inline) parseXml(svg);
    // No script, no external resource anywhere.
    expect(html).not.toMatch(/<script|<iframe|<img|<link|@import|src=|href="(?!#)|url\((?!#)/i);
    // Ids are unique across the inlined SVGs.
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    const text = visibleText(html);
    for (const t of tasks) expect(text).toContain(t);
    for (const h of HOSTILE) expect(text).toContain(h);
    // The metrics table lists every task with its values.
    const table = html.slice(html.indexOf('<table>'), html.indexOf('</table>') + 8);
    const rows = elements(parseXml(table), 'tr');
    expect(rows).toHaveLength(tasks.length + 1);
    expect(rows[0]!.text).toContain('accuracy');
    expect(rows[0]!.text).toContain('val loss');
  });

  it('renderReport escapes hostile text everywhere: titles, tables, chart labels', async () => {
    const g = hostileGraph();
    g.setAttribute('name', HOSTILE[0]);
    g.setAttribute('description', HOSTILE[2]);
    const tasks = g.nodes();
    const html = await renderReport(
      {
        graph: g,
        history: fakeHistory(tasks),
        metrics: { [HOSTILE[0]]: { loss: 1 } },
        affinity: fakeAffinity(tasks),
      },
      { title: HOSTILE[1] },
    );
    expect(html).not.toMatch(/<script|<b>/);
    expect(html).toContain('<title>&quot;a&amp;b&quot;</title>');
    expect(html).toContain(`<p>${'it&#39;s &lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;'}</p>`);
  });

  it('renderReport with only a graph draws only the graph', async () => {
    const html = await renderReport({ graph: await loadGraph('graphs/recommender.json') });
    expect(html).toContain('<section id="graph">');
    expect(html).not.toContain('<section id="training">');
    expect(svgs(html)).toHaveLength(1);
  });

  it('renderReport on 139 tasks keeps the per-task charts to maxTaskCharts and the weights as a heatmap', async () => {
    const school = await loadGraph('graphs/school.json');
    const tasks = school.nodes();
    const html = await renderReport(
      {
        graph: school,
        plan: plan(school, { strategy: 'clustered' }),
        history: fakeHistory(tasks, 30),
        affinity: fakeAffinity(tasks),
      },
      { maxTaskCharts: 12 },
    );
    expect(html).toContain('Showing the 12 of 139 tasks with the highest final loss');
    expect(html).toContain('the 60 tasks whose weight varied most');
    for (const svg of svgs(html)) parseXml(svg);
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.filter((id) => id?.includes('gradient'))).toHaveLength(2);
    expect(new Set(ids).size).toBe(ids.length);
    expect(html.length).toBeLessThan(8_000_000);
  });

  it('renderReport takes what measureAffinity returns and says when the affinity is directed', async () => {
    const g = hostileGraph();
    const tasks = g.nodes();
    const { matrix } = fakeAffinity(tasks);
    matrix[0]![1] = 0.9;
    matrix[1]![0] = -0.2;
    const html = await renderReport({
      graph: g,
      affinity: {
        tasks,
        matrix,
        raw: matrix,
        graph: g,
        method: 'lookahead',
        steps: 10,
        notes: [],
      } as never,
    });
    expect(html).toContain('<section id="affinity">');
    expect(html).toContain(
      'Directed: the cell in row i and column j is the effect of task i on task j. Measured by lookahead.',
    );
  });

  it('renderReport says when balancing weights were constant', async () => {
    const g = hostileGraph();
    const history = fakeHistory(g.nodes());
    for (const t of g.nodes()) history.weights[t] = history.weights[t]!.map(() => 1);
    const html = await renderReport({ graph: g, history });
    expect(html).toContain('Loss-balancing weights were constant over the epochs (all 1)');
  });

  it("renderReport shows fit's notes as warnings above the training charts, escaped", async () => {
    const g = hostileGraph();
    const plain = await renderReport({ graph: g, history: fakeHistory(g.nodes()) });
    expect(plain).not.toContain('<p class="warning">');
    const history = { ...fakeHistory(g.nodes()), notes: ['targets differ: "a" <b> 5000'] };
    const html = await renderReport({ graph: g, history });
    expect(html).toContain('<p class="warning">targets differ: &quot;a&quot; &lt;b&gt; 5000</p>');
    expect(html.indexOf('<p class="warning">')).toBeLessThan(
      html.indexOf('Joint objective per epoch'),
    );
  });

  it('renderReport draws a strategy comparison: a chart per task, a table with the best in bold, names escaped', async () => {
    const g = hostileGraph();
    const tasks = g.nodes().slice(0, 2);
    const html = await renderReport({
      graph: g,
      comparison: {
        strategies: ['single', '<hard>'],
        tasks: [
          { id: tasks[0]!, metric: 'r2', values: [0.5, 0.7] },
          { id: tasks[1]!, metric: 'auc', values: [0.9, null] },
        ],
        scoredOn: '12 test rows',
      },
    });
    expect(html).toContain('<section id="comparison">');
    expect(html).toContain('<th>&lt;hard&gt;</th>');
    expect(html).toContain('<td><b>0.7000</b></td>');
    expect(html).toContain('<td><b>0.9000</b></td><td>–</td>');
    expect(visibleText(html)).toContain('on 12 test rows; higher is better');
    const section = html.slice(html.indexOf('<section id="comparison">'));
    expect(svgs(section).length).toBe(1);
    for (const doc of svgs(section)) expect(() => parseXml(doc)).not.toThrow();
    await expect(
      renderReport({
        graph: g,
        comparison: { strategies: ['a', 'b'], tasks: [{ id: 'x', metric: 'r2', values: [1] }] },
      }),
    ).rejects.toThrow(/expected 2 scores .* → at comparison\.tasks\[0\]\.values/);
    await expect(
      renderReport({ graph: g, comparison: { strategies: [], tasks: [] } }),
    ).rejects.toThrow(/→ at comparison\.strategies/);
  });

  it('renderReport refuses malformed input with errors that say where', async () => {
    const g = hostileGraph();
    await expect(renderReport({ graph: g, histroy: {} } as never)).rejects.toThrow(
      /unknown input "histroy"/,
    );
    await expect(
      renderReport({ graph: g, affinity: { tasks: ['a1', 'a2'], matrix: [[1, 0.5], [0.5]] } }),
    ).rejects.toThrow(OptionsError);
    await expect(
      renderReport({ graph: g, affinity: { tasks: ['a1', 'a2'], matrix: [[1, 0.5], [0.5]] } }),
    ).rejects.toThrow(/→ at affinity\.matrix\[1\]/);
    await expect(
      renderReport({ graph: g, history: { loss: [1], taskLoss: { a1: ['x'] } } as never }),
    ).rejects.toThrow(/→ at history\.taskLoss\.a1\[0\]/);
    await expect(renderReport({ graph: g }, { maxTaskCharts: 0 })).rejects.toThrow(OptionsError);
  });
});
