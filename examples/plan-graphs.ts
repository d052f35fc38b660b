/**
 * Compiles every task graph in graphs/ with the 'auto' strategy (and any strategy given as an
 * argument) and prints each plan's explanation.
 * Run: npx tsx examples/plan-graphs.ts [strategy]
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadGraph, plan, explain, MtgraphError } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, '..', 'graphs');

export async function planGraphs(
  strategy = 'auto',
  out: (line: string) => void = console.log,
): Promise<void> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  for (const file of files) {
    const graph = await loadGraph(path.join(dir, file));
    const p = plan(graph, { strategy });
    out(`\n=== graphs/${file} — ${graph.order} tasks, ${graph.size} affinities`);
    out(explain(p, { maxNames: 6 }));
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  planGraphs(process.argv[2]).catch((error) => {
    console.error(error instanceof MtgraphError ? error.message : error);
    process.exit(1);
  });
}
