/**
 * Edge routing for the task-graph picture: an edge is a straight line unless that line passes
 * through a node it does not join; then it bends (a quadratic curve, to one side or the other,
 * a little more each try) until it clears every other node, or takes the bend that touches the
 * fewest. Deterministic; pure geometry on canvas coordinates.
 */

export interface RouteNode {
  x: number;
  y: number;
  r: number;
}

/** A drawn edge: from node `source` to node `target`, straight or through the control point (qx, qy). */
export interface EdgeRoute {
  source: number;
  target: number;
  /** Curve control points: [x, y] (quadratic) or [x1, y1, x2, y2] (cubic); absent for a line. */
  control?: number[];
  /** Other nodes the drawn edge still passes through (0 unless no bend cleared them). */
  hits: number;
}

export interface RouteOptions {
  /** The picture's size: a bend stays inside it. */
  width: number;
  height: number;
  /** Gap kept between an edge and a node it does not join, in px (beyond the node's radius). */
  clearance: number;
}

/** Perpendicular offsets of the control point tried, as a share of the edge's length. */
const BENDS = Array.from(
  { length: 20 },
  (_, k) => (k % 2 === 0 ? 1 : -1) * 0.05 * (Math.floor(k / 2) + 1),
);
const CUBIC_BENDS = [-0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6];
/** Points a curve is sampled at for tests of clearance (and for label placement). */
export const CURVE_SEGMENTS = 16;
/** Edges are routed up to this many edges and tasks (beyond, straight lines: a hairball cannot be untangled). */
export const ROUTE_EDGES_UP_TO = 2000;
export const ROUTE_TASKS_UP_TO = 300;

/** The points of an edge as drawn: its two ends, or its curve sampled at CURVE_SEGMENTS + 1 points. */
export function edgePoints(a: RouteNode, b: RouteNode, control?: number[]): number[][] {
  if (!control) {
    return [
      [a.x, a.y],
      [b.x, b.y],
    ];
  }
  const out: number[][] = [];
  for (let k = 0; k <= CURVE_SEGMENTS; k++) {
    const t = k / CURVE_SEGMENTS;
    const u = 1 - t;
    if (control.length === 2) {
      const [qx, qy] = control as [number, number];
      out.push([
        u * u * a.x + 2 * u * t * qx + t * t * b.x,
        u * u * a.y + 2 * u * t * qy + t * t * b.y,
      ]);
    } else {
      const [px, py, qx, qy] = control as [number, number, number, number];
      const [w0, w1, w2, w3] = [u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t];
      out.push([w0 * a.x + w1 * px + w2 * qx + w3 * b.x, w0 * a.y + w1 * py + w2 * qy + w3 * b.y]);
    }
  }
  return out;
}

/** Distance from point (px, py) to the segment (ax, ay)-(bx, by). */
export function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/** True when the segment (ax, ay)-(bx, by) enters the box [left, top, right, bottom]. */
export function segmentHitsBox(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  box: readonly [number, number, number, number],
): boolean {
  // Liang-Barsky: clip the segment's parameter range [t0, t1] by the four sides.
  let t0 = 0;
  let t1 = 1;
  const p = [-(bx - ax), bx - ax, -(by - ay), by - ay];
  const q = [ax - box[0], box[2] - ax, ay - box[1], box[3] - ay];
  for (let k = 0; k < 4; k++) {
    const pk = p[k]!;
    const qk = q[k]!;
    if (pk === 0) {
      if (qk <= 0) return false;
      continue;
    }
    const r = qk / pk;
    if (pk < 0) {
      if (r > t1) return false;
      if (r > t0) t0 = r;
    } else {
      if (r < t0) return false;
      if (r < t1) t1 = r;
    }
  }
  return t1 - t0 > 1e-9;
}

/** A uniform grid over the nodes, for "which nodes are near this segment" queries. */
class NodeGrid {
  private readonly cells = new Map<number, number[]>();
  constructor(
    private readonly nodes: readonly RouteNode[],
    private readonly cell: number,
  ) {
    nodes.forEach((n, i) => {
      const k = this.key(Math.floor(n.x / cell), Math.floor(n.y / cell));
      let list = this.cells.get(k);
      if (!list) this.cells.set(k, (list = []));
      list.push(i);
    });
  }
  private key(i: number, j: number): number {
    return i * 100_003 + j;
  }
  /** Nodes other than `skipA` and `skipB` whose circle (plus `gap`) the segment enters. */
  hits(
    ax: number,
    ay: number,
    bx: number,
    by: number,
    gap: number,
    skipA: number,
    skipB: number,
    into: Set<number>,
  ): void {
    const reach = gap + this.cell;
    const i0 = Math.floor((Math.min(ax, bx) - reach) / this.cell);
    const i1 = Math.floor((Math.max(ax, bx) + reach) / this.cell);
    const j0 = Math.floor((Math.min(ay, by) - reach) / this.cell);
    const j1 = Math.floor((Math.max(ay, by) + reach) / this.cell);
    for (let i = i0; i <= i1; i++)
      for (let j = j0; j <= j1; j++)
        for (const k of this.cells.get(this.key(i, j)) ?? []) {
          if (k === skipA || k === skipB || into.has(k)) continue;
          const n = this.nodes[k]!;
          if (segmentDistance(n.x, n.y, ax, ay, bx, by) < n.r + gap) into.add(k);
        }
  }
}

