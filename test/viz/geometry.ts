/** Geometry of a renderGraphSvg picture read back from its SVG (for test/viz/edge-clearance.test.ts). */
import { textWidth } from '../../src/viz/escape.js';
import { elements, parseXml } from './helpers.js';

type Box = [number, number, number, number];

export interface Crossings {
  edges: number;
  /** (edge, node) pairs: the edge enters the circle of a node it does not join. */
  nodeHits: number;
  /** (edge, label) pairs: the edge enters the box of a label. */
  labelHits: number;
}

/** The points of an edge element (a line, or a path "M x y Q ..." / "M x y C ..."), every half pixel or closer. */
function edgeSamples(tag: string, attrs: Record<string, string>): number[][] {
  let p: number[];
  if (tag === 'line') {
    p = ['x1', 'y1', 'x2', 'y2'].map((k) => Number(attrs[k]));
  } else {
    const m = /^M([-\d.]+) ([-\d.]+)([QC])([-\d. ]+)$/.exec(attrs.d!.trim());
    if (!m) throw new Error(`edge path not understood: ${attrs.d}`);
    const rest = m[4]!.trim().split(' ').map(Number);
    if (rest.length !== (m[3] === 'Q' ? 4 : 6))
      throw new Error(`edge path not understood: ${attrs.d}`);
    p = [Number(m[1]), Number(m[2]), ...rest];
  }
  // As a cubic Bezier: a line and a quadratic are raised to degree 3.
  const [x0, y0] = [p[0]!, p[1]!];
  const [x3, y3] = [p.at(-2)!, p.at(-1)!];
  let c: number[];
  if (p.length === 4)
    c = [
      x0 + (x3 - x0) / 3,
      y0 + (y3 - y0) / 3,
      x0 + (2 * (x3 - x0)) / 3,
      y0 + (2 * (y3 - y0)) / 3,
    ];
  else if (p.length === 6)
    c = [
      x0 + (2 / 3) * (p[2]! - x0),
      y0 + (2 / 3) * (p[3]! - y0),
      x3 + (2 / 3) * (p[2]! - x3),
      y3 + (2 / 3) * (p[3]! - y3),
    ];
  else c = p.slice(2, 6);
  const hull =
    Math.hypot(c[0]! - x0, c[1]! - y0) +
    Math.hypot(c[2]! - c[0]!, c[3]! - c[1]!) +
    Math.hypot(x3 - c[2]!, y3 - c[3]!);
  const steps = Math.max(2, Math.ceil(hull * 2));
  const out: number[][] = [];
  for (let k = 0; k <= steps; k++) {
    const t = k / steps;
    const u = 1 - t;
    const w = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t] as const;
    out.push([
      w[0] * x0 + w[1] * c[0]! + w[2] * c[2]! + w[3] * x3,
      w[0] * y0 + w[1] * c[1]! + w[2] * c[3]! + w[3] * y3,
    ]);
  }
  return out;
}

/** Counts the crossings in a renderGraphSvg picture. */
export function crossings(svg: string): Crossings {
  const tree = parseXml(svg);
  const root = elements(tree, 'svg')[0]!;
  const fontSize = Number(root.attrs['font-size']);
  const nodes = elements(tree, 'circle')
    .filter((c) => c.path.includes('g.nodes'))
    .map((c) => ({ x: Number(c.attrs.cx), y: Number(c.attrs.cy), r: Number(c.attrs.r) }));
  const labels: Box[] = elements(tree, 'text')
    .filter((t) => t.path.includes('g.labels'))
    .map((t) => {
      const x = Number(t.attrs.x);
      const y = Number(t.attrs.y);
      const w = textWidth(t.text, fontSize);
      const anchor = t.attrs['text-anchor'] ?? 'start';
      const left = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
      return [left, y - fontSize * 0.8, left + w, y + fontSize * 0.25];
    });
  const edges = ['line', 'path'].flatMap((tag) =>
    elements(tree, tag)
      .filter((e) => e.path.some((p) => p.startsWith('g.edges')))
      .map((e) => edgeSamples(tag, e.attrs)),
  );
  let nodeHits = 0;
  let labelHits = 0;
  for (const points of edges) {
    const [a, b] = [points[0]!, points.at(-1)!];
    const xs = points.map((p) => p[0]!);
    const ys = points.map((p) => p[1]!);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const isEnd = (n: { x: number; y: number }) =>
      Math.hypot(n.x - a[0]!, n.y - a[1]!) < 0.2 || Math.hypot(n.x - b[0]!, n.y - b[1]!) < 0.2;
    for (const n of nodes) {
      if (n.x + n.r < x0 || n.x - n.r > x1 || n.y + n.r < y0 || n.y - n.r > y1 || isEnd(n))
        continue;
      if (points.some(([x, y]) => Math.hypot(x! - n.x, y! - n.y) < n.r)) nodeHits++;
    }
    for (const [l, t, r, bottom] of labels) {
      if (r < x0 || l > x1 || bottom < y0 || t > y1) continue;
      if (points.some(([x, y]) => x! > l && x! < r && y! > t && y! < bottom)) labelHits++;
    }
  }
  return { edges: edges.length, nodeHits, labelHits };
}
