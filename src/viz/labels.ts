/**
 * Label placement: each label tries spots around its node (right, left, above, below, the
 * diagonals, then farther out) and takes the first that overlaps no node, no placed label, no
 * drawn edge and stays inside the picture. Bigger nodes are labelled first.
 */
import { segmentHitsBox } from './edge-routes.js';
import { textWidth } from './escape.js';

export interface LabelNode {
  x: number;
  y: number;
  r: number;
  text: string;
}

export interface PlacedLabel {
  /** Index of the node in the input. */
  node: number;
  x: number;
  y: number;
  anchor: 'start' | 'middle' | 'end';
  /** Box (for tests and debugging): left, top, right, bottom. */
  box: [number, number, number, number];
  /** True when the label sits away from its node (draw a leader line). */
  leader: boolean;
}

/** Rings of candidate spots: 1 = next to the node, farther rings only when nothing near is free. */
const STEPS = [1, 2, 3, 4.5, 6];
const ANGLES = Array.from({ length: 16 }, (_, k) => (k * Math.PI) / 8);

export interface LabelOptions {
  fontSize: number;
  width: number;
  height: number;
  /** 'all': every node gets a label (at the least crowded spot when none is free); 'fit': only labels that fit. */
  mode: 'all' | 'fit';
  /** At most this many labels (mode 'fit'). */
  max: number;
  /** The drawn edges as polylines ([[x, y], ...]): a label avoids crossing them where it can. */
  edges?: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>;
}

/** Space kept free around a label's box, in px (the text's white halo). */
export const LABEL_PAD = 1.5;

type Box = [number, number, number, number];
type Spot = [number, number, 'start' | 'middle' | 'end'];

/** A uniform grid of boxes for overlap queries. */
class BoxGrid {
  private readonly cells = new Map<number, Box[]>();
  constructor(private readonly cell: number) {}
  private keys(b: Box): number[] {
    const out: number[] = [];
    const x0 = Math.floor(b[0] / this.cell),
      x1 = Math.floor(b[2] / this.cell);
    const y0 = Math.floor(b[1] / this.cell),
      y1 = Math.floor(b[3] / this.cell);
    for (let i = x0; i <= x1; i++) for (let j = y0; j <= y1; j++) out.push(i * 100_003 + j);
    return out;
  }
  add(b: Box): void {
    for (const k of this.keys(b)) {
      let list = this.cells.get(k);
      if (!list) this.cells.set(k, (list = []));
      list.push(b);
    }
  }
  /**
   * Total overlapping area with stored boxes (a box in several cells may count more than once;
   * only compared). With stopAtAny, returns at least 1 at the first overlap.
   */
  overlap(b: Box, stopAtAny = false): number {
    let area = 0;
    for (const k of this.keys(b)) {
      for (const o of this.cells.get(k) ?? []) {
        const w = Math.min(b[2], o[2]) - Math.max(b[0], o[0]);
        const h = Math.min(b[3], o[3]) - Math.max(b[1], o[1]);
        if (w > 0 && h > 0) {
          area += w * h;
          if (stopAtAny) return Math.max(1, area);
        }
      }
    }
    return area;
  }
}

/** The segments of polylines in a uniform grid, for "how many segments cross this box" queries. */
class SegmentGrid {
  private readonly cells = new Map<number, number[]>();
  private readonly segments: Array<[number, number, number, number]> = [];
  constructor(
    lines: ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>>,
    private readonly cell: number,
  ) {
    for (const line of lines) {
      for (let k = 1; k < line.length; k++) {
        const [ax, ay] = line[k - 1]!;
        const [bx, by] = line[k]!;
        const id = this.segments.length;
        this.segments.push([ax!, ay!, bx!, by!]);
        // Cells of the segment's bounding box (a superset of the cells it crosses).
        for (const key of this.keys([
          Math.min(ax!, bx!),
          Math.min(ay!, by!),
          Math.max(ax!, bx!),
          Math.max(ay!, by!),
        ])) {
          let list = this.cells.get(key);
          if (!list) this.cells.set(key, (list = []));
          list.push(id);
        }
      }
    }
  }
  private keys(b: Box): number[] {
    const out: number[] = [];
    for (let i = Math.floor(b[0] / this.cell); i <= Math.floor(b[2] / this.cell); i++)
      for (let j = Math.floor(b[1] / this.cell); j <= Math.floor(b[3] / this.cell); j++)
        out.push(i * 100_003 + j);
    return out;
  }
  /** Query stamp per segment: a segment met in several cells is tested once per query. */
  private seen = new Int32Array(0);
  private query = 0;
  /** Segments that enter box b. */
  crossings(b: Box): number {
    if (this.seen.length !== this.segments.length) this.seen = new Int32Array(this.segments.length);
    const stamp = ++this.query;
    let count = 0;
    for (const key of this.keys(b))
      for (const id of this.cells.get(key) ?? []) {
        if (this.seen[id] === stamp) continue;
        this.seen[id] = stamp;
        const [ax, ay, bx, by] = this.segments[id]!;
        if (segmentHitsBox(ax, ay, bx, by, b)) count++;
      }
    return count;
  }
}

