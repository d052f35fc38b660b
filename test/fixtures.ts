import { TaskGraph } from '../src/index.js';

/**
 * Two positive cliques {a1, a2, a3} and {b1, b2, b3} joined by negative edges, plus a
 * multiclass task loosely tied to the first clique.
 */
export function twoCliques(): TaskGraph {
  const g = new TaskGraph({ input: { features: 8 }, name: 'two cliques' });
  for (const id of ['a1', 'a2', 'a3', 'b1', 'b2', 'b3']) g.addTask(id, { kind: 'binary' });
  g.addAffinity('a1', 'a2', { weight: 0.9 });
  g.addAffinity('a2', 'a3', { weight: 0.8 });
  g.addAffinity('a1', 'a3', { weight: 0.7 });
  g.addAffinity('b1', 'b2', { weight: 0.9 });
  g.addAffinity('b2', 'b3', { weight: 0.6 });
  g.addAffinity('b1', 'b3', { weight: 0.8 });
  g.addAffinity('a1', 'b1', { weight: -0.6 });
  g.addAffinity('a3', 'b3', { weight: -0.4 });
  return g;
}

/** A random graph with `n` tasks and `m` distinct edges, weights in [-1, 1] (seeded LCG). */
export function randomGraph(n: number, m: number, seed = 1): TaskGraph {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const g = new TaskGraph({ input: { features: 16 } });
  for (let i = 0; i < n; i++) g.addTask(`t${i}`, { kind: i % 3 === 0 ? 'regression' : 'binary' });
  while (g.size < m) {
    const a = Math.floor(rand() * n);
    const b = Math.floor(rand() * n);
    if (a === b || g.hasEdge(`t${a}`, `t${b}`)) continue;
    g.addAffinity(`t${a}`, `t${b}`, { weight: Math.round((rand() * 2 - 1) * 1000) / 1000 });
  }
  return g;
}
