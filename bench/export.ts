/**
 * Export sizes and serving speed (issue 16): a 139-task School model and an 8-expert MMoE exported
 * as plain tfjs, ONNX and PyTorch; the time of one batch of predictions in onnxruntime-node
 * against mtgraph's `predict`, measured side by side (alternating runs, medians).
 *
 *   npx tsx bench/export.ts                 21 timed runs per engine after 5 warm-up runs
 *   npx tsx bench/export.ts --runs 41 --batch 4096
 *
 * School: graphs/school.json (139 regression tasks, 27 features), strategy hard, trunk [32, 16]
 * (the 139 heads are one fused layer); the batch is the first rows of school.csv standardised
 * (generated features when ../shared/data is absent). MMoE: graphs/census-income.json (3 binary
 * tasks), 8 experts of [64, 32]; generated standard-normal features. Weights are as built (the
 * sizes and times do not depend on their values); every export's predictions are checked against
 * predict (max |difference|) before timing.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { compile, exportModel, initBackend, loadGraph, predict } from '../src/index.js';
import type { MtgraphModel } from '../src/network/types.js';
import { argValue, column, dataPath, featureMatrix, readTable, rng } from './quality/load.js';

const RUNS = Number(argValue('runs') ?? 21);
const WARMUP = 5;
const BATCH = Number(argValue('batch') ?? 1024);

const backend = await initBackend();
console.log(
  `backend ${backend.backend}, onnxruntime-node ${ort.env.versions.node ?? ''}, batch ${BATCH}, ${RUNS} runs`,
);

function generated(rows: number, features: number, seed: number): Float32Array {
  const random = rng(seed);
  const out = new Float32Array(rows * features);
  for (let i = 0; i < out.length; i++) {
    // Box-Muller: standard normal.
    const u = Math.max(random(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

async function schoolModel(): Promise<{ model: MtgraphModel; x: Float32Array; source: string }> {
  const graph = await loadGraph(new URL('../graphs/school.json', import.meta.url).pathname);
  const columns = (graph.getAttribute('input') as { columns: string[] }).columns;
  const model = compile(graph, { strategy: 'hard', trunk: { units: [32, 16] }, seed: 0 });
  const file = dataPath('school', 'school.csv');
  if (!existsSync(file))
    return { model, x: generated(BATCH, columns.length, 1), source: 'generated features' };
  const table = readTable(file);
  const rows = Array.from({ length: table.rows }, (_, i) => i);
  const features = featureMatrix(
    columns.map((name) => ({ name, values: column(table, name) })),
    rows,
  );
  if (features.names.length !== columns.length)
    throw new Error(
      `school.csv: ${features.names.length} usable features, expected ${columns.length}`,
    );
  const take = Array.from({ length: BATCH }, (_, i) => i % table.rows);
  return { model, x: features.take(take).values, source: `first ${BATCH} rows of school.csv` };
}

async function mmoeModel(): Promise<{ model: MtgraphModel; x: Float32Array; source: string }> {
  const graph = await loadGraph(new URL('../graphs/census-income.json', import.meta.url).pathname);
  const model = compile(graph, {
    strategy: 'mmoe',
    trunk: { units: [64, 32] },
    mmoe: { experts: 8 },
    seed: 0,
  });
  const features = model.plan.input.features;
  return { model, x: generated(BATCH, features, 2), source: 'generated features' };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

const rows: string[] = [];
for (const [label, make] of [
  ['School, 139 tasks, hard [32, 16]', schoolModel],
  ['Census, 3 tasks, MMoE 8 experts [64, 32]', mmoeModel],
] as const) {
  const { model, x, source } = await make();
  const features = model.plan.input.features;
  const params = model.model.countParams();
  const sizes: Record<string, string> = {};
  let onnxBytes: Uint8Array | undefined;
  for (const format of ['tfjs', 'onnx', 'pytorch']) {
    const t0 = performance.now();
    const result = await exportModel(model, { format });
    const ms = performance.now() - t0;
    const total = result.files.reduce(
      (s, [, c]) => s + (typeof c === 'string' ? Buffer.byteLength(c) : c.byteLength),
      0,
    );
    sizes[format] = `${kb(total)} (${ms.toFixed(0)} ms)`;
    if (format === 'onnx')
      onnxBytes = result.files.find(([n]) => n === 'model.onnx')![1] as Uint8Array;
  }
  const input = { features: { values: x, shape: [BATCH, features] as [number, number] } };
  const sessions = {
    ort1: await ort.InferenceSession.create(onnxBytes!, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    }),
    ort: await ort.InferenceSession.create(onnxBytes!),
  };
  const feed = { input: new ort.Tensor('float32', x, [BATCH, features]) };
  const runMtgraph = () => {
    const out = predict(model, input.features);
    const values = Object.values(out).map((t) => t.dataSync());
    tf.dispose(Object.values(out));
    return values;
  };
  // Correctness first: the exported model predicts what predict does.
  const want = runMtgraph();
  const got = await sessions.ort.run(feed);
  let diff = 0;
  model.plan.tasks.forEach((t, i) => {
    const a = got[t.id]!.data as Float32Array;
    const b = want[i]!;
    for (let j = 0; j < a.length; j++) diff = Math.max(diff, Math.abs(a[j]! - b[j]!));
  });
  const times: Record<'mtgraph' | 'ort1' | 'ort', number[]> = { mtgraph: [], ort1: [], ort: [] };
  for (let r = 0; r < WARMUP + RUNS; r++) {
    for (const engine of ['mtgraph', 'ort1', 'ort'] as const) {
      const t0 = performance.now();
      if (engine === 'mtgraph') runMtgraph();
      else {
        const out = await sessions[engine].run(feed);
        for (const v of Object.values(out)) void (v.data as Float32Array)[0];
      }
      if (r >= WARMUP) times[engine].push(performance.now() - t0);
    }
  }
  await sessions.ort1.release();
  await sessions.ort.release();
  const m = {
    mtgraph: median(times.mtgraph),
    ort1: median(times.ort1),
    ort: median(times.ort),
  };
  rows.push(
    `| ${label} | ${params.toLocaleString('en')} | ${sizes.tfjs} | ${sizes.onnx} | ${sizes.pytorch} | ${m.mtgraph.toFixed(2)} | ${m.ort1.toFixed(2)} | ${m.ort.toFixed(2)} | ${diff.toExponential(1)} | ${source} |`,
  );
  console.log(rows[rows.length - 1]);
  model.dispose();
}

console.log(`
| model | parameters | tfjs export (time to export) | onnx | pytorch | mtgraph predict, ms (${backend.backend}) | onnxruntime-node 1 thread, ms | onnxruntime-node default threads, ms | max abs diff | batch |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---|
${rows.join('\n')}`);
