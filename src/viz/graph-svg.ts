/**
 * renderGraphSvg: a task graph as a standalone SVG. Seeded ForceAtlas2 layout; nodes coloured
 * by group or kind and sized by an attribute; edges as wide as |weight|, conflicting (negative)
 * affinities dashed and red; labels placed so they do not pile up; a legend.
 */
import type { AbstractGraph } from 'graphology-types';
import { NEGATIVE_EDGE_COLOR, POSITIVE_EDGE_COLOR } from './colors.js';
import { computeDrawing, type Drawing } from './drawing.js';
import {
  edgePoints,
  linePoints,
  moveNodesOffEdges,
  ROUTE_EDGES_UP_TO,
  ROUTE_TASKS_UP_TO,
  routeEdges,
  type EdgeRoute,
  type RouteNode,
} from './edge-routes.js';
import { escapeAttr, escapeXml, num, textWidth, truncate } from './escape.js';
import { placeLabels } from './labels.js';
import {
  GRAPH_SVG_DEFAULTS,
  GraphSvgOptionsSchema,
  LayoutOptionsSchema,
  resolveOptions,
  type GraphSvgOptions,
  type LayoutOptions,
} from './options.js';
import { chainArrowsSvg } from './chain-arrows.js';

/** Graphs with at most this many tasks get every label in 'auto' mode; larger ones only the labels that fit. */
export const ALL_LABELS_UP_TO = 150;
/** Labels drawn at most on large graphs ('auto' mode). */
export const MAX_FIT_LABELS = 300;
/** Edges carry a <title> tooltip up to this many edges (beyond, the file would mostly be tooltips). */
const EDGE_TITLES_UP_TO = 2000;
/** Overlapping nodes are pushed apart up to this many tasks (beyond, a dense picture is expected). */
const SEPARATE_UP_TO = 3000;
/** Rounds of moving nodes off edges they do not join (each followed by separating nodes). */
const CLEAR_ROUNDS = 6;
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const MIN_LEGEND_WIDTH = 200;

/** Drawing area in px for a graph of n tasks. */
export function autoArea(n: number): [number, number] {
  if (n <= 50) return [640, 480];
  if (n <= 300) return [900, 680];
  if (n <= 2000) return [1200, 900];
  return [1600, 1200];
}

/** Edge width range [min, max] in px for a graph of n tasks. */
function autoEdgeWidth(n: number): [number, number] {
  if (n <= 50) return [0.8, 5];
  if (n <= 300) return [0.5, 3];
  return [0.2, 1.5];
}

/** Canvas positions of the layout: uniform scale into the area with a margin, y flipped (layout y up, SVG y down). */
export function fitToArea(
  drawing: Drawing,
  width: number,
  height: number,
  margin: number,
): { cx: Float64Array; cy: Float64Array; toLayout: (cx: number, cy: number) => [number, number] } {
  const { x, y } = drawing.layout;
  const n = x.length;
  let x0 = Infinity,
    x1 = -Infinity,
    y0 = Infinity,
    y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, x[i]!);
    x1 = Math.max(x1, x[i]!);
    y0 = Math.min(y0, y[i]!);
    y1 = Math.max(y1, y[i]!);
  }
  const w = Math.max(width - 2 * margin, 1);
  const h = Math.max(height - 2 * margin, 1);
  const spanX = x1 - x0,
    spanY = y1 - y0;
  const scale = Math.min(spanX > 0 ? w / spanX : Infinity, spanY > 0 ? h / spanY : Infinity);
  const s = Number.isFinite(scale) ? scale : 1;
  const offX = margin + (w - (spanX > 0 ? spanX * s : 0)) / 2;
  const offY = margin + (h - (spanY > 0 ? spanY * s : 0)) / 2;
  const cx = new Float64Array(n);
  const cy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    cx[i] = offX + (x[i]! - x0) * s;
    cy[i] = offY + (y1 - y[i]!) * s;
  }
  return { cx, cy, toLayout: (px, py) => [x0 + (px - offX) / s, y1 - (py - offY) / s] };
}

