import type { GraphSpec } from '../schema/validate.js';
import { PlanError } from '../errors.js';
import type { Groups } from './groups.js';

export type Linkage = 'average' | 'complete' | 'single';

/** One merge of the agglomerative clustering: clusters `a` and `b` joined at `distance`. */
export interface Merge {
  /** Cluster ids: 0..n-1 are tasks; n + k is the cluster made by merge k (as in SciPy). */
  a: number;
  b: number;
  distance: number;
  size: number;
}

export interface Dendrogram {
  tasks: string[];
  /** n - 1 merges in increasing distance. */
  merges: Merge[];
}

/** The largest graph `dendrogram` accepts: it keeps an n x n distance matrix. */
export const DENDROGRAM_MAX_TASKS = 4000;

/**
 * Hierarchical clustering of the tasks on the distance `1 - affinity` (0 for identical, 1 for
 * unrelated or undeclared pairs, up to 2 for conflicting ones), by the nearest-neighbour chain
 * algorithm: O(n^2) time and memory. Ties break towards the lower task index, so the result is
 * deterministic.
 */
export function dendrogram(spec: GraphSpec, linkage: Linkage = 'average'): Dendrogram {
  const n = spec.tasks.length;
  if (n > DENDROGRAM_MAX_TASKS) {
    throw new PlanError(
      `mtgraph/dendrogram: too many tasks for hierarchical clustering (got ${n}; the limit is ${DENDROGRAM_MAX_TASKS}, it keeps an n x n matrix). Use the 'clustered' strategy for graphs this large.`,
      { path: 'tasks', got: n },
    );
  }
  const d = new Float64Array(n * n).fill(1);
  for (let i = 0; i < n; i++) d[i * n + i] = 0;
  for (const a of spec.affinities) {
    const i = spec.index.get(a.source)!;
    const j = spec.index.get(a.target)!;
    d[i * n + j] = d[j * n + i] = 1 - a.weight;
  }
  const size = new Float64Array(n).fill(1);
  const active = new Uint8Array(n).fill(1);
  const label = Int32Array.from({ length: n }, (_, i) => i); // cluster id held in slot i
  const merges: Merge[] = [];
  const chain: number[] = [];
  let remaining = n;
  const update = (i: number, j: number, k: number): number => {
    const dik = d[i * n + k]!;
    const djk = d[j * n + k]!;
    if (linkage === 'single') return Math.min(dik, djk);
    if (linkage === 'complete') return Math.max(dik, djk);
    return (size[i]! * dik + size[j]! * djk) / (size[i]! + size[j]!);
  };
  while (remaining > 1) {
    if (chain.length === 0) {
      let first = 0;
      while (!active[first]) first++;
      chain.push(first);
    }
    for (;;) {
      const x = chain[chain.length - 1]!;
      const prev = chain.length > 1 ? chain[chain.length - 2]! : -1;
      // Nearest active neighbour of x; prefer the previous chain element on ties (guarantees termination).
      let best = -1;
      let bestD = Infinity;
      if (prev >= 0) {
        best = prev;
        bestD = d[x * n + prev]!;
      }
      for (let y = 0; y < n; y++) {
        if (!active[y] || y === x) continue;
        const dy = d[x * n + y]!;
        if (dy < bestD) {
          bestD = dy;
          best = y;
        }
      }
      if (best === prev) break;
      chain.push(best);
    }
    const j = chain.pop()!;
    const i = chain.pop()!;
    const lo = Math.min(i, j);
    const hi = Math.max(i, j);
    const distance = d[lo * n + hi]!;
    for (let k = 0; k < n; k++) {
      if (!active[k] || k === lo || k === hi) continue;
      const v = update(lo, hi, k);
      d[lo * n + k] = d[k * n + lo] = v;
    }
    merges.push({ a: label[lo]!, b: label[hi]!, distance, size: size[lo]! + size[hi]! });
    size[lo] = size[lo]! + size[hi]!;
    active[hi] = 0;
    label[lo] = n + merges.length - 1;
    remaining--;
  }
  // NN-chain finds merges out of order: sort by distance (stable), then renumber the clusters.
  const order = merges
    .map((m, k) => ({ m, k }))
    .sort((p, q) => p.m.distance - q.m.distance || p.k - q.k);
  const rename = new Map<number, number>();
  order.forEach(({ k }, pos) => rename.set(n + k, n + pos));
  const sorted = order.map(({ m }) => {
    const a = rename.get(m.a) ?? m.a;
    const b = rename.get(m.b) ?? m.b;
    return { a: Math.min(a, b), b: Math.max(a, b), distance: m.distance, size: m.size };
  });
  return { tasks: spec.tasks.map((t) => t.id), merges: sorted };
}

/** Flat clusters: tasks joined by merges at distance <= maxDistance. Groups in task order. */
export function cutDendrogram(tree: Dendrogram, maxDistance: number): Groups {
  const n = tree.tasks.length;
  const parent = Int32Array.from({ length: 2 * n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  tree.merges.forEach((m, k) => {
    if (m.distance <= maxDistance + 1e-12) {
      parent[find(m.a)] = n + k;
      parent[find(m.b)] = n + k;
    }
  });
  const byRoot = new Map<number, string[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    let g = byRoot.get(r);
    if (!g) byRoot.set(r, (g = []));
    g.push(tree.tasks[i]!);
  }
  return [...byRoot.values()];
}
