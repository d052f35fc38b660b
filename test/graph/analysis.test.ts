import { describe, it, expect } from 'vitest';
import {
  TaskGraph,
  readGraph,
  louvainGroups,
  thresholdGroups,
  enforceConstraints,
  dendrogram,
  cutDendrogram,
  laplacian,
  seededRandom,
  PlanError,
  DENDROGRAM_MAX_TASKS,
} from '../../src/index.js';
import { twoCliques, randomGraph } from '../fixtures.js';

describe('groups', () => {
  it('louvainGroups finds the two cliques and is seeded', () => {
    const spec = readGraph(twoCliques());
    const { groups, modularity } = louvainGroups(spec, { seed: 1 });
    expect(groups).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3'],
    ]);
    expect(modularity).toBeGreaterThan(0.4);
    const big = readGraph(randomGraph(200, 800, 3));
    expect(louvainGroups(big, { seed: 5 })).toEqual(louvainGroups(big, { seed: 5 }));
  });

  it('louvainGroups without positive edges gives singletons', () => {
    const g = new TaskGraph({ input: 2 });
    g.addTask('a', { kind: 'binary' });
    g.addTask('b', { kind: 'binary' });
    g.addAffinity('a', 'b', { weight: -0.5 });
    expect(louvainGroups(readGraph(g)).groups).toEqual([['a'], ['b']]);
  });

  it('thresholdGroups joins tasks transitively above the threshold', () => {
    const spec = readGraph(twoCliques());
    expect(thresholdGroups(spec, 0.75)).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3'],
    ]);
    expect(thresholdGroups(spec, 0.95)).toEqual([['a1'], ['a2'], ['a3'], ['b1'], ['b2'], ['b3']]);
  });

  it('enforceConstraints splits a group holding a conflict and says so', () => {
    const spec = readGraph(twoCliques());
    const { groups, notes } = enforceConstraints(spec, [['a1', 'a2', 'a3', 'b1', 'b2', 'b3']]);
    for (const g of groups) {
      expect(g.includes('a1') && g.includes('b1')).toBe(false);
      expect(g.includes('a3') && g.includes('b3')).toBe(false);
    }
    expect(groups.flat().sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3']);
    expect(notes).toHaveLength(1);
  });
});

describe('dendrogram', () => {
  it('dendrogram merges the closest pair first, with SciPy-style cluster ids', () => {
    const g = new TaskGraph({ input: 2 });
    for (const id of ['a', 'b', 'c']) g.addTask(id, { kind: 'regression' });
    g.addAffinity('a', 'b', { weight: 0.9 });
    g.addAffinity('b', 'c', { weight: 0.4 });
    const d = dendrogram(readGraph(g), 'average');
    expect(d.merges).toHaveLength(2);
    expect(d.merges[0]).toMatchObject({ a: 0, b: 1, size: 2 });
    expect(d.merges[0]!.distance).toBeCloseTo(0.1, 12);
    // average of d(a,c) = 1 and d(b,c) = 0.6
    expect(d.merges[1]).toMatchObject({ a: 2, b: 3, size: 3 });
    expect(d.merges[1]!.distance).toBeCloseTo(0.8, 12);
    expect(dendrogram(readGraph(g), 'single').merges[1]!.distance).toBeCloseTo(0.6, 12);
    expect(dendrogram(readGraph(g), 'complete').merges[1]!.distance).toBeCloseTo(1, 12);
  });

  it('dendrogram agrees with a naive O(n^3) average linkage on a random graph', () => {
    // A complete graph with distinct weights: no ties, so the merge heights are unique.
    const g = new TaskGraph({ input: 2 });
    const n0 = 20;
    for (let i = 0; i < n0; i++) g.addTask(`t${i}`, { kind: 'regression' });
    const rand = seededRandom(11);
    for (let i = 0; i < n0; i++)
      for (let j = i + 1; j < n0; j++) g.addAffinity(`t${i}`, `t${j}`, { weight: rand() * 2 - 1 });
    const spec = readGraph(g);
    const n = spec.tasks.length;
    const d: number[][] = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (i === j ? 0 : 1)),
    );
    for (const a of spec.affinities) {
      const i = spec.index.get(a.source)!;
      const j = spec.index.get(a.target)!;
      d[i]![j] = d[j]![i] = 1 - a.weight;
    }
    let clusters = Array.from({ length: n }, (_, i) => [i]);
    const heights: number[] = [];
    while (clusters.length > 1) {
      let best = [0, 1, Infinity] as [number, number, number];
      for (let p = 0; p < clusters.length; p++) {
        for (let q = p + 1; q < clusters.length; q++) {
          let s = 0;
          for (const i of clusters[p]!) for (const j of clusters[q]!) s += d[i]![j]!;
          const avg = s / (clusters[p]!.length * clusters[q]!.length);
          if (avg < best[2]) best = [p, q, avg];
        }
      }
      heights.push(best[2]);
      const merged = [...clusters[best[0]]!, ...clusters[best[1]]!];
      clusters = clusters.filter((_, k) => k !== best[0] && k !== best[1]);
      clusters.push(merged);
    }
    const ours = dendrogram(spec, 'average').merges.map((m) => m.distance);
    expect(ours).toHaveLength(heights.length);
    ours.forEach((h, k) => expect(h).toBeCloseTo(heights[k]!, 9));
  });

  it('cutDendrogram gives nested clusters as the cut rises', () => {
    const spec = readGraph(randomGraph(40, 150, 2));
    const tree = dendrogram(spec);
    const coarse = cutDendrogram(tree, 0.9);
    const fine = cutDendrogram(tree, 0.5);
    const owner = new Map(coarse.flatMap((g, i) => g.map((t) => [t, i] as const)));
    for (const g of fine) expect(new Set(g.map((t) => owner.get(t))).size).toBe(1);
  });

  it('dendrogram refuses graphs beyond its stated limit', () => {
    const big = {
      tasks: Array.from({ length: DENDROGRAM_MAX_TASKS + 1 }, (_, i) => ({ id: `t${i}` })),
      affinities: [],
      index: new Map(),
    };
    expect(() => dendrogram(big as never)).toThrow(PlanError);
  });
});

describe('laplacian', () => {
  it('laplacian is D - A over positive affinities, rows summing to 0', () => {
    const g = new TaskGraph({ input: 2 });
    for (const id of ['a', 'b', 'c']) g.addTask(id, { kind: 'regression' });
    g.addAffinity('a', 'b', { weight: 0.5 });
    g.addAffinity('b', 'c', { weight: 0.25 });
    g.addAffinity('a', 'c', { weight: -0.5 });
    const { tasks, matrix } = laplacian(readGraph(g));
    expect(tasks).toEqual(['a', 'b', 'c']);
    expect(matrix).toEqual([
      [0.5, -0.5, 0],
      [-0.5, 0.75, -0.25],
      [0, -0.25, 0.25],
    ]);
    const norm = laplacian(readGraph(g), { normalized: true }).matrix;
    expect(norm[0]![1]).toBeCloseTo(-0.5 / Math.sqrt(0.5 * 0.75), 12);
  });

  it('seededRandom repeats for a seed and differs across seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});
