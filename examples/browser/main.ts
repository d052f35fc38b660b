// The browser example: declare a graph, train it on generated data with a live loss chart,
// show the task graph and the network, save the model to IndexedDB and load it back.
// `npm run example:browser` bundles this file with esbuild and serves the page on 127.0.0.1.
import {
  TaskGraph,
  compile,
  evaluate,
  explain,
  fit,
  initBackend,
  loadModel,
  plan,
  predict,
  renderGraphSvg,
  renderPlanSvg,
  saveModel,
  type EpochLogs,
  type PlanOptions,
} from '../../src/index.js';

const $ = (id: string) => document.getElementById(id)!;

/** Seeded numbers in [-1, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/** Rows of 6 features; three related tasks (a click, a segment, a watch time) and a noisy one. */
function generate(rows: number, seed: number) {
  const r = random(seed);
  const x: number[][] = [];
  const y = {
    click: [] as number[],
    segment: [] as number[],
    watch: [] as number[],
    churn: [] as number[],
  };
  for (let i = 0; i < rows; i++) {
    const v = Array.from({ length: 6 }, r);
    const interest = v[0]! + 0.8 * v[1]! - 0.3 * v[2]!;
    x.push(v);
    y.click.push(interest + 0.2 * r() > 0 ? 1 : 0);
    y.segment.push(v[3]! > 0.33 ? 2 : v[3]! > -0.33 ? 1 : 0);
    y.watch.push(interest + 0.1 * r());
    y.churn.push(v[4]! * v[5]! + 0.3 * r() > 0 ? 1 : 0);
  }
  return { x, y };
}

const graph = new TaskGraph({ input: { features: 6 }, name: 'browser-example' });
graph.addTask('click', { kind: 'binary' });
graph.addTask('segment', { kind: 'multiclass', classes: 3 });
graph.addTask('watch', { kind: 'regression' });
graph.addTask('churn', { kind: 'binary' });
graph.addAffinity('click', 'watch', { weight: 0.8 });
graph.addAffinity('click', 'segment', { weight: 0.2 });
graph.addAffinity('watch', 'churn', { weight: -0.4 });

const options: PlanOptions = {
  strategy: 'clustered',
  trunk: { units: [32] },
  tower: { units: [16] },
  seed: 1,
};

function drawLoss(losses: number[], epochs: number): void {
  const [w, h, pad] = [520, 220, 32];
  const max = Math.max(...losses);
  const points = losses
    .map(
      (l, i) =>
        `${pad + (i / Math.max(1, epochs - 1)) * (w - 2 * pad)},${h - pad - (l / max) * (h - 2 * pad)}`,
    )
    .join(' ');
  $('loss').innerHTML =
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#999"/>` +
    `<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#999"/>` +
    `<text x="${pad}" y="${pad - 8}" font-size="11">${max.toFixed(3)}</text>` +
    `<text x="${w - pad}" y="${h - 8}" font-size="11" text-anchor="end">epoch ${losses.length}/${epochs}</text>` +
    `<polyline points="${points}" fill="none" stroke="#3366cc" stroke-width="2"/>`;
}

async function train(): Promise<void> {
  ($('train') as HTMLButtonElement).disabled = true;
  const epochs = 40;
  const model = compile(graph, options);
  const trainData = generate(800, 1);
  const test = generate(400, 2);
  const losses: number[] = [];
  $('status').textContent = 'training…';
  await fit(model, trainData, {
    epochs,
    batchSize: 32,
    seed: 2,
    optimizer: { name: 'adam', learningRate: 0.01 },
    onEpochEnd: async (_epoch: number, logs: EpochLogs) => {
      losses.push(logs.loss);
      drawLoss(losses, epochs);
      await new Promise((resolve) => requestAnimationFrame(resolve)); // let the page repaint
    },
  });
  $('scores').textContent = JSON.stringify(await evaluate(model, test), null, 2);
  await saveModel(model, 'indexeddb://mtgraph-browser-example');
  const again = await loadModel('indexeddb://mtgraph-browser-example');
  const a = predict(model, test.x.slice(0, 3));
  const b = predict(again, test.x.slice(0, 3));
  const same = Object.keys(a).every((k) =>
    a[k]!.dataSync().every((v, i) => Math.abs(v - b[k]!.dataSync()[i]!) < 1e-6),
  );
  for (const t of [...Object.values(a), ...Object.values(b)]) t.dispose();
  again.model.dispose();
  model.model.dispose();
  $('status').textContent =
    `saved to indexeddb://mtgraph-browser-example and loaded back (${same ? 'same' : 'DIFFERENT'} predictions)`;
  ($('train') as HTMLButtonElement).disabled = false;
}

async function main(): Promise<void> {
  const backend = await initBackend({ wasmPaths: '/wasm/' });
  $('backend').textContent = backend.backend;
  const p = plan(graph, options);
  $('graph').innerHTML = renderGraphSvg(graph, { seed: 1 });
  $('network').innerHTML = renderPlanSvg(p);
  $('plan').textContent = explain(p);
  $('train').addEventListener('click', () => void train());
  await train();
}

main().catch((error: Error) => {
  $('status').textContent = `${error.name}: ${error.message}`;
});
