/**
 * Pictures of large task graphs: layout + render time of renderGraphSvg for 100, 1,000 and
 * 10,000 tasks next to the bare graphology ForceAtlas2 run on the same graph (same initial
 * positions, iterations and settings), and the other exports and the report at those sizes.
 * Run: npx tsx bench/viz.ts [--sizes 100,1000,10000] [--runs 5]
 */
import { performance } from 'node:perf_hooks';
import forceAtlas2Import from 'graphology-layout-forceatlas2';
import { TaskGraph, plan, readGraph, seededRandom, type History } from '../src/index.js';
import {
  layoutGraph,
  renderGraphSvg,
  renderPlanSvg,
  renderReport,
  toGexf,
  toGraphml,
} from '../src/index.js';
import { autoIterations } from '../src/viz/layout.js';
import { layoutInput, layoutSettings } from '../src/viz/layout.js';
import { median } from './timing.js';

const forceAtlas2 = forceAtlas2Import as unknown as (typeof forceAtlas2Import)['default'];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const sizes = arg('sizes', '100,1000,10000').split(',').map(Number);
const runs = Number(arg('runs', '5'));

/** n tasks in communities of ~50 (80 % of the 5n edges inside, weights 0.3-1; the rest across, -0.4-0.2). */
function graph(n: number): TaskGraph {
  const rand = seededRandom(1);
  const g = new TaskGraph({ input: { features: 16 }, name: `bench ${n}` });
  const communities = Math.max(2, Math.round(n / 50));
  for (let i = 0; i < n; i++) g.addTask(`t${i}`, { kind: i % 3 === 0 ? 'regression' : 'binary' });
  while (g.size < 5 * n) {
    const a = Math.floor(rand() * n);
    const inside = rand() < 0.8;
    let b = Math.floor(rand() * n);
    if (inside)
      b = (Math.floor(rand() * Math.ceil(n / communities)) * communities + (a % communities)) % n;
    if (a === b || g.hasEdge(`t${a}`, `t${b}`)) continue;
    const w = inside ? 0.3 + 0.7 * rand() : rand() * 0.6 - 0.4;
    g.addAffinity(`t${a}`, `t${b}`, { weight: Math.round(w * 1000) / 1000 });
  }
  return g;
}

function fakeHistory(tasks: string[], epochs: number): History {
  const c = (k: number) =>
    Array.from({ length: epochs }, (_, e) => 1 / (1 + 0.2 * e) + 0.01 * (k % 7));
  return {
    epochs,
    loss: c(0),
    valLoss: c(1),
    penalty: c(2).map(() => 0),
    taskLoss: Object.fromEntries(tasks.map((t, i) => [t, c(i)])),
    valTaskLoss: Object.fromEntries(tasks.map((t, i) => [t, c(i + 1)])),
    weights: Object.fromEntries(
      tasks.map((t, i) => [t, Array.from({ length: epochs }, (_, e) => 1 + 0.2 * Math.sin(e + i))]),
    ),
    stoppedEarly: false,
    notes: [],
    seed: 1,
    trainRows: 1000,
    valRows: 200,
    timing: { prepareMs: 1, epochMs: [], totalMs: 1, samplesPerSecond: 1 },
  };
}

async function time(fn: () => unknown, n: number): Promise<number> {
  const xs: number[] = [];
  for (let r = 0; r < n; r++) {
    const t0 = performance.now();
    await fn();
    xs.push(performance.now() - t0);
  }
  return median(xs);
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
console.log(
  `node ${process.version}; median of ${runs} runs (2 at 10,000 tasks) after one warm-up; seed 1, default options`,
);
console.log('');
console.log(
  '| tasks | affinities | FA2 iterations | Barnes-Hut | bare FA2 ms | layoutGraph ms | renderGraphSvg ms | render / bare | SVG KiB | toGexf ms | toGraphml ms |',
);
console.log('|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|');
const second: string[] = [];
for (const n of sizes) {
  const g = graph(n);
  const spec = readGraph(g);
  const iterations = autoIterations(n, g.size);
  const settings = layoutSettings(n, { barnesHut: 'auto' });
  const k = n >= 10_000 ? 2 : runs;
  // Bare graphology: the same seeded start, iterations and settings, on a graph prepared beforehand.
  const bare = await time(async () => {
    const input = layoutInput(spec, 0);
    const t0 = performance.now();
    forceAtlas2.assign(input, { iterations, settings, getEdgeWeight: 'weight' });
    return performance.now() - t0;
  }, 0);
  void bare;
  const bareTimes: number[] = [];
  for (let r = 0; r <= k; r++) {
    const input = layoutInput(spec, 0);
    const t0 = performance.now();
    forceAtlas2.assign(input, { iterations, settings, getEdgeWeight: 'weight' });
    if (r > 0) bareTimes.push(performance.now() - t0);
  }
  renderGraphSvg(g, { seed: 1 }); // warm-up
  const layout = await time(() => layoutGraph(g, { seed: 1 }), k);
  let svg = '';
  const render = await time(() => {
    svg = renderGraphSvg(g, { seed: 1 });
  }, k);
  const gexf = await time(() => toGexf(g, { seed: 1 }), k);
  const graphml = await time(() => toGraphml(g), k);
  const b = median(bareTimes);
  console.log(
    `| ${n.toLocaleString('en-US')} | ${g.size.toLocaleString('en-US')} | ${iterations} | ${settings.barnesHutOptimize ? 'yes' : 'no'} | ${ms(b)} | ${ms(layout)} | ${ms(render)} | ${(render / b).toFixed(2)} | ${(Buffer.byteLength(svg) / 1024).toFixed(0)} | ${ms(gexf)} | ${ms(graphml)} |`,
  );

  if (n <= 1000) {
    for (const strategy of ['clustered', 'tree']) {
      const p = plan(g, { strategy, seed: 1 });
      renderPlanSvg(p);
      let out = '';
      const t = await time(() => {
        out = renderPlanSvg(p);
      }, k);
      const boxes = (out.match(/<g class="part /g) ?? []).length;
      second.push(
        `| renderPlanSvg (${strategy}: ${p.blocks.length} blocks) | ${n.toLocaleString('en-US')} | ${ms(t)} | ${boxes} boxes, ${(Buffer.byteLength(out) / 1024).toFixed(0)} KiB |`,
      );
    }
    const p = plan(g, { strategy: 'clustered', seed: 1 });
    const tasks = g.nodes();
    const affinity = {
      tasks,
      matrix: tasks.map((a, i) =>
        tasks.map((b2, j) =>
          i === j
            ? 1
            : g.hasEdge(a, b2)
              ? (g.getEdgeAttribute(g.edge(a, b2)!, 'weight') as number)
              : null,
        ),
      ),
    };
    let html = '';
    const t = await time(
      async () => {
        html = await renderReport(
          { graph: g, plan: p, history: fakeHistory(tasks, 50), affinity },
          { seed: 1 },
        );
      },
      Math.min(k, 3),
    );
    second.push(
      `| renderReport (graph, plan, 50-epoch history, affinity) | ${n.toLocaleString('en-US')} | ${ms(t)} | ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB |`,
    );
  }
}
console.log('');
console.log('| picture | tasks | median ms | size |');
console.log('|---|---:|---:|---|');
for (const line of second) console.log(line);