/**
 * Pushes overlapping nodes apart in canvas space (a few relaxation passes over a grid), keeping
 * them inside [margin, size - margin]. Deterministic.
 */
export function separateNodes(
  cx: Float64Array,
  cy: Float64Array,
  r: number[],
  width: number,
  height: number,
  margin: number,
  passes = 40,
): void {
  const n = cx.length;
  const pad = 2;
  const cell = Math.max(4, 2 * Math.max(...r) + pad);
  for (let pass = 0; pass < passes; pass++) {
    const grid = new Map<number, number[]>();
    const key = (i: number, j: number) => i * 100_003 + j;
    for (let k = 0; k < n; k++) {
      const id = key(Math.floor(cx[k]! / cell), Math.floor(cy[k]! / cell));
      let list = grid.get(id);
      if (!list) grid.set(id, (list = []));
      list.push(k);
    }
    let moved = false;
    for (let a = 0; a < n; a++) {
      const gi = Math.floor(cx[a]! / cell),
        gj = Math.floor(cy[a]! / cell);
      for (let di = -1; di <= 1; di++)
        for (let dj = -1; dj <= 1; dj++) {
          for (const b of grid.get(key(gi + di, gj + dj)) ?? []) {
            if (b <= a) continue;
            let dx = cx[b]! - cx[a]!,
              dy = cy[b]! - cy[a]!;
            let d = Math.hypot(dx, dy);
            const min = r[a]! + r[b]! + pad;
            if (d >= min) continue;
            if (d < 1e-6) {
              const angle = ((a * 7 + b * 13) % 360) * (Math.PI / 180);
              dx = Math.cos(angle);
              dy = Math.sin(angle);
              d = 1;
            }
            const push = (min - d) / 2 / d;
            cx[a] = cx[a]! - dx * push;
            cy[a] = cy[a]! - dy * push;
            cx[b] = cx[b]! + dx * push;
            cy[b] = cy[b]! + dy * push;
            moved = true;
          }
        }
    }
    for (let k = 0; k < n; k++) {
      cx[k] = Math.min(width - margin, Math.max(margin, cx[k]!));
      cy[k] = Math.min(height - margin, Math.max(margin, cy[k]!));
    }
    if (!moved) break;
  }
}

