import Graph from 'graphology';
import type { AbstractGraph } from 'graphology-types';
import gexfImport from 'graphology-gexf';
import graphmlImport from 'graphology-graphml';
import { describe, expect, it } from 'vitest';
import { GraphStructureError, OptionsError, loadGraph, type TaskGraph } from '../../src/index.js';
import { renderGraphSvg, toGexf, toGraphml } from '../../src/viz/index.js';
import { HOSTILE, elements, hostileGraph, parseXml } from './helpers.js';

// CommonJS packages: the runtime default holds parse.
const gexf = gexfImport as unknown as { parse: (G: typeof Graph, source: string) => AbstractGraph };
const graphml = graphmlImport as unknown as {
  parse: (G: typeof Graph, source: string) => AbstractGraph;
};

/** Edges as sorted "a|b|weight" strings, independent of direction and order. */
function edgeSet(g: AbstractGraph | TaskGraph): string[] {
  return (g as AbstractGraph)
    .mapEdges((_e, a, s, t) => `${[s, t].sort().join('|')}|${a.weight ?? 'none'}`)
    .sort();
}

describe('toGexf', () => {
  it('toGexf writes well-formed GEXF that parses back to the same nodes, edges and weights', () => {
    const g = hostileGraph();
    const xml = toGexf(g, { seed: 1 });
    parseXml(xml);
    const back = gexf.parse(Graph, xml);
    expect(back.nodes().sort()).toEqual(g.nodes().sort());
    expect(edgeSet(back)).toEqual(edgeSet(g));
    expect(back.getNodeAttribute(HOSTILE[1], 'kind')).toBe('multiclass');
    expect(back.getNodeAttribute(HOSTILE[1], 'classes')).toEqual(['x', 'y&z']);
    expect(back.getNodeAttribute('labelled', 'label')).toBe(HOSTILE[2]);
  });

  it('toGexf carries viz positions, colours and sizes for Gephi', () => {
    const xml = toGexf(hostileGraph(), { seed: 1 });
    const tree = parseXml(xml);
    expect(elements(tree, 'viz:position')).toHaveLength(hostileGraph().order);
    expect(elements(tree, 'viz:color').every((c) => /^#[0-9a-f]{6}$/.test(c.attrs.hex!))).toBe(
      true,
    );
    const back = gexf.parse(Graph, xml);
    back.forEachNode((_n, a) => {
      expect(Number.isFinite(a.x) && Number.isFinite(a.y) && a.size > 0).toBe(true);
      expect(a.color).toMatch(/^#/);
    });
    expect(toGexf(hostileGraph(), { seed: 1 })).toBe(xml);
    expect(toGexf(hostileGraph(), { viz: false })).not.toContain('viz:position');
  });

  it('toGexf round-trips the 139-task School graph', async () => {
    const school = await loadGraph('graphs/school.json');
    const back = gexf.parse(Graph, toGexf(school));
    expect(back.order).toBe(139);
    expect(edgeSet(back)).toEqual(edgeSet(school));
  });

  it('toGexf refuses what is not a task graph', () => {
    expect(() => toGexf(new Graph.DirectedGraph())).toThrow(GraphStructureError);
    expect(() => toGexf(hostileGraph(), { pretty: true } as never)).toThrow(OptionsError);
  });
});

describe('control characters', () => {
  it('toGexf, toGraphml and renderGraphSvg stay well-formed with characters XML cannot hold', () => {
    const g = hostileGraph();
    g.addTask('bell\u0007', { kind: 'binary', label: 'nul\u0000 label' });
    g.addAffinity('bell\u0007', 'a1', { weight: 0.2 });
    parseXml(toGexf(g));
    parseXml(toGraphml(g));
    parseXml(renderGraphSvg(g));
    const back = graphml.parse(Graph, toGraphml(g));
    expect(back.hasNode('bell\uFFFD')).toBe(true);
    expect(back.order).toBe(g.order);
  });
});

describe('toGraphml', () => {
  it('toGraphml writes well-formed GraphML with typed keys', () => {
    const xml = toGraphml(hostileGraph());
    const tree = parseXml(xml);
    const keys = elements(tree, 'key').map((k) => k.attrs);
    const key = (domain: string, name: string) =>
      keys.find((k) => k.for === domain && k['attr.name'] === name);
    expect(key('edge', 'weight')?.['attr.type']).toBe('double');
    expect(key('edge', 'sharing')?.['attr.type']).toBe('string');
    expect(key('node', 'kind')?.['attr.type']).toBe('string');
    expect(key('node', 'classes')?.['attr.type']).toBe('string');
    expect(key('graph', 'name')?.['attr.type']).toBe('string');
    // Every data element points at a declared key.
    const ids = new Set(keys.map((k) => k.id));
    expect(elements(tree, 'data').every((d) => ids.has(d.attrs.key!))).toBe(true);
  });

  it('toGraphml parses back with graphology-graphml to the same graph', () => {
    const g = hostileGraph();
    const back = graphml.parse(Graph, toGraphml(g));
    expect(back.type).toBe('undirected');
    expect(back.nodes()).toEqual(g.nodes());
    expect(back.edges()).toEqual(g.edges());
    expect(edgeSet(back)).toEqual(edgeSet(g));
    g.forEachNode((id, a) => {
      const b = back.getNodeAttributes(id);
      expect(b.kind).toBe(a.kind);
      if (a.label) expect(b.label).toBe(a.label);
    });
    expect(back.getEdgeAttribute(back.edge(HOSTILE[1], 'b2')!, 'sharing')).toBe('none');
    expect(back.getAttribute('name')).toBe('two cliques');
    expect(JSON.parse(back.getNodeAttribute(HOSTILE[1], 'classes') as string)).toEqual([
      'x',
      'y&z',
    ]);
  });

  it('toGraphml with viz adds numeric x, y, size and a colour', () => {
    const back = graphml.parse(Graph, toGraphml(hostileGraph(), { viz: true, seed: 2 }));
    back.forEachNode((_n, a) => {
      expect(typeof a.x).toBe('number');
      expect(typeof a.y).toBe('number');
      expect(typeof a.size).toBe('number');
      expect(a.color).toMatch(/^#/);
    });
  });

  it('toGraphml round-trips the 111-task SUN09 graph with its negative weights', async () => {
    const sun = await loadGraph('graphs/sun09.json');
    const back = graphml.parse(Graph, toGraphml(sun));
    expect(back.order).toBe(111);
    expect(edgeSet(back)).toEqual(edgeSet(sun));
    expect(back.someEdge((_e, a) => a.weight < 0)).toBe(true);
  });

  it('toGraphml refuses bad options and non-graphs', () => {
    expect(() => toGraphml(hostileGraph(), { viz: 'yes' } as never)).toThrow(OptionsError);
    expect(() => toGraphml(42 as never)).toThrow(GraphStructureError);
  });
});
