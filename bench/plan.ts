/**
 * plan() on a 1,000-task graph with 10,000 edges, for every strategy: median wall time.
 * Run: npx tsx bench/plan.ts [--tasks 1000] [--edges 10000] [--runs 7]
 */
import { performance } from 'node:perf_hooks';
import { TaskGraph, plan, readGraph, strategyNames, seededRandom } from '../src/index.js';
import { median } from './timing.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const tasks = arg('tasks', 1000);
const edges = arg('edges', 10_000);
const runs = arg('runs', 7);

/** Tasks in 20 communities: dense positive edges inside, sparse (some negative) across, like a real task family. */
function graph(): TaskGraph {
  const rand = seededRandom(1);
  const g = new TaskGraph({ input: { features: 64 } });
  const kinds = ['binary', 'regression', 'binary', 'multiclass'] as const;
  for (let i = 0; i < tasks; i++) {
    const kind = kinds[i % 4]!;
    g.addTask(`t${i}`, kind === 'multiclass' ? { kind, classes: 4 } : { kind });
  }
  const community = (i: number) => i % 20;
  while (g.size < edges) {
    const a = Math.floor(rand() * tasks);
    const inside = rand() < 0.8;
    let b = Math.floor(rand() * tasks);
    if (inside) b = (Math.floor(rand() * (tasks / 20)) * 20 + community(a)) % tasks;
    if (a === b || g.hasEdge(`t${a}`, `t${b}`)) continue;
    const w = inside ? 0.3 + 0.7 * rand() : rand() * 0.6 - 0.4;
    g.addAffinity(`t${a}`, `t${b}`, { weight: Math.round(w * 1000) / 1000 });
  }
  return g;
}

const g = graph();
const time = (fn: () => unknown) => {
  fn(); // warm-up
  const xs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    xs.push(performance.now() - t0);
  }
  return xs;
};

console.log(
  `plan() on ${tasks} tasks, ${g.size} edges; median of ${runs} runs after one warm-up; node ${process.version}`,
);
console.log(`| step | median ms | min ms | max ms | result |`);
console.log(`|---|---:|---:|---:|---|`);
const validate = time(() => readGraph(g));
console.log(
  `| validate only (readGraph) | ${median(validate).toFixed(1)} | ${Math.min(...validate).toFixed(1)} | ${Math.max(...validate).toFixed(1)} | |`,
);
for (const strategy of strategyNames()) {
  const p = plan(g, { strategy });
  const xs = time(() => plan(g, { strategy }));
  const summary = `${p.strategy}: ${p.blocks.length} blocks, ${p.gates.length} gates, ${p.couplings.length} couplings, ${p.params.total.toLocaleString('en-US')} params`;
  console.log(
    `| ${strategy} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} | ${summary} |`,
  );
}
