/**
 * mtgraph's joint training loop against tfjs's own model.fit on the same network, side by side
 * in one process: a 64 -> 256 -> 128 trunk with 8 one-output regression heads, batch 256.
 *
 *   npx tsx bench/fit-loop.ts [wasm|cpu] [rows]
 *
 * Reports the median epoch time of each (first epoch of each run dropped as warm-up).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { TaskGraph } from '../src/graph/index.js';
import { compile } from '../src/build/index.js';
import { fit } from '../src/train/index.js';

const backend = (process.argv[2] ?? 'wasm') as BackendName;
const N = Number(process.argv[3] ?? 8192);
const TASKS = 8, D = 64, BATCH = 256, EPOCHS = 3, ROUNDS = 3;
const report = await initBackend({ backend });

let state = 7;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296) - 0.5;
const x = new Float32Array(N * D).map(random);
const ys = Array.from({ length: TASKS }, () => new Float32Array(N).map(random));

const graph = new TaskGraph({ input: { features: D } });
for (let t = 0; t < TASKS; t++) graph.addTask(`t${t}`, { kind: 'regression' });
const model = compile(graph, { strategy: 'hard', trunk: { units: [256, 128] } });
const data = { x: { values: x, shape: [N, D] }, y: Object.fromEntries(ys.map((y, t) => [`t${t}`, y])) };

const input = tf.input({ shape: [D] });
const trunk = tf.layers.dense({ units: 128, activation: 'relu' }).apply(tf.layers.dense({ units: 256, activation: 'relu' }).apply(input)) as tf.SymbolicTensor;
const hand = tf.model({ inputs: input, outputs: ys.map((_, t) => tf.layers.dense({ units: 1, name: `h${t}` }).apply(trunk) as tf.SymbolicTensor) });
hand.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
const xT = tf.tensor2d(x, [N, D]);
const yT = ys.map((y) => tf.tensor2d(y, [N, 1]));

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
async function ours(): Promise<number> {
  const h = await fit(model, data, { epochs: EPOCHS, batchSize: BATCH, seed: 1 });
  return mean(h.timing.epochMs.slice(1));
}
async function theirs(): Promise<number> {
  const times: number[] = [];
  let t0 = 0;
  await hand.fit(xT, yT, {
    epochs: EPOCHS, batchSize: BATCH, shuffle: true, verbose: 0,
    callbacks: { onEpochBegin: async () => { t0 = performance.now(); }, onEpochEnd: async () => { times.push(performance.now() - t0); } },
  });
  return mean(times.slice(1));
}

await ours();
await theirs();
const a: number[] = [];
const b: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  a.push(await ours());
  b.push(await theirs());
}
const median = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
const rate = (ms: number) => Math.round((N / ms) * 1000);
process.stdout.write(`backend ${report.backend}, ${N} rows, batch ${BATCH}, 64->256->128 + ${TASKS} heads\n`);
process.stdout.write(`mtgraph fit: ${median(a).toFixed(1)} ms/epoch (${rate(median(a))} rows/s)\n`);
process.stdout.write(`model.fit:   ${median(b).toFixed(1)} ms/epoch (${rate(median(b))} rows/s)\n`);
process.stdout.write(`ratio (fit / model.fit): ${(median(a) / median(b)).toFixed(3)}\n`);
tf.dispose([xT, ...yT]);
hand.dispose();
model.dispose();
