import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, TaskGraph, generateTaskFamily, plan } from '../../src/index.js';
import { measureAffinity } from '../../src/affinity/index.js';

beforeAll(async () => {
  await initBackend();
});

/** Pearson correlation of the pairs where both values are present (a reference written out plainly). */
function reference(a: ReadonlyArray<number | null>, b: ReadonlyArray<number | null>): number {
  const xs: number[] = [];
  const ys: number[] = [];
  a.forEach((v, i) => {
    const w = b[i];
    if (v !== null && w !== null && w !== undefined && !Number.isNaN(v) && !Number.isNaN(w)) {
      xs.push(v);
      ys.push(w);
    }
  });
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

const ROWS = 12;
const x = Array.from({ length: ROWS }, (_, i) => [i, 1]);
// b = 2a wherever b counts; row 9 of b is masked out and holds a value that would break the line.
const a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, NaN];
const b = [2, 4, 6, 8, 10, 12, 14, 16, 18, -100, 22, 24];
const bMask = b.map((_, i) => (i === 9 ? 0 : 1));
// Two binary tasks with a known 2x2 table on their 11 common rows (row 3 of c is missing):
// c=1,d=1: 4; c=1,d=0: 1; c=0,d=1: 2; c=0,d=0: 4  -> phi = (4*4 - 1*2) / sqrt(5*6*6*5) = 14/30.
const c = [1, 1, 1, -1, 1, 1, 0, 0, 0, 0, 0, 0];
const d = [1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0];
// A multiclass task: the indicators of its classes are correlated with a; the strongest one wins, sign kept.
const m = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];

function handGraph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 2 }, name: 'hand' });
  g.addTask('a', { kind: 'regression', label: 'A' });
  g.addTask('b', { kind: 'regression' });
  g.addTask('c', { kind: 'binary' });
  g.addTask('d', { kind: 'binary' });
  g.addTask('m', { kind: 'multiclass', classes: 3 });
  g.addAffinity('a', 'b', { weight: -0.3 });
  return g;
}

const handData = { x, y: { a, b, c, d, m }, mask: { b: bMask } };

describe('measureAffinity label-correlation', () => {
  it('label-correlation equals hand-computed correlations, with missing labels excluded', async () => {
    const r = await measureAffinity(handGraph(), handData, {
      method: 'label-correlation',
      minRows: 5,
    });
    expect(r.tasks).toEqual(['a', 'b', 'c', 'd', 'm']);
    const at = (p: string, q: string) => r.matrix[r.tasks.indexOf(p)]![r.tasks.indexOf(q)]!;
    expect(at('a', 'b')).toBeCloseTo(1, 10); // the masked row 9 and the NaN row 11 are left out
    expect(at('c', 'd')).toBeCloseTo(14 / 30, 10); // phi from the table
    const bSeen = b.map((v, i) => (bMask[i] ? v : NaN));
    const cSeen = c.map((v) => (v === -1 ? NaN : v));
    expect(at('a', 'c')).toBeCloseTo(reference(a, cSeen), 10);
    expect(at('b', 'd')).toBeCloseTo(reference(bSeen, d), 10);
    // multiclass: the indicator column with the largest |r| against a (class 0: negative, class 2: positive, equal size)
    const indicators = [0, 1, 2].map((k) =>
      reference(
        a,
        m.map((v) => (v === k ? 1 : 0)),
      ),
    );
    const strongest = indicators.reduce((s, v) => (Math.abs(v) > Math.abs(s) ? v : s));
    expect(at('a', 'm')).toBeCloseTo(strongest, 10);
    expect(r.steps).toBe(0);
    expect(r.method).toBe('label-correlation');
  });

  it('label-correlation is symmetric with a unit diagonal, and its graph keeps the tasks and attributes', async () => {
    const g = handGraph();
    const r = await measureAffinity(g, handData, { method: 'label-correlation', minRows: 5 });
    r.matrix.forEach((row, i) => {
      expect(row[i]).toBe(1);
      row.forEach((v, j) => expect(v).toBe(r.matrix[j]![i]));
    });
    expect(r.graph.nodes()).toEqual(g.nodes());
    expect(r.graph.getNodeAttributes('a')).toEqual(g.getNodeAttributes('a'));
    expect(r.graph.getNodeAttributes('m')).toEqual(g.getNodeAttributes('m'));
    expect(r.graph.getAttributes()).toEqual(g.getAttributes());
    expect(r.graph.size).toBe(10); // every pair of 5 tasks measured; the declared edge is replaced
    expect(r.graph.getEdgeAttributes('a', 'b')).toEqual({ weight: 1, source: 'label-correlation' });
    expect(r.graph.getEdgeAttribute('c', 'd', 'weight')).toBeCloseTo(14 / 30, 4);
    expect(g.getEdgeAttribute('a', 'b', 'weight')).toBe(-0.3); // the input graph is untouched
  });

  it('label-correlation leaves out pairs with fewer than minRows common rows, and edges below the threshold', async () => {
    const g = new TaskGraph({ input: 1 });
    g.addTask('p', { kind: 'regression' });
    g.addTask('q', { kind: 'regression' });
    g.addTask('s', { kind: 'regression' });
    const rows = 20;
    const p = Array.from({ length: rows }, (_, i) => (i < 10 ? i : NaN));
    const q = Array.from({ length: rows }, (_, i) => (i >= 5 ? i * 0.5 + (i % 3) : NaN)); // 5 rows in common with p
    const s = Array.from({ length: rows }, (_, i) => ((i * 7) % 5) - i * 0.01);
    const data = { x: Array.from({ length: rows }, (_, i) => [i]), y: { p, q, s } };
    const r = await measureAffinity(g, data, { method: 'label-correlation' });
    expect(Number.isNaN(r.matrix[0]![1]!)).toBe(true);
    expect(r.graph.hasEdge('p', 'q')).toBe(false);
    expect(r.notes.join('\n')).toMatch(/fewer than 10 rows labelled for both/);
    const loose = await measureAffinity(g, data, { method: 'label-correlation', minRows: 5 });
    expect(loose.graph.hasEdge('p', 'q')).toBe(true);
    const all = Math.abs(loose.matrix[1]![2]!);
    const kept = await measureAffinity(g, data, {
      method: 'label-correlation',
      minRows: 5,
      threshold: Math.min(1, all + 1e-3),
    });
    expect(kept.graph.hasEdge('q', 's')).toBe(false);
  });

  it('label-correlation of a generated family plans with clustered into the true groups', async () => {
    const family = generateTaskFamily({ groups: 3, tasksPerGroup: 3, seed: 1, trainRows: 200 });
    const before = tf.memory().numTensors;
    const r = await measureAffinity(family.graph, family.train, {
      method: 'label-correlation',
      threshold: 0.2,
    });
    expect(tf.memory().numTensors).toBe(before);
    const p = plan(r.graph, { strategy: 'clustered', trunk: { units: [8] } });
    expect(p.groups).toEqual(family.truth.groups);
  });
});
