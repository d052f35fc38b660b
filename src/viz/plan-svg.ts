/**
 * renderPlanSvg: the compiled network as a layered diagram laid out by dagre (input at the top,
 * then shared blocks, experts and gates, towers, and heads at the bottom), with parameter
 * counts in every box and couplings as dashed links.
 */
import dagre from '@dagrejs/dagre';
import { parsePlan } from '../plan/schema.js';
import type { Plan } from '../plan/types.js';
import { KIND_COLORS } from './colors.js';
import { count, escapeAttr, escapeXml, num, textWidth, truncate } from './escape.js';
import {
  PLAN_SVG_DEFAULTS,
  PlanSvgOptionsSchema,
  resolveOptions,
  type PlanSvgOptions,
} from './options.js';
import { planParts, type Part, type PartKind } from './plan-parts.js';
import { CHAIN_COLOR } from './chain-arrows.js';

const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const COUPLING_COLOR = '#8e44ad';
/** A top-to-bottom diagram wider than this (and 3 times wider than high) is laid out left to right. */
const WIDE = 1800;

/** Fill and border of each kind of box. */
export const PART_STYLE: Readonly<
  Record<PartKind, { fill: string; stroke: string; label: string }>
> = Object.freeze({
  input: { fill: '#eeeeee', stroke: '#777777', label: 'input' },
  block: { fill: '#dbe8f6', stroke: '#4c78a8', label: 'shared block' },
  expert: { fill: '#ece2f0', stroke: '#b279a2', label: 'expert' },
  gate: { fill: '#fde9d4', stroke: '#f58518', label: 'gate (softmax mix)' },
  tower: { fill: '#e3f1df', stroke: '#54a24b', label: 'tower (private)' },
  head: { fill: '#ffffff', stroke: '#555555', label: 'head (colour: task kind)' },
  tasks: { fill: '#f4f4f4', stroke: '#888888', label: 'folded tasks (towers, heads)' },
  subtree: { fill: '#f4f4f4', stroke: '#4c78a8', label: 'folded shared parts' },
  'cross-stitch': { fill: '#f3e5f5', stroke: COUPLING_COLOR, label: 'cross-stitch unit' },
});

interface Box {
  part: Part;
  width: number;
  height: number;
  x: number;
  y: number;
}

function boxSize(part: Part, fontSize: number): { width: number; height: number } {
  const title = truncate(part.title, 32);
  const w = Math.max(
    textWidth(title, fontSize + 1) + 4,
    ...part.lines.map((l) => textWidth(truncate(l, 40), fontSize - 1)),
  );
  return {
    width: Math.ceil(w + 20),
    height: Math.ceil((fontSize + 4) * (1 + part.lines.length) + 10),
  };
}

/**
 * Draws a Plan as a standalone SVG string. Plans with more than `maxTasks` tasks are drawn with
 * each task's private parts folded into summary boxes; more than `maxNodes` boxes fold deep
 * shared parts too, so the diagram stays readable and the layout fast.
 */
