/**
 * toGraphml: a task graph as GraphML with typed attribute keys (written here: graphology-graphml
 * only parses). Scalars keep their type (string, boolean, int, long, double); lists and objects
 * are written as JSON text in string keys.
 */
import type { AbstractGraph } from 'graphology-types';
import { readGraph } from '../schema/validate.js';
import { computeDrawing } from './drawing.js';
import { escapeAttr, escapeXml } from './escape.js';
import { safeKeys } from './gexf.js';
import {
  GRAPH_SVG_DEFAULTS,
  GraphmlOptionsSchema,
  resolveOptions,
  type GraphmlOptions,
} from './options.js';

type Domain = 'graph' | 'node' | 'edge';
type KeyType = 'boolean' | 'int' | 'long' | 'double' | 'string';

interface Key {
  id: string;
  domain: Domain;
  name: string;
  type: KeyType;
}

function typeOf(value: unknown): KeyType {
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return Math.abs(value) <= 0x7fffffff ? 'int' : 'long';
    return 'double';
  }
  return 'string';
}

/** The narrowest type holding both (numbers widen int -> long -> double; anything else mixed -> string). */
function widen(a: KeyType, b: KeyType): KeyType {
  if (a === b) return a;
  const numeric: KeyType[] = ['int', 'long', 'double'];
  if (numeric.includes(a) && numeric.includes(b))
    return numeric[Math.max(numeric.indexOf(a), numeric.indexOf(b))]!;
  return 'string';
}

function text(value: unknown, type: KeyType): string {
  if (type === 'string')
    return typeof value === 'string'
      ? value
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : JSON.stringify(value);
  if (type === 'double' && typeof value === 'number' && !Number.isFinite(value))
    return Number.isNaN(value) ? 'NaN' : value > 0 ? 'INF' : '-INF';
  return String(value);
}

class KeyTable {
  readonly keys: Key[] = [];
  private readonly byName = new Map<string, Key>();
  constructor(
    private readonly prefix: string,
    private readonly domain: Domain,
  ) {}
  see(name: string, value: unknown): void {
    if (value === undefined || value === null) return;
    const type = typeOf(value);
    const key = this.byName.get(name);
    if (key) key.type = widen(key.type, type);
    else {
      const created: Key = {
        id: `${this.prefix}${this.keys.length}`,
        domain: this.domain,
        name,
        type,
      };
      this.keys.push(created);
      this.byName.set(name, created);
    }
  }
  data(attributes: Record<string, unknown>, indent: string): string {
    const out: string[] = [];
    for (const [name, value] of Object.entries(attributes)) {
      const key = this.byName.get(name);
      if (!key || value === undefined || value === null) continue;
      out.push(`${indent}<data key="${key.id}">${escapeXml(text(value, key.type))}</data>`);
    }
    return out.join('\n');
  }
}

/**
 * Writes a task graph as GraphML: one typed `<key>` per graph, node and edge attribute
 * (`weight` as double, `kind` as string, ...), node and edge ids as in the graph. With
 * `viz: true`, nodes also get x, y, size and color from the layout (seeded).
 */
export function toGraphml(graph: AbstractGraph, options: GraphmlOptions = {}): string {
  const o = resolveOptions(
    GraphmlOptionsSchema,
    options,
    { ...GRAPH_SVG_DEFAULTS, viz: false, colorBy: 'group' as const },
    'toGraphml',
  );
  const drawing = o.viz ? computeDrawing(graph, o) : (readGraph(graph), undefined);
  const graphKeys = new KeyTable('g', 'graph');
  const nodeKeys = new KeyTable('n', 'node');
  const edgeKeys = new KeyTable('e', 'edge');

  const graphAttributes = graph.getAttributes();
  for (const [k, v] of Object.entries(graphAttributes)) graphKeys.see(k, v);
  const nodeAttributes = new Map<string, Record<string, unknown>>();
  graph.forEachNode((node, attrs) => {
    const a: Record<string, unknown> = { ...attrs };
    nodeAttributes.set(node, a);
  });
  if (drawing) {
    drawing.tasks.forEach((t, i) => {
      Object.assign(nodeAttributes.get(t.id)!, {
        x: round(drawing.layout.x[i]!),
        y: round(drawing.layout.y[i]!),
        size: round(t.r),
        color: t.color,
      });
    });
  }
  for (const a of nodeAttributes.values())
    for (const [k, v] of Object.entries(a)) nodeKeys.see(k, v);
  graph.forEachEdge((_e, attrs) => {
    for (const [k, v] of Object.entries(attrs)) edgeKeys.see(k, v);
  });

  const nodeIds = safeKeys(graph.nodes());
  const edgeIds = safeKeys(graph.edges());
  const lines: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
  ];
  for (const key of [...graphKeys.keys, ...nodeKeys.keys, ...edgeKeys.keys]) {
    lines.push(
      `  <key id="${key.id}" for="${key.domain}" attr.name="${escapeAttr(key.name)}" attr.type="${key.type}"/>`,
    );
  }
  lines.push('  <graph id="G" edgedefault="undirected">');
  const graphData = graphKeys.data(graphAttributes, '    ');
  if (graphData) lines.push(graphData);
  graph.forEachNode((node) => {
    const data = nodeKeys.data(nodeAttributes.get(node)!, '      ');
    lines.push(
      data
        ? `    <node id="${escapeAttr(nodeIds.get(node))}">\n${data}\n    </node>`
        : `    <node id="${escapeAttr(nodeIds.get(node))}"/>`,
    );
  });
  graph.forEachEdge((edge, attrs, source, target) => {
    const open = `    <edge id="${escapeAttr(edgeIds.get(edge))}" source="${escapeAttr(nodeIds.get(source))}" target="${escapeAttr(nodeIds.get(target))}"`;
    const data = edgeKeys.data(attrs, '      ');
    lines.push(data ? `${open}>\n${data}\n    </edge>` : `${open}/>`);
  });
  lines.push('  </graph>', '</graphml>', '');
  return lines.join('\n');
}

const round = (v: number) => Math.round(v * 1000) / 1000;