/** The straight line from a to b in CURVE_SEGMENTS pieces, so that each grid query stays local. */
export function linePoints(a: RouteNode, b: RouteNode): number[][] {
  return Array.from({ length: CURVE_SEGMENTS + 1 }, (_, k) => [
    a.x + ((b.x - a.x) * k) / CURVE_SEGMENTS,
    a.y + ((b.y - a.y) * k) / CURVE_SEGMENTS,
  ]);
}

/**
 * One pass of moving nodes off the straight edges they do not belong to: a node closer than its
 * radius plus `clearance` to such an edge steps straight away from it, to that distance, staying
 * inside [margin, size - margin]. Returns how many moves were made (0: every edge is clear).
 */
export function moveNodesOffEdges(
  nodes: RouteNode[],
  edges: ReadonlyArray<readonly [number, number]>,
  options: RouteOptions & { margin: number },
): number {
  const rMax = Math.max(1, ...nodes.map((n) => n.r));
  const grid = new NodeGrid(nodes, Math.max(8, 2 * (rMax + options.clearance)));
  let moves = 0;
  for (const [s, t] of edges) {
    const a = nodes[s]!;
    const b = nodes[t]!;
    const near = new Set<number>();
    const points = linePoints(a, b);
    for (let k = 1; k < points.length; k++) {
      const [ax, ay] = points[k - 1]!;
      const [bx, by] = points[k]!;
      grid.hits(ax!, ay!, bx!, by!, options.clearance, s, t, near);
    }
    for (const k of near) {
      const n = nodes[k]!;
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const len2 = dx * dx + dy * dy;
      const u =
        len2 > 0 ? Math.max(0, Math.min(1, ((n.x - a.x) * dx + (n.y - a.y) * dy) / len2)) : 0;
      const px = a.x + u * dx;
      const py = a.y + u * dy;
      let d = Math.hypot(n.x - px, n.y - py);
      let ux = (n.x - px) / d;
      let uy = (n.y - py) / d;
      if (!(d > 1e-6)) {
        // On the line: step to the side given by the node's index (deterministic).
        const l = Math.sqrt(len2) || 1;
        const side = k % 2 === 0 ? 1 : -1;
        ux = (-dy / l) * side;
        uy = (dx / l) * side;
        d = 0;
      }
      const step = n.r + options.clearance + 0.5 - d;
      if (step <= 0) continue;
      n.x = Math.min(options.width - options.margin, Math.max(options.margin, n.x + ux * step));
      n.y = Math.min(options.height - options.margin, Math.max(options.margin, n.y + uy * step));
      moves++;
    }
  }
  return moves;
}

/** Routes each edge [source, target] around the nodes it does not join (see the module comment). */
export function routeEdges(
  nodes: readonly RouteNode[],
  edges: ReadonlyArray<readonly [number, number]>,
  options: RouteOptions,
): EdgeRoute[] {
  const rMax = Math.max(1, ...nodes.map((n) => n.r));
  const grid = new NodeGrid(nodes, Math.max(8, 2 * (rMax + options.clearance)));
  const hitsOf = (s: number, t: number, points: number[][]): number => {
    const seen = new Set<number>();
    for (let k = 1; k < points.length; k++) {
      const [ax, ay] = points[k - 1]!;
      const [bx, by] = points[k]!;
      grid.hits(ax!, ay!, bx!, by!, options.clearance, s, t, seen);
    }
    return seen.size;
  };
  const inside = (points: number[][]) =>
    points.every(([x, y]) => x! >= 0 && x! <= options.width && y! >= 0 && y! <= options.height);
  const routeAll = edges.length <= ROUTE_EDGES_UP_TO;
  return edges.map(([s, t]) => {
    const a = nodes[s]!;
    const b = nodes[t]!;
    const straight = hitsOf(s, t, linePoints(a, b));
    if (straight === 0 || !routeAll) return { source: s, target: t, hits: straight };
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const mx = (a.x + b.x) / 2;
    const my = (a.y + b.y) / 2;
    let best: EdgeRoute = { source: s, target: t, hits: straight };
    const candidates: number[][] = BENDS.map((bend) => [mx - dy * bend * 2, my + dx * bend * 2]);
    // S-shaped and lopsided cubic curves when no simple bend is clear.
    for (const p of CUBIC_BENDS)
      for (const q of CUBIC_BENDS)
        if (p !== q)
          candidates.push([
            a.x + dx / 3 - dy * p,
            a.y + dy / 3 + dx * p,
            a.x + (2 * dx) / 3 - dy * q,
            a.y + (2 * dy) / 3 + dx * q,
          ]);
    for (const control of candidates) {
      const points = edgePoints(a, b, control);
      if (!inside(points)) continue;
      const hits = hitsOf(s, t, points);
      if (hits < best.hits) best = { source: s, target: t, control, hits };
      if (hits === 0) break;
    }
    return best;
  });
}
