import { UndirectedGraph } from 'graphology';
import { safeNeighbours } from './safe-neighbours.js';
import louvainImport, {
  type DetailedLouvainOutput,
  type LouvainOptions,
} from 'graphology-communities-louvain';

// The package is CommonJS with an ESM-style default in its types: the runtime default is the function itself.
const louvain = louvainImport as unknown as {
  detailed(graph: unknown, options: LouvainOptions): DetailedLouvainOutput;
};
import type { GraphSpec } from '../schema/validate.js';
import { seededRandom } from './random.js';

/** Task groups: each a list of task ids in graph order; groups ordered by their first task. */
export type Groups = string[][];

class UnionFind {
  readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    const p = this.parent;
    while (p[i] !== i) {
      p[i] = p[p[i]!]!;
      i = p[i]!;
    }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Orders tasks within groups by graph order, and groups by their first task. */
export function canonicalGroups(spec: GraphSpec, groups: Groups): Groups {
  const pos = (id: string) => spec.index.get(id)!;
  return groups
    .map((g) => [...g].sort((a, b) => pos(a) - pos(b)))
    .filter((g) => g.length > 0)
    .sort((a, b) => pos(a[0]!) - pos(b[0]!));
}

function fromLabels(spec: GraphSpec, label: (i: number) => number): Groups {
  const byLabel = new Map<number, string[]>();
  spec.tasks.forEach((t, i) => {
    const l = label(i);
    let g = byLabel.get(l);
    if (!g) byLabel.set(l, (g = []));
    g.push(t.id);
  });
  return canonicalGroups(spec, [...byLabel.values()]);
}

export interface LouvainGroupsOptions {
  /** Louvain resolution: higher gives more, smaller groups (default 1). */
  resolution?: number;
  seed?: number;
}

/** Groups tasks by Louvain community detection on the positive affinities (seeded). Also returns the modularity. */
export function louvainGroups(
  spec: GraphSpec,
  options: LouvainGroupsOptions = {},
): { groups: Groups; modularity: number } {
  const g = safeNeighbours(new UndirectedGraph());
  for (const t of spec.tasks) g.addNode(t.id);
  for (const a of spec.affinities)
    if (a.weight > 0) g.addEdge(a.source, a.target, { weight: a.weight });
  if (g.size === 0) return { groups: spec.tasks.map((t) => [t.id]), modularity: 0 };
  const result = louvain.detailed(g, {
    getEdgeWeight: 'weight',
    resolution: options.resolution ?? 1,
    rng: seededRandom(options.seed ?? 0),
  });
  return {
    groups: fromLabels(spec, (i) => result.communities[spec.tasks[i]!.id]!),
    modularity: result.modularity,
  };
}

/** Groups tasks joined (transitively) by affinities of weight >= threshold. */
export function thresholdGroups(spec: GraphSpec, threshold: number): Groups {
  const uf = new UnionFind(spec.tasks.length);
  for (const a of spec.affinities) {
    if (a.weight >= threshold && a.weight > 0)
      uf.union(spec.index.get(a.source)!, spec.index.get(a.target)!);
  }
  return fromLabels(spec, (i) => uf.find(i));
}

/** Connected components of the positive affinities. */
export function positiveComponents(spec: GraphSpec): Groups {
  return thresholdGroups(spec, Number.MIN_VALUE);
}

/**
 * True when the pair must never share parameters: `sharing: 'none'`, a declared negative weight,
 * or a measured weight below -0.1 (tiny negative measurements are noise, not conflicts).
 */
export function isConflict(a: { weight: number; sharing: string; origin?: string }): boolean {
  if (a.sharing === 'hard') return false;
  if (a.sharing === 'none') return true;
  // A measured weight is noisy: only a clearly negative one is a conflict.
  const limit = a.origin !== undefined && MEASURED_SOURCES.has(a.origin) ? -MEASURED_CONFLICT : 0;
  return a.weight < limit;
}

/** Affinity sources that are measurements from data (measureAffinity), not declarations. */
export const MEASURED_SOURCES: ReadonlySet<string> = new Set([
  'lookahead',
  'gradient-cosine',
  'label-correlation',
]);

/** A measured affinity is a conflict only below -MEASURED_CONFLICT (declared negative weights always are). */
export const MEASURED_CONFLICT = 0.1;

/**
 * Enforces the pairwise constraints on groups: pairs with `sharing: 'hard'` end up together,
 * and conflicting pairs (negative weight or `sharing: 'none'`) end up apart. A group holding
 * a conflict is split greedily: members (kept with their must-link partners) go, in order of
 * positive affinity within the group, to the sub-group they are most related to that holds
 * none of their conflicts. Returns the groups and one note per change.
 */
export function enforceConstraints(
  spec: GraphSpec,
  groups: Groups,
): { groups: Groups; notes: string[] } {
  const n = spec.tasks.length;
  const notes: string[] = [];
  const groupOf = new Int32Array(n);
  groups.forEach((g, gi) => g.forEach((id) => (groupOf[spec.index.get(id)!] = gi)));
  // Must-links: merge their groups.
  const must = new UnionFind(n);
  const gMerge = new UnionFind(groups.length);
  for (const a of spec.affinities) {
    if (a.sharing !== 'hard') continue;
    const i = spec.index.get(a.source)!;
    const j = spec.index.get(a.target)!;
    must.union(i, j);
    if (gMerge.find(groupOf[i]!) !== gMerge.find(groupOf[j]!)) {
      notes.push(
        `${a.source} and ${a.target} are declared sharing: 'hard', so their groups were merged.`,
      );
      gMerge.union(groupOf[i]!, groupOf[j]!);
    }
  }
  const merged = fromLabels(spec, (i) => gMerge.find(groupOf[i]!));
  // Neighbour lists once, for conflicts and positive weights.
  const conflicts = new Map<number, Set<number>>();
  const positive = new Map<number, Map<number, number>>();
  for (const a of spec.affinities) {
    const i = spec.index.get(a.source)!;
    const j = spec.index.get(a.target)!;
    if (isConflict(a)) {
      for (const [p, q] of [
        [i, j],
        [j, i],
      ] as const) {
        let s = conflicts.get(p);
        if (!s) conflicts.set(p, (s = new Set()));
        s.add(q);
      }
    } else if (a.weight > 0) {
      for (const [p, q] of [
        [i, j],
        [j, i],
      ] as const) {
        let m = positive.get(p);
        if (!m) positive.set(p, (m = new Map()));
        m.set(q, a.weight);
      }
    }
  }
  const out: Groups = [];
  for (const group of merged) {
    const members = group.map((id) => spec.index.get(id)!);
    const inGroup = new Set(members);
    const hasConflict = members.some((i) =>
      [...(conflicts.get(i) ?? [])].some((j) => inGroup.has(j)),
    );
    if (!hasConflict) {
      out.push(group);
      continue;
    }
    // Units: must-link components within the group.
    const units = new Map<number, number[]>();
    for (const i of members) {
      const r = must.find(i);
      let u = units.get(r);
      if (!u) units.set(r, (u = []));
      u.push(i);
    }
    const strength = (u: number[]) =>
      u.reduce(
        (s, i) =>
          s +
          [...(positive.get(i) ?? new Map<number, number>())].reduce(
            (t, [j, w]) => t + (inGroup.has(j) ? w : 0),
            0,
          ),
        0,
      );
    const order = [...units.values()]
      .map((u) => ({ u, s: strength(u) }))
      .sort((a, b) => b.s - a.s || a.u[0]! - b.u[0]!);
    const parts: number[][] = [];
    for (const { u } of order) {
      let best = -1;
      let bestScore = -Infinity;
      parts.forEach((part, pi) => {
        const clash = u.some((i) => part.some((j) => conflicts.get(i)?.has(j)));
        if (clash) return;
        const score = u.reduce(
          (s, i) => s + part.reduce((t, j) => t + (positive.get(i)?.get(j) ?? 0), 0),
          0,
        );
        if (score > bestScore) {
          bestScore = score;
          best = pi;
        }
      });
      if (best < 0) parts.push([...u]);
      else parts[best]!.push(...u);
    }
    const names = parts.map((p) => p.map((i) => spec.tasks[i]!.id));
    notes.push(
      `group {${group.join(', ')}} held conflicting tasks, so it was split into ${names.map((p) => `{${p.join(', ')}}`).join(' and ')}.`,
    );
    out.push(...names);
  }
  return { groups: canonicalGroups(spec, out), notes };
}