export function renderPlanSvg(plan: Plan, options: PlanSvgOptions = {}): string {
  const o = resolveOptions(PlanSvgOptionsSchema, options, PLAN_SVG_DEFAULTS, 'renderPlanSvg');
  const p = parsePlan(plan);
  const fontSize = o.fontSize;
  const graph = planParts(p, o);

  const sizes = new Map(graph.parts.map((part) => [part.id, boxSize(part, fontSize)]));
  const layout = (rankdir: 'TB' | 'LR') => {
    const g = new dagre.graphlib.Graph({ multigraph: false });
    g.setGraph({
      rankdir,
      nodesep: rankdir === 'TB' ? 18 : 10,
      ranksep: rankdir === 'TB' ? 42 : 56,
      edgesep: 10,
      marginx: 12,
      marginy: 12,
    });
    g.setDefaultEdgeLabel(() => ({}));
    // dagre orders the siblings of a rank in reverse insertion order: insert in reverse so tasks read in plan order.
    for (const part of [...graph.parts].reverse()) g.setNode(part.id, { ...sizes.get(part.id)! });
    for (const l of [...graph.links].reverse()) {
      if (!g.hasNode(l.from) || !g.hasNode(l.to)) continue;
      g.setEdge(l.from, l.to, { weight: l.style === 'data' ? 2 : 1, minlen: 1 });
    }
    dagre.layout(g);
    return g;
  };
  // Top to bottom, unless that is much wider than high: then left to right.
  let g = layout('TB');
  let info = g.graph() as { width?: number; height?: number };
  let vertical = true;
  if ((info.width ?? 0) > WIDE && (info.width ?? 0) > 3 * (info.height ?? 0)) {
    g = layout('LR');
    info = g.graph() as { width?: number; height?: number };
    vertical = false;
  }
  const boxes = new Map<string, Box>();
  for (const part of graph.parts) {
    const n = g.node(part.id) as { x: number; y: number; width: number; height: number };
    boxes.set(part.id, { part, x: n.x, y: n.y, width: n.width, height: n.height });
  }
  const header = fontSize * 2 + 24;
  const diagramWidth = Math.max(info.width ?? 0, 320);
  const diagramHeight = info.height ?? 0;

  // Links, from dagre's routed points.
  const linkSvg: string[] = [];
  for (const l of graph.links) {
    if (!g.hasEdge(l.from, l.to)) continue;
    const e = g.edge(l.from, l.to) as { points?: Array<{ x: number; y: number }> };
    const pts = e.points ?? [];
    if (pts.length < 2) continue;
    const d = `M${pts.map((q) => `${num(q.x)},${num(q.y)}`).join('L')}`;
    const style =
      l.style === 'data'
        ? 'stroke="#666" stroke-width="1.3"'
        : l.style === 'gate'
          ? 'stroke="#f58518" stroke-width="1" stroke-dasharray="2 3"'
          : l.style === 'chain'
            ? `stroke="${CHAIN_COLOR}" stroke-width="2"`
            : `stroke="${COUPLING_COLOR}" stroke-width="1.3" stroke-dasharray="6 4"`;
    const last = pts[pts.length - 1]!,
      prev = pts[pts.length - 2]!;
    const angle = Math.atan2(last.y - prev.y, last.x - prev.x);
    const head = [0, 2.6, -2.6].map((da, i) => {
      const r = i === 0 ? 0 : 7;
      return `${num(last.x - r * Math.cos(angle + da / 6))},${num(last.y - r * Math.sin(angle + da / 6))}`;
    });
    linkSvg.push(
      `<path d="${d}" fill="none" ${style}/><polygon points="${head.join(' ')}" fill="${l.style === 'data' ? '#666' : l.style === 'gate' ? '#f58518' : l.style === 'chain' ? CHAIN_COLOR : COUPLING_COLOR}"/>`,
    );
  }

  // Laplacian pairs: dashed arcs beside the boxes (below them top to bottom, right of them left to
  // right), the strongest first, at most maxCouplingLinks.
  const pairs = [...graph.pairs]
    .sort((a, b) => b.weight - a.weight || b.pairs - a.pairs)
    .slice(0, o.maxCouplingLinks);
  let arcExtent = 0;
  const arcSvg = pairs.map((pl) => {
    const a = boxes.get(pl.a),
      b = boxes.get(pl.b);
    if (!a || !b) return '';
    let d: string;
    if (vertical) {
      const [l, r] = a.x <= b.x ? [a, b] : [b, a];
      const x1 = l.x,
        y1 = l.y + l.height / 2,
        x2 = r.x,
        y2 = r.y + r.height / 2;
      const cy = Math.max(y1, y2) + 14 + Math.min(120, Math.abs(x2 - x1) * 0.18);
      arcExtent = Math.max(arcExtent, (Math.max(y1, y2) + cy) / 2 - diagramHeight);
      d = `M${num(x1)},${num(y1)}Q${num((x1 + x2) / 2)},${num(cy)} ${num(x2)},${num(y2)}`;
    } else {
      const [t, u] = a.y <= b.y ? [a, b] : [b, a];
      const x1 = t.x + t.width / 2,
        y1 = t.y,
        x2 = u.x + u.width / 2,
        y2 = u.y;
      const cx = Math.max(x1, x2) + 14 + Math.min(120, Math.abs(y2 - y1) * 0.18);
      arcExtent = Math.max(arcExtent, (Math.max(x1, x2) + cx) / 2 - diagramWidth);
      d = `M${num(x1)},${num(y1)}Q${num(cx)},${num((y1 + y2) / 2)} ${num(x2)},${num(y2)}`;
    }
    const width = 0.8 + 2.2 * Math.min(1, pl.weight);
    const tip = `Laplacian penalty ${a.part.title} — ${b.part.title}: ${pl.pairs} pair${pl.pairs === 1 ? '' : 's'}, mean |w| ${pl.weight.toFixed(2)} (${pl.layers.join(', ')})`;
    return `<path d="${d}" fill="none" stroke="${COUPLING_COLOR}" stroke-opacity="0.7" stroke-width="${num(width, 2)}" stroke-dasharray="5 4"><title>${escapeXml(tip)}</title></path>`;
  });
  const arcDepth = vertical ? Math.max(0, arcExtent) + 6 : 0;
  const arcWidth = vertical ? 0 : Math.max(0, arcExtent) + 6;

  // Boxes.
  const boxSvg = [...boxes.values()].map((b) => {
    const style = PART_STYLE[b.part.kind];
    const stroke =
      b.part.kind === 'head' ? (KIND_COLORS[b.part.taskKind ?? ''] ?? style.stroke) : style.stroke;
    const left = b.x - b.width / 2,
      top = b.y - b.height / 2;
    const inner = graph.innerPairs.get(b.part.id);
    const lines = inner
      ? [...b.part.lines, `${inner} coupled pair${inner === 1 ? '' : 's'} inside`]
      : b.part.lines;
    const height = inner ? b.height + fontSize + 4 : b.height;
    const text = [
      `<text x="${num(b.x)}" y="${num(top + fontSize + 6)}" font-weight="600" font-size="${num(fontSize + 1)}">${escapeXml(truncate(b.part.title, 32))}</text>`,
      ...lines.map(
        (line, i) =>
          `<text x="${num(b.x)}" y="${num(top + fontSize + 6 + (i + 1) * (fontSize + 4))}" font-size="${num(fontSize - 1)}" fill="#444">${escapeXml(truncate(line, 40))}</text>`,
      ),
    ];
    const dash =
      b.part.kind === 'tasks' || b.part.kind === 'subtree' ? ' stroke-dasharray="3 2"' : '';
    return `<g class="part ${b.part.kind}"><title>${escapeXml(b.part.tip)}</title><rect x="${num(left)}" y="${num(top)}" width="${num(b.width)}" height="${num(height)}" rx="6" fill="${style.fill}" stroke="${escapeAttr(stroke)}" stroke-width="${b.part.kind === 'head' ? 2 : 1.3}"${dash}/>${text.join('')}</g>`;
  });

  // Legend (right of the diagram).
  const kinds = new Set(graph.parts.map((q) => q.kind));
  const legendLines: string[] = [];
  let ly = 16;
  const line = fontSize + 8;
  for (const [kind, style] of Object.entries(PART_STYLE) as Array<
    [PartKind, (typeof PART_STYLE)[PartKind]]
  >) {
    if (!kinds.has(kind)) continue;
    legendLines.push(
      `<rect x="0" y="${num(ly - fontSize + 1)}" width="22" height="${num(fontSize + 2)}" rx="3" fill="${style.fill}" stroke="${style.stroke}"/><text x="30" y="${num(ly)}">${escapeXml(style.label)}</text>`,
    );
    ly += line;
  }
  const headKinds = new Set(p.tasks.map((t) => t.kind));
  for (const [k, color] of Object.entries(KIND_COLORS)) {
    if (!headKinds.has(k as never) || !kinds.has('head')) continue;
    legendLines.push(
      `<rect x="8" y="${num(ly - fontSize + 1)}" width="14" height="${num(fontSize + 2)}" rx="3" fill="#fff" stroke="${color}" stroke-width="2"/><text x="30" y="${num(ly)}">${escapeXml(k)}</text>`,
    );
    ly += line;
  }
  legendLines.push(
    `<line x1="0" y1="${num(ly - fontSize / 3)}" x2="22" y2="${num(ly - fontSize / 3)}" stroke="#666" stroke-width="1.3"/><text x="30" y="${num(ly)}">reads from</text>`,
  );
  ly += line;
  if (graph.links.some((l) => l.style === 'gate')) {
    legendLines.push(
      `<line x1="0" y1="${num(ly - fontSize / 3)}" x2="22" y2="${num(ly - fontSize / 3)}" stroke="#f58518" stroke-dasharray="2 3"/><text x="30" y="${num(ly)}">gate input</text>`,
    );
    ly += line;
  }
  if (pairs.length || kinds.has('cross-stitch')) {
    legendLines.push(
      `<line x1="0" y1="${num(ly - fontSize / 3)}" x2="22" y2="${num(ly - fontSize / 3)}" stroke="${COUPLING_COLOR}" stroke-width="1.5" stroke-dasharray="5 4"/><text x="30" y="${num(ly)}">coupling</text>`,
    );
    ly += line;
  }
  const legendWidth = o.legend ? 210 : 0;
  const legendX = diagramWidth + arcWidth + 16;

  // Caption lines: strategy, size, couplings, folding notes.
  const couplingText = p.couplings.map((c) =>
    c.kind === 'laplacian'
      ? `Laplacian on ${c.layer === 'head' ? 'heads' : `tower layer ${c.layer}`} (strength ${c.strength}, ${c.pairs.length} pairs)`
      : `cross-stitch after layer ${c.after} (${c.tasks.length} tasks)`,
  );
  const hidden = graph.pairs.length - pairs.length;
  const notes = [
    ...(couplingText.length ? [`couplings: ${truncate(couplingText.join('; '), 160)}`] : []),
    ...(hidden > 0 ? [`${hidden} weaker coupling links not drawn`] : []),
    ...graph.notes,
  ];
  const title = o.title ?? p.name ?? 'network';
  const caption = `${title}: strategy ${p.strategy}${p.requested !== p.strategy ? ` (asked: ${p.requested})` : ''}, ${p.tasks.length} task${p.tasks.length === 1 ? '' : 's'}, ${count(p.params.total)} parameters`;
  const footer = notes.length * (fontSize + 6) + 8;
  const width = Math.max(legendX + legendWidth, textWidth(caption, fontSize + 2) + 24);
  const height = header + Math.max(diagramHeight + arcDepth, o.legend ? ly + 8 : 0) + footer;
  const footY = header + Math.max(diagramHeight + arcDepth, o.legend ? ly + 8 : 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${escapeAttr(FONT)}" font-size="${num(fontSize)}" role="img">`,
    `<title>${escapeXml(caption)}</title>`,
    `<desc>${escapeXml('mtgraph network diagram: input at the top, heads at the bottom; boxes show layers and parameter counts; dashed links are couplings.')}</desc>`,
    `<rect width="${num(width)}" height="${num(height)}" fill="#fff"/>`,
    `<text class="caption" x="8" y="${num(fontSize + 8)}" font-size="${num(fontSize + 2)}" font-weight="600" fill="#333">${escapeXml(caption)}</text>`,
    `<g class="diagram" transform="translate(0,${num(header - 8)})">`,
    `<g class="links">${linkSvg.join('')}</g>`,
    `<g class="couplings">${arcSvg.join('')}</g>`,
    `<g class="parts" text-anchor="middle">${boxSvg.join('')}</g>`,
    '</g>',
    o.legend
      ? `<g class="legend" transform="translate(${num(legendX)},${num(header)})">${legendLines.join('')}</g>`
      : '',
    `<g class="notes" font-size="${num(fontSize - 1)}" fill="#666">${notes.map((n, i) => `<text x="8" y="${num(footY + (i + 1) * (fontSize + 6))}">${escapeXml(n)}</text>`).join('')}</g>`,
    '</svg>',
  ].join('\n');
}