function legendSvg(
  drawing: Drawing,
  x: number,
  fontSize: number,
  hasNegative: boolean,
  note: string[],
): { svg: string; height: number; width: number } {
  const out: string[] = [];
  const line = fontSize + 8;
  let y = 20;
  const text = (tx: number, ty: number, s: string, extra = '') =>
    `<text x="${num(tx)}" y="${num(ty)}"${extra}>${escapeXml(s)}</text>`;
  if (drawing.legend.title) {
    out.push(text(0, y, drawing.legend.title, ' font-weight="600"'));
    y += line;
    for (const e of drawing.legend.entries) {
      out.push(
        `<circle cx="7" cy="${num(y - fontSize * 0.35)}" r="6" fill="${escapeAttr(e.color)}" stroke="#fff"/>`,
      );
      out.push(text(20, y, e.label));
      y += line;
    }
    if (drawing.legend.more > 0) {
      out.push(text(20, y, `+ ${drawing.legend.more} more`, ' fill="#666"'));
      y += line;
    }
    y += 6;
  }
  const { size } = drawing;
  out.push(text(0, y, size.label, ' font-weight="600"'));
  y += line;
  if (size.max > size.min) {
    out.push(
      `<circle cx="${num(size.rMax)}" cy="${num(y - fontSize * 0.35)}" r="${num(size.rMin)}" fill="#ccc"/>`,
    );
    out.push(text(2 * size.rMax + 8, y, `${formatValue(size.min)}`));
    y += Math.max(line, 2 * size.rMax + 6);
    out.push(
      `<circle cx="${num(size.rMax)}" cy="${num(y - fontSize * 0.35 - size.rMax / 2)}" r="${num(size.rMax)}" fill="#ccc"/>`,
    );
    out.push(text(2 * size.rMax + 8, y - size.rMax / 2, `${formatValue(size.max)}`));
    y += line;
  } else {
    out.push(text(20, y, `all ${formatValue(size.min)}`, ' fill="#666"'));
    y += line;
  }
  y += 6;
  out.push(text(0, y, 'edges: affinity, width ∝ |weight|', ' font-weight="600"'));
  y += line;
  out.push(
    `<line x1="0" y1="${num(y - fontSize * 0.35)}" x2="28" y2="${num(y - fontSize * 0.35)}" stroke="${POSITIVE_EDGE_COLOR}" stroke-width="2.5"/>`,
  );
  out.push(text(36, y, 'positive: related'));
  y += line;
  if (hasNegative) {
    out.push(
      `<line x1="0" y1="${num(y - fontSize * 0.35)}" x2="28" y2="${num(y - fontSize * 0.35)}" stroke="${NEGATIVE_EDGE_COLOR}" stroke-width="2.5" stroke-dasharray="6 4"/>`,
    );
    out.push(text(36, y, 'negative: conflicting'));
    y += line;
  }
  y += 6;
  for (const l of note) {
    out.push(text(0, y, l, ` fill="#888" font-size="${num(Math.max(8, fontSize - 2))}"`));
    y += line - 2;
  }
  const widest = Math.max(
    ...drawing.legend.entries.map((e) => 20 + textWidth(e.label, fontSize)),
    textWidth(drawing.legend.title, fontSize * 1.05),
    textWidth(size.label, fontSize * 1.05),
    textWidth('edges: affinity, width ∝ |weight|', fontSize * 1.05),
  );
  return {
    svg: `<g class="legend" transform="translate(${num(x)},0)" font-size="${num(fontSize)}">${out.join('')}</g>`,
    height: y + 8,
    width: widest + 24,
  };
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  return a !== 0 && (a < 0.01 || a >= 1e5) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

/**
 * Draws a task graph as a standalone SVG string. Pass `seed` for a reproducible picture,
 * `writePositions: true` to keep the layout on the graph (x, y) for sigma.js or Gephi.
 */
export function renderGraphSvg(graph: AbstractGraph, options: GraphSvgOptions = {}): string {
  const o = resolveOptions(GraphSvgOptionsSchema, options, GRAPH_SVG_DEFAULTS, 'renderGraphSvg');
  const drawing = computeDrawing(graph, o);
  const { spec, tasks } = drawing;
  const n = tasks.length;
  const [autoW, autoH] = autoArea(n);
  const width = o.width === 'auto' ? autoW : o.width;
  const height = o.height === 'auto' ? autoH : o.height;
  const fontSize = o.fontSize;
  const margin = drawing.size.rMax + 6 + (n <= ALL_LABELS_UP_TO ? fontSize : 0);
  const { cx, cy, toLayout } = fitToArea(drawing, width, height, margin);
  const [eMin, eMax] = o.edgeWidth === 'auto' ? autoEdgeWidth(n) : o.edgeWidth;
  const clearance = 2 + eMax / 2;
  const pairs = spec.affinities.map(
    (a) => [spec.index.get(a.source)!, spec.index.get(a.target)!] as const,
  );
  const routed = n <= ROUTE_TASKS_UP_TO && pairs.length <= ROUTE_EDGES_UP_TO;
  if (n <= SEPARATE_UP_TO) {
    const radii = tasks.map((t) => t.r);
    const nodeMargin = drawing.size.rMax + 2;
    separateNodes(cx, cy, radii, width, height, nodeMargin);
    // Nodes step off the edges they do not join (then apart again), a few rounds; edges that
    // still pass through a node bend around it below.
    if (routed) {
      for (let round = 0; round < CLEAR_ROUNDS; round++) {
        const points: RouteNode[] = tasks.map((t, i) => ({ x: cx[i]!, y: cy[i]!, r: t.r }));
        const moves = moveNodesOffEdges(points, pairs, {
          width,
          height,
          clearance,
          margin: nodeMargin,
        });
        if (moves === 0) break;
        points.forEach((p, i) => {
          cx[i] = p.x;
          cy[i] = p.y;
        });
        separateNodes(cx, cy, radii, width, height, nodeMargin, 10);
      }
    }
  }
  if (o.writePositions) {
    tasks.forEach((t, i) => {
      const [x, y] = toLayout(cx[i]!, cy[i]!);
      graph.mergeNodeAttributes(t.id, { x, y });
    });
  }

  const edgeOpacity = n <= 300 ? 0.75 : n <= 2000 ? 0.45 : 0.25;
  const titles = spec.affinities.length <= EDGE_TITLES_UP_TO;
  // Edges bend around the nodes they do not join; labels then keep off the drawn edges.
  const routeNodes: RouteNode[] = tasks.map((t, i) => ({ x: cx[i]!, y: cy[i]!, r: t.r }));
  const routes: EdgeRoute[] = routed
    ? routeEdges(routeNodes, pairs, { width, height, clearance })
    : pairs.map(([source, target]) => ({ source, target, hits: 0 }));
  const edgeLines = (negative: boolean) =>
    spec.affinities.flatMap((a, k) => {
      if (a.weight < 0 !== negative) return [];
      const { source: i, target: j, control } = routes[k]!;
      const w = eMin + (eMax - eMin) * Math.min(1, Math.abs(a.weight));
      const tip = titles
        ? `<title>${escapeXml(`${tasks[i]!.label} — ${tasks[j]!.label}: ${a.weight}${a.sharing !== 'auto' ? ` (sharing ${a.sharing})` : ''}`)}</title>`
        : '';
      const [tag, attrs] = control
        ? [
            'path',
            `d="M${num(cx[i]!)} ${num(cy[i]!)}${control.length === 2 ? 'Q' : 'C'}${control.map((v) => num(v)).join(' ')} ${num(cx[j]!)} ${num(cy[j]!)}" stroke-width="${num(w, 2)}"`,
          ]
        : [
            'line',
            `x1="${num(cx[i]!)}" y1="${num(cy[i]!)}" x2="${num(cx[j]!)}" y2="${num(cy[j]!)}" stroke-width="${num(w, 2)}"`,
          ];
      return [tip ? `<${tag} ${attrs}>${tip}</${tag}>` : `<${tag} ${attrs}/>`];
    });
  const positive = edgeLines(false);
  const negative = edgeLines(true);

  const nodes = tasks.map((t, i) => {
    const tip = `${t.label}${t.label !== t.id ? ` (${t.id})` : ''}: ${t.kind}${Number.isFinite(t.value) ? `, ${drawing.size.label.replace(/^size: /, '')} ${formatValue(t.value)}` : ''}`;
    return `<circle cx="${num(cx[i]!)}" cy="${num(cy[i]!)}" r="${num(t.r)}" fill="${escapeAttr(t.color)}"><title>${escapeXml(tip)}</title></circle>`;
  });

  const labelMode = o.labels === 'auto' ? (n <= ALL_LABELS_UP_TO ? 'all' : 'fit') : o.labels;
  const maxChars = n <= ALL_LABELS_UP_TO ? 40 : 24;
  const placed =
    labelMode === 'none'
      ? []
      : placeLabels(
          tasks.map((t, i) => ({
            x: cx[i]!,
            y: cy[i]!,
            r: t.r,
            text: truncate(t.label, maxChars),
          })),
          {
            fontSize,
            width,
            height,
            mode: labelMode,
            max: MAX_FIT_LABELS,
            ...(routed
              ? {
                  edges: routes.map(({ source, target, control }) =>
                    control
                      ? edgePoints(routeNodes[source]!, routeNodes[target]!, control)
                      : linePoints(routeNodes[source]!, routeNodes[target]!),
                  ),
                }
              : {}),
          },
        );
  const labels = placed.map(
    (p) =>
      `<text x="${num(p.x)}" y="${num(p.y)}"${p.anchor === 'start' ? '' : ` text-anchor="${p.anchor}"`}>${escapeXml(truncate(tasks[p.node]!.label, maxChars))}</text>`,
  );
  const leaders = placed
    .filter((p) => p.leader)
    .map((p) => {
      const [l, t, r, b] = p.box;
      const x = Math.min(Math.max(cx[p.node]!, l), r),
        y = Math.min(Math.max(cy[p.node]!, t), b);
      return `<line x1="${num(cx[p.node]!)}" y1="${num(cy[p.node]!)}" x2="${num(x)}" y2="${num(y)}"/>`;
    });

  const title = o.title ?? spec.name ?? 'task graph';
  const caption = `${title}: ${n} task${n === 1 ? '' : 's'}, ${spec.affinities.length} affinit${spec.affinities.length === 1 ? 'y' : 'ies'}`;
  const layoutNote =
    drawing.layout.source === 'positions'
      ? ['layout: positions from the graph']
      : [
          `layout: ForceAtlas2${drawing.layout.barnesHut ? ' (Barnes-Hut)' : ''}`,
          `${drawing.layout.iterations} iterations, seed ${o.seed}`,
        ];
  const legend = o.legend
    ? legendSvg(drawing, width + 16, fontSize, negative.length > 0, layoutNote)
    : undefined;
  const header = fontSize + 18;
  const totalWidth = legend ? width + Math.max(MIN_LEGEND_WIDTH, legend.width) : width;
  const totalHeight = header + Math.max(height, legend?.height ?? 0);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(totalWidth)}" height="${num(totalHeight)}" viewBox="0 0 ${num(totalWidth)} ${num(totalHeight)}" font-family="${escapeAttr(FONT)}" font-size="${num(fontSize)}" role="img">`,
    `<title>${escapeXml(caption)}</title>`,
    `<desc>${escapeXml(`mtgraph task graph: nodes are tasks, edges affinities; ${layoutNote.join(', ')}.`)}</desc>`,
    `<rect width="${num(totalWidth)}" height="${num(totalHeight)}" fill="#fff"/>`,
    `<text class="caption" x="8" y="${num(fontSize + 8)}" font-size="${num(fontSize + 2)}" font-weight="600" fill="#333">${escapeXml(truncate(caption, Math.floor((totalWidth - 16) / ((fontSize + 2) * 0.62))))}</text>`,
    `<g class="drawing" transform="translate(0,${header})">`,
    `<g class="edges positive" stroke="${POSITIVE_EDGE_COLOR}" stroke-opacity="${edgeOpacity}" stroke-linecap="round" fill="none">${positive.join('')}</g>`,
    `<g class="edges negative" stroke="${NEGATIVE_EDGE_COLOR}" stroke-opacity="${Math.min(1, edgeOpacity + 0.15)}" stroke-dasharray="6 4" fill="none">${negative.join('')}</g>`,
    chainArrowsSvg(spec.tasks, (id) => {
      const i = spec.index.get(id);
      return i === undefined ? undefined : { x: cx[i]!, y: cy[i]!, r: tasks[i]!.r };
    }),
    `<g class="nodes" stroke="#fff" stroke-width="${n <= 300 ? 1.5 : 0.5}">${nodes.join('')}</g>`,
    leaders.length
      ? `<g class="leaders" stroke="#999" stroke-width="0.6">${leaders.join('')}</g>`
      : '',
    `<g class="labels" fill="#222" stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">${labels.join('')}</g>`,
    legend?.svg ?? '',
    '</g>',
    '</svg>',
  ].join('\n');
}

/**
 * Lays out a task graph (seeded ForceAtlas2, bounded iterations) and returns each task's
 * position, y up, without drawing it.
 */
export function layoutGraph(
  graph: AbstractGraph,
  options: LayoutOptions = {},
): Record<string, { x: number; y: number }> {
  const o = resolveOptions(
    LayoutOptionsSchema,
    options,
    {
      seed: 0,
      iterations: 'auto' as number | 'auto',
      barnesHut: 'auto' as boolean | 'auto',
      usePositions: false,
    },
    'layoutGraph',
  );
  const drawing = computeDrawing(graph, {
    ...o,
    colorBy: 'none',
    sizeBy: 'weight',
    nodeSize: [1, 1],
  });
  const out: Record<string, { x: number; y: number }> = Object.create(null);
  drawing.tasks.forEach((t, i) => {
    out[t.id] = { x: drawing.layout.x[i]!, y: drawing.layout.y[i]! };
  });
  return out;
}
