import { describe, expect, it } from 'vitest';
import { PlanError, OptionsError, loadGraph, plan, strategyNames } from '../../src/index.js';
import { renderPlanSvg } from '../../src/viz/index.js';
import { randomGraph } from '../fixtures.js';
import { HOSTILE, elements, hostileGraph, parseXml } from './helpers.js';
import { scaled } from '../timeouts.js';

const texts = (svg: string) => elements(parseXml(svg), 'text').map((t) => t.text);

describe('renderPlanSvg', () => {
  it.each(strategyNames())(
    'renderPlanSvg draws strategy %s as well-formed SVG naming every task and the parameter count',
    (strategy) => {
      const g = hostileGraph();
      const p = plan(g, { strategy, trunk: { units: [16, 8] }, seed: 1 });
      const svg = renderPlanSvg(p);
      const all = texts(svg);
      for (const t of g.nodes()) expect(all.some((x) => x === t || x === `tower ${t}`)).toBe(true);
      expect(all.join('\n')).toContain(`${p.params.total.toLocaleString('en-US')} parameters`);
      expect(all.some((x) => /^[\d,]+ params$/.test(x))).toBe(true);
      expect(svg).not.toMatch(/<script|<b>/);
    },
  );

  it('renderPlanSvg draws couplings as dashed links', () => {
    const g = hostileGraph();
    const soft = parseXml(renderPlanSvg(plan(g, { strategy: 'soft', trunk: { units: [8] } })));
    const arcs = elements(soft, 'path').filter((p) => p.path.includes('g.couplings'));
    expect(arcs.length).toBeGreaterThan(0);
    expect(arcs.every((a) => a.attrs['stroke-dasharray'])).toBe(true);
    expect(arcs.some((a) => a.text.startsWith('Laplacian penalty'))).toBe(true);
    const stitch = parseXml(
      renderPlanSvg(plan(g, { strategy: 'cross-stitch', trunk: { units: [8, 4] } })),
    );
    expect(
      elements(stitch, 'g').filter((e) => e.attrs.class === 'part cross-stitch').length,
    ).toBeGreaterThan(0);
    expect(
      elements(stitch, 'path').some(
        (p) => p.path.includes('g.links') && p.attrs['stroke-dasharray'] === '6 4',
      ),
    ).toBe(true);
  });

  it('renderPlanSvg lays out input above shared blocks above heads (left to right when very wide)', async () => {
    const along = (svg: string, axis: 'x' | 'y') => {
      const tree = parseXml(svg);
      return (cls: string) =>
        elements(tree, 'rect')
          .filter((r) => r.path.includes(`g.${cls}`))
          .map((r) => Number(r.attrs[axis]));
    };
    const census = await loadGraph('graphs/census-income.json');
    const y = along(renderPlanSvg(plan(census, { strategy: 'hard', trunk: { units: [8] } })), 'y');
    expect(Math.max(...y('part input'))).toBeLessThan(Math.min(...y('part block')));
    expect(Math.max(...y('part block'))).toBeLessThan(Math.min(...y('part head')));
    const wide = along(
      renderPlanSvg(plan(hostileGraph(), { strategy: 'hard', trunk: { units: [8] } })),
      'x',
    );
    expect(Math.max(...wide('part input'))).toBeLessThan(Math.min(...wide('part block')));
    expect(Math.max(...wide('part block'))).toBeLessThan(Math.min(...wide('part head')));
  });

  it('renderPlanSvg folds large plans into summary boxes and stays fast', async () => {
    const school = await loadGraph('graphs/school.json');
    const clustered = renderPlanSvg(plan(school, { strategy: 'clustered' }));
    const boxes = (svg: string) =>
      elements(parseXml(svg), 'g').filter((e) => e.attrs.class?.startsWith('part ')).length;
    expect(boxes(clustered)).toBeLessThan(60);
    expect(clustered).toContain('the private parts of 139 tasks are drawn as');
    const big = randomGraph(1000, 4000);
    for (const strategy of ['tree', 'ple']) {
      const t0 = performance.now();
      const svg = renderPlanSvg(plan(big, { strategy }));
      expect(performance.now() - t0).toBeLessThan(scaled(10_000));
      expect(boxes(svg)).toBeLessThanOrEqual(160);
      parseXml(svg);
    }
    // All parts are drawn when asked.
    const full = renderPlanSvg(plan(school, { strategy: 'clustered' }), {
      maxTasks: 1000,
      maxNodes: 1000,
    });
    expect(texts(full).filter((t) => t.startsWith('school_'))).toHaveLength(139);
  });

  it('renderPlanSvg escapes hostile task ids', () => {
    const svg = renderPlanSvg(plan(hostileGraph(), { strategy: 'single', trunk: { units: [4] } }));
    const all = texts(svg);
    expect(all).toContain(HOSTILE[0]);
    expect(all).toContain(HOSTILE[1]);
  });

  it('renderPlanSvg refuses what is not a plan, and bad options', () => {
    expect(() => renderPlanSvg({} as never)).toThrow(PlanError);
    expect(() => renderPlanSvg({ version: 2 } as never)).toThrow(/unknown plan version/);
    const p = plan(hostileGraph(), { strategy: 'hard' });
    expect(() => renderPlanSvg(p, { maxTasks: 0 })).toThrow(OptionsError);
  });
});