/** Places labels next to their nodes without overlaps where possible. */
export function placeLabels(nodes: LabelNode[], options: LabelOptions): PlacedLabel[] {
  const { fontSize, width, height } = options;
  const grid = new BoxGrid(Math.max(24, fontSize * 4));
  const edges = options.edges?.length
    ? new SegmentGrid(options.edges, Math.max(24, fontSize * 4))
    : undefined;
  // Costs: overlapping a node or a label is the worst (in 'fit' mode it rules a spot out); then
  // crossing an edge; then moving a ring away from the node (a fifth of an edge per ring).
  const edgeCost = fontSize * fontSize;
  const overlapWeight = options.mode === 'fit' ? 1e6 : 20;
  const ringCost = edges ? edgeCost * 0.2 : 0.01;
  // Nodes are obstacles (their circle's bounding box, shrunk a little: circles are round).
  for (const n of nodes) {
    const s = n.r * 0.85;
    grid.add([n.x - s, n.y - s, n.x + s, n.y + s]);
  }
  const order = nodes.map((_, i) => i).sort((a, b) => nodes[b]!.r - nodes[a]!.r || a - b);
  const placed: PlacedLabel[] = [];
  const ascent = fontSize * 0.8;
  const descent = fontSize * 0.25;
  for (const i of order) {
    if (options.mode === 'fit' && placed.length >= options.max) break;
    const n = nodes[i]!;
    const w = textWidth(n.text, fontSize);
    let best: PlacedLabel | undefined;
    let bestCost = Infinity;
    let bestHard = Infinity;
    for (const step of STEPS) {
      const gap = 3 + (step - 1) * fontSize * 0.9;
      const d = n.r + gap;
      const around = (): Spot[] =>
        ANGLES.map((a) => {
          const cx = n.x + Math.cos(a) * d,
            cy = n.y + Math.sin(a) * d;
          const anchor = Math.cos(a) > 0.3 ? 'start' : Math.cos(a) < -0.3 ? 'end' : 'middle';
          return [
            cx,
            cy +
              (Math.sin(a) > 0.3
                ? ascent
                : Math.sin(a) < -0.3
                  ? -descent
                  : ascent / 2 - descent / 2),
            anchor,
          ];
        });
      // Next to the node: the eight usual spots first, then (with edges to avoid) the ring.
      const spots: Spot[] =
        step === 1
          ? [
              [n.x + d, n.y + ascent / 2 - descent / 2, 'start'],
              [n.x - d, n.y + ascent / 2 - descent / 2, 'end'],
              [n.x, n.y - d - descent, 'middle'],
              [n.x, n.y + d + ascent, 'middle'],
              [n.x + d * 0.75, n.y - d * 0.75, 'start'],
              [n.x + d * 0.75, n.y + d * 0.75 + ascent, 'start'],
              [n.x - d * 0.75, n.y - d * 0.75, 'end'],
              [n.x - d * 0.75, n.y + d * 0.75 + ascent, 'end'],
              ...(edges ? around() : []),
            ]
          : around();
      for (const [x, y, anchor] of spots) {
        const left = anchor === 'start' ? x : anchor === 'end' ? x - w : x - w / 2;
        const box: Box = [left, y - ascent, left + w, y + descent];
        const padded: Box = [
          box[0] - LABEL_PAD,
          box[1] - LABEL_PAD,
          box[2] + LABEL_PAD,
          box[3] + LABEL_PAD,
        ];
        const outside =
          Math.max(0, -box[0]) +
          Math.max(0, box[2] - width) +
          Math.max(0, -box[1]) +
          Math.max(0, box[3] - height);
        const hard = grid.overlap(box, options.mode === 'fit') + outside * fontSize * 10;
        const crossing = edges ? edges.crossings(padded) * edgeCost : 0;
        const cost = hard * overlapWeight + crossing + (step - 1) * ringCost;
        if (cost < bestCost) {
          bestCost = cost;
          bestHard = hard;
          best = { node: i, x, y, anchor, box, leader: step > 1 };
        }
        if (cost < 1) break;
      }
      if (bestCost < 1) break;
    }
    if (!best) continue;
    if (options.mode === 'fit' && bestHard >= 1) continue;
    grid.add(best.box);
    placed.push(best);
  }
  return placed.sort((a, b) => a.node - b.node);
}
