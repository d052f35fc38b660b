/**
 * Label placement: each label tries spots around its node (right, left, above, below, the
 * diagonals, then farther out) and takes the first that overlaps no node, no placed label and
 * stays inside the picture. Bigger nodes are labelled first.
 */
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
}

type Box = [number, number, number, number];

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

/** Places labels next to their nodes without overlaps where possible. */
export function placeLabels(nodes: LabelNode[], options: LabelOptions): PlacedLabel[] {
  const { fontSize, width, height } = options;
  const grid = new BoxGrid(Math.max(24, fontSize * 4));
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
    for (const step of STEPS) {
      const gap = 3 + (step - 1) * fontSize * 0.9;
      const d = n.r + gap;
      const spots: Array<[number, number, 'start' | 'middle' | 'end']> =
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
            ]
          : ANGLES.map((a) => {
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
      for (const [x, y, anchor] of spots) {
        const left = anchor === 'start' ? x : anchor === 'end' ? x - w : x - w / 2;
        const box: Box = [left, y - ascent, left + w, y + descent];
        const outside =
          Math.max(0, -box[0]) +
          Math.max(0, box[2] - width) +
          Math.max(0, -box[1]) +
          Math.max(0, box[3] - height);
        const cost =
          grid.overlap(box, options.mode === 'fit') + outside * fontSize * 10 + (step - 1) * 0.01;
        if (cost < bestCost) {
          bestCost = cost;
          best = { node: i, x, y, anchor, box, leader: step > 1 };
        }
        if (cost < 1) break;
      }
      if (bestCost < 1) break;
    }
    if (!best) continue;
    if (options.mode === 'fit' && bestCost >= 1) continue;
    grid.add(best.box);
    placed.push(best);
  }
  return placed.sort((a, b) => a.node - b.node);
}
