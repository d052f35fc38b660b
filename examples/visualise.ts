/**
 * Pictures of everything mtgraph knows, into out/viz/:
 *  - for every graph in graphs/: the task graph (NAME.svg), Gephi and GraphML exports
 *    (NAME.gexf, NAME.graphml), the compiled network (NAME.plan.svg) and a report
 *    (NAME.report.html) with the graph and the network;
 *  - a trained example: a generated family of 12 tasks trained jointly (a few seconds), whose
 *    report (family.report.html) adds the loss curves, the balancing weights, the test metrics
 *    and the affinity between tasks measured from the data (label correlation).
 * Open the .html files in a browser (they load nothing and run no script), the .gexf in Gephi.
 *
 * Run: npx tsx examples/visualise.ts [--out out/viz] [--seed 1] [--epochs 40]
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  initBackend,
  loadGraph,
  plan,
  compile,
  fit,
  evaluate,
  balanceNames,
  generateTaskFamily,
  measureAffinity,
  MtgraphError,
} from '../src/index.js';
import { renderGraphSvg, renderPlanSvg, renderReport, toGexf, toGraphml } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

export async function visualise(
  outDir: string,
  seed = 1,
  epochs = 40,
  log: (line: string) => void = console.log,
): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, text: string) => {
    const file = path.join(outDir, name);
    writeFileSync(file, text);
    written.push(file);
    return `${name} (${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB)`;
  };

  const graphsDir = path.join(here, '..', 'graphs');
  for (const file of readdirSync(graphsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const name = file.replace(/\.json$/, '');
    const t0 = performance.now();
    const graph = await loadGraph(path.join(graphsDir, file));
    const p = plan(graph, { strategy: 'auto', seed });
    const groups = p.groups ? { groups: p.groups } : {};
    const made = [
      write(`${name}.svg`, renderGraphSvg(graph, { seed, ...groups })),
      write(`${name}.gexf`, toGexf(graph, { seed, ...groups })),
      write(`${name}.graphml`, toGraphml(graph, { seed, viz: true, ...groups })),
      write(`${name}.plan.svg`, renderPlanSvg(p)),
      write(`${name}.report.html`, await renderReport({ graph, plan: p }, { seed })),
    ];
    log(
      `graphs/${file}: ${graph.order} tasks, ${graph.size} affinities, strategy ${p.strategy} -> ${made.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }

  // A trained example: the report with loss curves, weights, metrics and a correlation heatmap.
  const backend = await initBackend();
  const family = generateTaskFamily({ seed, trainRows: 150 });
  const p = plan(family.graph, { strategy: 'clustered', trunk: { units: [8] }, seed });
  const model = compile(family.graph, { strategy: 'clustered', trunk: { units: [8] }, seed });
  const balance = balanceNames().includes('dwa') ? 'dwa' : 'static';
  const t0 = performance.now();
  const history = await fit(model, family.train, {
    epochs,
    batchSize: 16,
    seed,
    validationSplit: 0.2,
    balance,
    optimizer: { name: 'adam', learningRate: 0.01 },
  });
  const metrics = await evaluate(model, family.test);
  model.dispose();
  const affinity = await measureAffinity(family.graph, family.train, {
    method: 'label-correlation',
  });
  const html = await renderReport(
    { graph: family.graph, plan: p, history, metrics, affinity },
    { seed, title: 'A generated task family, trained jointly' },
  );
  log(
    `trained ${family.graph.order} tasks for ${history.epochs} epochs on ${backend.backend} (balance ${balance}) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${write('family.report.html', html)}`,
  );
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  visualise(
    path.resolve(arg('out', 'out/viz')),
    Number(arg('seed', '1')),
    Number(arg('epochs', '40')),
  ).catch((error) => {
    console.error(error instanceof MtgraphError ? error.message : error);
    process.exit(1);
  });
}
