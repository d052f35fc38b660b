import Graph from 'graphology';
import { describe, expect, it } from 'vitest';
import { GraphStructureError, OptionsError, loadGraph, TaskGraph } from '../../src/index.js';
import { layoutGraph, renderGraphSvg } from '../../src/viz/index.js';
import { textWidth } from '../../src/viz/escape.js';
import { randomGraph, twoCliques } from '../fixtures.js';
import { HOSTILE, elements, hostileGraph, parseXml } from './helpers.js';
import { scaled } from '../timeouts.js';

/** Estimated boxes of the label <text> elements (same metric as the placement). */
function labelBoxes(svg: string, fontSize = 12): Array<[number, number, number, number]> {
  return elements(parseXml(svg), 'text')
    .filter((t) => t.path.some((p) => p === 'g.labels'))
    .map((t) => {
      const x = Number(t.attrs.x),
        y = Number(t.attrs.y);
      const w = textWidth(t.text, fontSize);
      const left =
        t.attrs['text-anchor'] === 'end'
          ? x - w
          : t.attrs['text-anchor'] === 'middle'
            ? x - w / 2
            : x;
      return [left, y - fontSize * 0.8, left + w, y + fontSize * 0.25];
    });
}

function overlaps(boxes: Array<[number, number, number, number]>): number {
  let n = 0;
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!,
        b = boxes[j]!;
      if (
        Math.min(a[2], b[2]) - Math.max(a[0], b[0]) > 0.5 &&
        Math.min(a[3], b[3]) - Math.max(a[1], b[1]) > 0.5
      )
        n++;
    }
  return n;
}

