/**
 * A Census-shaped model (issue 17): 145 numeric columns and 8 embedded columns of 50 values
 * (dim 4) against the same 145 numeric columns and 8 one-hot blocks (480 inputs), hard trunk
 * [64, 32], towers [8], two binary tasks, 50,000 generated rows, batch 512, on the backend
 * initBackend picks; a warm-up epoch of each, then two alternating rounds of one epoch each,
 * printing wall-clock and this process's CPU time.
 *
 *   nice -n 10 npx tsx bench/embedding-wide.ts
 */
import * as tf from '@tensorflow/tfjs';
import { compile, fit, initBackend, TaskGraph } from '../src/index.js';
import { cpuNow } from './timing.js';
await initBackend();
const ROWS = 50000,
  NUM = 145,
  E = 8,
  V = 50,
  DIM = 4,
  OH = 480;
let s = 1;
const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
const cols = [
  ...Array.from({ length: NUM }, (_, i) => `n${i}`),
  ...Array.from({ length: E }, (_, i) => `c${i}`),
];
const xe = new Float32Array(ROWS * (NUM + E));
for (let i = 0; i < xe.length; i++) xe[i] = i % (NUM + E) >= NUM ? Math.floor(r() * V) : r();
const xo = new Float32Array(ROWS * OH);
for (let i = 0; i < ROWS; i++) for (let j = 0; j < NUM; j++) xo[i * OH + j] = r();
for (let i = 0; i < ROWS; i++)
  for (let e = 0; e < E; e++) xo[i * OH + NUM + e * 41 + Math.floor(r() * 41)] = 1;
const y = {
  a: Float32Array.from({ length: ROWS }, () => (r() > 0.5 ? 1 : 0)),
  b: Float32Array.from({ length: ROWS }, () => (r() > 0.5 ? 1 : 0)),
};
const ge = new TaskGraph({
  input: { columns: cols, embed: Object.fromEntries(cols.slice(NUM).map((c) => [c, DIM])) },
});
const go = new TaskGraph({ input: { features: OH } });
for (const g of [ge, go]) {
  g.addTask('a', { kind: 'binary' });
  g.addTask('b', { kind: 'binary' });
}
const vocab = Object.fromEntries(
  cols.slice(NUM).map((c) => [c, Array.from({ length: V }, (_, i) => String(i))]),
);
const me = compile(ge, {
  strategy: 'hard',
  trunk: { units: [64, 32] },
  tower: { units: [8] },
  vocabularies: vocab,
});
const mo = compile(go, { strategy: 'hard', trunk: { units: [64, 32] }, tower: { units: [8] } });
const run = async (m: typeof me, x: Float32Array, w: number) => {
  const c0 = cpuNow();
  const h = await fit(
    m,
    { x: { values: x, shape: [ROWS, w] }, y },
    { epochs: 1, batchSize: 512, seed: 1 },
  );
  return [h.timing.epochMs[0]!, cpuNow() - c0];
};
await run(me, xe, NUM + E);
await run(mo, xo, OH);
for (let k = 0; k < 2; k++) {
  console.log(
    'embedded',
    (await run(me, xe, NUM + E)).map((v) => v.toFixed(0)).join(' ms wall, '),
    'ms cpu',
  );
  console.log(
    'one-hot ',
    (await run(mo, xo, OH)).map((v) => v.toFixed(0)).join(' ms wall, '),
    'ms cpu',
  );
}
