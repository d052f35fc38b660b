// A consumer's page: what `npm install mtgraph` gives a browser app, bundled by esbuild or Vite
// as they are. It trains a 3-task graph on generated data and writes what it measured into
// #result (JSON) for test/package/browser-pack.test.ts.
import * as tf from '@tensorflow/tfjs';
import {
  TaskGraph,
  compile,
  evaluate,
  explain,
  groupTasks,
  measureAffinity,
  renderReport,
  fit,
  initBackend,
  loadModel,
  plan,
  predict,
  readCsv,
  renderGraphSvg,
  renderPlanSvg,
  saveModel,
} from 'mtgraph';

/** Seeded uniform numbers in [-1, 1) (a 32-bit LCG). */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

function data(rows, seed) {
  const r = random(seed);
  const x = [];
  const y = { click: [], segment: [], watch: [] };
  for (let i = 0; i < rows; i++) {
    const v = [r(), r(), r(), r()];
    x.push(v);
    y.click.push(v[0] + v[1] > 0 ? 1 : 0);
    y.segment.push(v[2] > 0.33 ? 2 : v[2] > -0.33 ? 1 : 0);
    y.watch.push(v[0] - 0.5 * v[3] + 0.05 * r());
  }
  return { x, y };
}

async function run() {
  // ?backend=wasm forces one (the test trains on wasm: SwiftShader's WebGL is slow); ?only=backend
  // reports initBackend's own choice and stops.
  const params = new URLSearchParams(location.search);
  const forced = params.get('backend');
  const backend = await initBackend({
    wasmPaths: '/wasm/',
    ...(forced ? { backend: forced } : {}),
  });
  if (params.get('only') === 'backend') {
    document.querySelector('#result').textContent = JSON.stringify({
      backend: backend.backend,
      tried: backend.tried,
    });
    return;
  }
  const g = new TaskGraph({ input: { features: 4 }, name: 'browser' });
  g.addTask('click', { kind: 'binary' });
  g.addTask('segment', { kind: 'multiclass', classes: 3 });
  g.addTask('watch', { kind: 'regression' });
  g.addAffinity('click', 'watch', { weight: 0.6 });
  g.addAffinity('click', 'segment', { weight: 0.3 });
  const options = { strategy: 'hard', trunk: { units: [24] }, seed: 7 };
  const p = plan(g, options);
  const graphSvg = renderGraphSvg(g, { seed: 1 });
  const planSvg = renderPlanSvg(p);
  const model = compile(g, options);
  const train = data(600, 1);
  const test = data(300, 2);
  const tensorsBefore = tf.memory().numTensors;
  const history = await fit(model, train, {
    epochs: 40,
    batchSize: 32,
    seed: 3,
    optimizer: { name: 'adam', learningRate: 0.02 },
  });
  const scores = await evaluate(model, test);
  const out = predict(model, test.x.slice(0, 5));
  const before = Object.fromEntries(
    Object.entries(out).map(([k, t]) => [k, Array.from(t.dataSync())]),
  );
  Object.values(out).forEach((t) => t.dispose());
  const tensorsAfter = tf.memory().numTensors;

  // Saving and loading in a browser: IndexedDB and the in-memory files.
  await saveModel(model, 'indexeddb://mtgraph-browser-test');
  const fromDb = await loadModel('indexeddb://mtgraph-browser-test');
  await saveModel(model, 'downloads://browser-test');
  const memory = await saveModel(model);
  const fromMemory = await loadModel(memory);
  const same = (m) => {
    const o = predict(m, test.x.slice(0, 5));
    const ok = Object.entries(o).every(([k, t]) => {
      const v = t.dataSync();
      return before[k].every((b, i) => Math.abs(b - v[i]) < 1e-6);
    });
    Object.values(o).forEach((t) => t.dispose());
    return ok;
  };
  const csv = await readCsv(
    new Blob(['a,b,c,d,click,segment,watch\n0.1,0.2,0.3,0.4,1,2,0.5\n-0.1,0.5,0,0.2,0,1,-0.2\n']),
    g,
  ).then(
    (c) => ({ rows: c.rows, columns: c.columns }),
    (e) => ({ error: `${e.name}: ${e.message}` }),
  );
  // Learning affinities, grouping, explaining and the report page run in a browser too.
  const affinity = await measureAffinity(g, train, { steps: 20, warmup: 5, seed: 1 });
  const grouped = groupTasks(affinity.graph, { groups: 2 });
  const text = explain(p);
  const report = await renderReport({ graph: g, plan: p, history, metrics: scores });
  const result = {
    affinityTasks: affinity.tasks,
    affinityFinite: affinity.matrix.flat().filter((v) => Number.isFinite(v)).length,
    groups: grouped.groups,
    explain: text.split('\n')[0],
    report: {
      length: report.length,
      html: report.startsWith('<!doctype html') || report.startsWith('<!DOCTYPE html'),
      svg: (report.match(/<svg/g) ?? []).length,
    },
    backend: backend.backend,
    tried: backend.tried,
    epochs: history.epochs,
    firstLoss: history.loss[0],
    lastLoss: history.loss.at(-1),
    scores,
    leakedTensors: tensorsAfter - tensorsBefore,
    graphSvg: graphSvg.length,
    planSvg: planSvg.length,
    indexeddbSame: same(fromDb),
    memorySame: same(fromMemory),
    memoryFiles: Object.keys(memory.files).sort(),
    csv,
  };
  document.querySelector('#result').textContent = JSON.stringify(result);
}

run().catch((error) => {
  document.querySelector('#result').textContent = JSON.stringify({
    error: `${error.name}: ${error.message}`,
    stack: error.stack,
  });
});