describe('renderGraphSvg', () => {
  it('renderGraphSvg draws well-formed SVG with every task as a label and a legend', () => {
    const g = hostileGraph();
    const svg = renderGraphSvg(g, { seed: 1 });
    const tree = parseXml(svg);
    const labels = elements(tree, 'text')
      .filter((t) => t.path.includes('g.labels'))
      .map((t) => t.text);
    const expected = g.mapNodes((id, a) => (a.label as string | undefined) ?? id);
    expect(labels.sort()).toEqual(expected.sort());
    expect(elements(tree, 'circle').filter((c) => c.path.includes('g.nodes'))).toHaveLength(
      g.order,
    );
    expect(elements(tree, 'g').some((e) => e.attrs.class === 'legend')).toBe(true);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('renderGraphSvg escapes hostile task ids and labels: they show as text', () => {
    const svg = renderGraphSvg(hostileGraph(), { seed: 1 });
    expect(svg).not.toMatch(/<script|<b>|<\/b>/);
    const texts = elements(parseXml(svg), 'text').map((t) => t.text);
    for (const h of HOSTILE) expect(texts).toContain(h);
    const titles = elements(parseXml(svg), 'title').map((t) => t.text);
    expect(titles.some((t) => t.startsWith(HOSTILE[0]))).toBe(true);
  });

  it('renderGraphSvg gives the same SVG for the same seed and another for another seed', () => {
    const a = renderGraphSvg(hostileGraph(), { seed: 7 });
    const b = renderGraphSvg(hostileGraph(), { seed: 7 });
    const c = renderGraphSvg(hostileGraph(), { seed: 8 });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('renderGraphSvg draws negative affinities dashed in another colour, widths following |weight|', () => {
    const g = twoCliques();
    const tree = parseXml(renderGraphSvg(g, { seed: 1 }));
    const groups = elements(tree, 'g');
    const neg = groups.find((e) => e.attrs.class === 'edges negative')!;
    const pos = groups.find((e) => e.attrs.class === 'edges positive')!;
    expect(neg.attrs['stroke-dasharray']).toBeDefined();
    expect(neg.attrs.stroke).not.toBe(pos.attrs.stroke);
    // Edges are lines, or curves where a line would cross another node.
    const lines = [...elements(tree, 'line'), ...elements(tree, 'path')];
    const negLines = lines.filter((l) => l.path.includes('g.edges negative'));
    const posLines = lines.filter((l) => l.path.includes('g.edges positive'));
    expect(negLines).toHaveLength(2);
    expect(posLines).toHaveLength(6);
    // The 0.9 edges are wider than the 0.6 one.
    const width = (weight: number) =>
      Number(posLines.find((l) => l.text.endsWith(`: ${weight}`))!.attrs['stroke-width']);
    expect(width(0.9)).toBeGreaterThan(width(0.6));
  });

  it('renderGraphSvg sizes nodes by a chosen attribute and colours by kind', () => {
    const g = new TaskGraph({ input: 4 });
    g.addTask('small', { kind: 'binary', weight: 0.1 });
    g.addTask('big', { kind: 'regression', weight: 5 });
    g.addAffinity('small', 'big', { weight: 0.5 });
    const tree = parseXml(renderGraphSvg(g, { sizeBy: 'weight', colorBy: 'kind' }));
    const circles = elements(tree, 'circle').filter((c) => c.path.includes('g.nodes'));
    const r = (id: string) => Number(circles.find((c) => c.text.startsWith(id))!.attrs.r);
    expect(r('big')).toBeGreaterThan(r('small'));
    const fill = (id: string) => circles.find((c) => c.text.startsWith(id))!.attrs.fill;
    expect(fill('big')).not.toBe(fill('small'));
    const legend = elements(tree, 'text')
      .filter((t) => t.path.some((p) => p === 'g.legend'))
      .map((t) => t.text);
    expect(legend).toEqual(
      expect.arrayContaining(['colour: task kind', 'binary', 'regression', 'size: task weight']),
    );
    // A function works too.
    expect(() => renderGraphSvg(g, { sizeBy: (id) => id.length })).not.toThrow();
  });

  it('renderGraphSvg places labels without overlaps on small graphs', async () => {
    expect(overlaps(labelBoxes(renderGraphSvg(hostileGraph(), { seed: 1 })))).toBe(0);
    const school = await loadGraph('graphs/school.json');
    const boxes = labelBoxes(renderGraphSvg(school, { seed: 1 }));
    expect(boxes).toHaveLength(139);
    // 139 labels in a crowded picture: (almost) none overlap.
    expect(overlaps(boxes)).toBeLessThanOrEqual(3);
  });

  it('renderGraphSvg writes positions back, and usePositions draws them again', () => {
    const g = hostileGraph();
    const first = renderGraphSvg(g, { seed: 3, writePositions: true });
    g.forEachNode((_id, a) => {
      expect(Number.isFinite(a.x)).toBe(true);
      expect(Number.isFinite(a.y)).toBe(true);
    });
    const again = renderGraphSvg(g, { usePositions: true });
    const circles = (svg: string) =>
      elements(parseXml(svg), 'circle')
        .filter((c) => c.path.includes('g.nodes'))
        .map((c) => [Number(c.attrs.cx), Number(c.attrs.cy)]);
    const [a, b] = [circles(first), circles(again)];
    a.forEach((p, i) => {
      expect(b[i]![0]).toBeCloseTo(p[0]!, 0);
      expect(b[i]![1]).toBeCloseTo(p[1]!, 0);
    });
  });

  it('renderGraphSvg draws a single task and a graph without affinities', async () => {
    const scene = await loadGraph('graphs/scene.json');
    const svg = renderGraphSvg(scene);
    expect(
      elements(parseXml(svg), 'circle').filter((c) => c.path.includes('g.nodes')),
    ).toHaveLength(1);
  });

  it('renderGraphSvg lays out 1,000 tasks in bounded time and labels only what fits', () => {
    const g = randomGraph(1000, 4000);
    const t0 = performance.now();
    const svg = renderGraphSvg(g, { seed: 1 });
    const ms = performance.now() - t0;
    const tree = parseXml(svg);
    expect(elements(tree, 'circle').filter((c) => c.path.includes('g.nodes'))).toHaveLength(1000);
    const labels = labelBoxes(svg);
    expect(labels.length).toBeGreaterThan(20);
    expect(labels.length).toBeLessThanOrEqual(300);
    expect(overlaps(labels)).toBe(0);
    expect(svg).toContain('Barnes-Hut');
    expect(ms).toBeLessThan(scaled(15_000));
  });

  it('layoutGraph returns seeded positions for every task', () => {
    const g = twoCliques();
    const a = layoutGraph(g, { seed: 2 });
    expect(Object.keys(a).sort()).toEqual(g.nodes().sort());
    expect(layoutGraph(g, { seed: 2 })).toEqual(a);
    // Tasks of a clique end up closer to each other than to the other clique.
    const d = (p: string, q: string) => Math.hypot(a[p]!.x - a[q]!.x, a[p]!.y - a[q]!.y);
    expect(d('a1', 'a2')).toBeLessThan(d('a1', 'b2'));
  });

  it('renderGraphSvg refuses bad options and graphs with errors that say where', () => {
    const g = twoCliques();
    expect(() => renderGraphSvg(g, { colour: 'kind' } as never)).toThrow(OptionsError);
    expect(() => renderGraphSvg(g, { colour: 'kind' } as never)).toThrow(
      /unknown key "colour".*→ at options\.colour/,
    );
    expect(() => renderGraphSvg(g, { colorBy: 'rainbow' as never })).toThrow(
      /colorBy must be group, kind or none/,
    );
    expect(() => renderGraphSvg(g, { sizeBy: 'nope' })).toThrow(
      /sizeBy "nope" is not a numeric attribute/,
    );
    expect(() => renderGraphSvg(g, { groups: [['a1', 'zz']] })).toThrow(
      /unknown task "zz" → at options.groups\[0\]\[1\]/,
    );
    expect(() => renderGraphSvg(g, { usePositions: true })).toThrow(
      /usePositions needs finite x and y/,
    );
    expect(() => renderGraphSvg(new Graph.DirectedGraph())).toThrow(GraphStructureError);
    expect(() => renderGraphSvg({} as never)).toThrow(GraphStructureError);
  });
});
