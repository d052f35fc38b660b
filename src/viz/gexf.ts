/**
 * toGexf: a task graph as GEXF 1.3 (graphology-gexf) with viz positions, colours and sizes,
 * for Gephi. Task attributes become typed GEXF attributes; objects are written as JSON text.
 */
import { UndirectedGraph } from 'graphology';
import { safeNeighbours } from '../graph/safe-neighbours.js';
import type { AbstractGraph } from 'graphology-types';
import gexfImport from 'graphology-gexf';
import { NEGATIVE_EDGE_COLOR, POSITIVE_EDGE_COLOR } from './colors.js';
import { computeDrawing } from './drawing.js';
import { xmlSafe } from './escape.js';
import {
  GRAPH_SVG_DEFAULTS,
  GexfOptionsSchema,
  resolveOptions,
  type GexfOptions,
} from './options.js';

// CommonJS package: the runtime default holds `write` and `parse`.
const gexf = gexfImport as unknown as { write: typeof gexfImport.write };

/** Display attributes that GEXF holds in its viz namespace or as the label, not as data. */
const VIZ_KEYS = new Set(['label', 'color', 'size', 'x', 'y', 'z', 'shape', 'thickness']);

/** A value as GEXF can type it: scalars and lists of strings or numbers as they are, anything else as JSON text. */
export function dataValue(value: unknown): unknown {
  if (typeof value === 'string') return xmlSafe(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'))
    return value.map((v) => xmlSafe(v as string));
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number'))
    return value;
  return xmlSafe(JSON.stringify(value));
}

/** Gives every key a version XML can hold, unique in the graph (keys are almost always unchanged). */
export function safeKeys(keys: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const k of keys) {
    let safe = xmlSafe(k);
    if (safe !== k)
      for (let i = 2; used.has(safe) || keys.includes(safe); i++) safe = `${xmlSafe(k)}#${i}`;
    used.add(safe);
    out.set(k, safe);
  }
  return out;
}

/**
 * Writes a task graph as GEXF 1.3: nodes with their label, kind and other attributes, and with
 * `viz` position, colour and size from the same layout and styling as renderGraphSvg (seeded);
 * edges with their weight (negative ones coloured red). Opens in Gephi.
 */
export function toGexf(graph: AbstractGraph, options: GexfOptions = {}): string {
  const o = resolveOptions(
    GexfOptionsSchema,
    options,
    { ...GRAPH_SVG_DEFAULTS, viz: true },
    'toGexf',
  );
  const drawing = computeDrawing(graph, o);
  const { spec } = drawing;
  const keys = safeKeys(spec.tasks.map((t) => t.id));
  const out = safeNeighbours(new UndirectedGraph());
  const creator = 'mtgraph';
  const description = [spec.name, spec.description].filter(Boolean).join(': ');
  out.replaceAttributes(description ? { creator, description: xmlSafe(description) } : { creator });
  drawing.tasks.forEach((t, i) => {
    const attributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t.attributes))
      if (!VIZ_KEYS.has(k) && v !== undefined) attributes[xmlSafe(k)] = dataValue(v);
    if (o.colorBy === 'group') attributes.group = t.group;
    const node: Record<string, unknown> = { label: xmlSafe(t.label), attributes };
    if (o.viz)
      node.viz = {
        x: round(drawing.layout.x[i]!),
        y: round(drawing.layout.y[i]!),
        size: round(t.r),
        color: hexColor(t.color),
      };
    out.addNode(keys.get(t.id)!, node);
  });
  const edgeKeys = safeKeys(graph.edges());
  graph.forEachEdge((edge, attrs, source, target) => {
    const weight = typeof attrs.weight === 'number' ? attrs.weight : 1;
    const attributes: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(attrs))
      if (k !== 'weight' && !VIZ_KEYS.has(k) && v !== undefined)
        attributes[xmlSafe(k)] = dataValue(v);
    const e: Record<string, unknown> = { weight, attributes };
    if (typeof attrs.label === 'string') e.label = xmlSafe(attrs.label);
    if (o.viz)
      e.viz = {
        color: weight < 0 ? NEGATIVE_EDGE_COLOR : POSITIVE_EDGE_COLOR,
        thickness: round(Math.max(0.1, Math.abs(weight) * 4)),
      };
    out.addEdgeWithKey(edgeKeys.get(edge)!, keys.get(source)!, keys.get(target)!, e);
  });
  return gexf.write(out, {
    version: '1.3',
    pedantic: true,
    formatNode: (_key, a) => a as never,
    formatEdge: (_key, a) => a as never,
  });
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** A colour as #rrggbb for GEXF (which takes hex or rgb); names and hsl() fall back to grey. */
function hexColor(color: string): string {
  if (/^#[0-9a-f]{6}$/i.test(color)) return color;
  if (/^#[0-9a-f]{3}$/i.test(color)) return `#${[...color.slice(1)].map((c) => c + c).join('')}`;
  const rgb = /^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/i.exec(color);
  if (rgb)
    return `#${rgb
      .slice(1, 4)
      .map((v) => Math.min(255, Number(v)).toString(16).padStart(2, '0'))
      .join('')}`;
  return '#a0a0a0';
}
