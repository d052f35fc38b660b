/**
 * Where a step of the fast step's dense engine goes (issue 18), for the two-thread split: the
 * network of bench/vs-torch.ts's `dense` (64 -> 256 -> 128 relu, 8 regression heads) on
 * `DenseEngine` directly, on wasm: forward + backward of one batch at 256, 128, 64 and 32 rows
 * (the same rows again and again), Adam over the 50,568 parameters, copying them to a
 * SharedArrayBuffer, and adding another thread's gradients (`addGradients`: a copy onto the heap
 * and dense_step.wat's `accumulate`). Each the fastest and the median of 7 runs of 40 calls, ms.
 *
 *   nice -n 10 npx tsx bench/fast-parts.ts
 */
import { readFileSync } from 'node:fs';
import { initBackend } from '../src/index.js';
import { DenseEngine, type EngineSpec } from '../src/train/dense-engine.js';

const report = await initBackend();
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
console.log(`backend ${report.backend}; load before: ${load()}`);
function spec(batch: number): EngineSpec {
  return {
    features: 64,
    labels: 8,
    batch,
    weighted: false,
    sizes: [64 * 256, 256, 256 * 128, 128, 128 * 8, 8],
    layers: [
      { inputs: 64, units: 256, activation: 'relu', W: 0, b: 1 },
      { inputs: 256, units: 128, activation: 'relu', W: 2, b: 3 },
    ],
    head: { inputs: 128, units: 8, W: 4, b: 5 },
    tasks: Array.from({ length: 8 }, (_, t) => ({
      kind: 'mse' as const,
      z: t,
      units: 1,
      label: t,
      weight: 1,
    })),
  };
}
const ROWS = 1024;
let seed = 1;
const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
const x = Float32Array.from({ length: ROWS * 64 }, random);
const y = Float32Array.from({ length: ROWS * 8 }, random);
const mask = new Float32Array(ROWS * 8).fill(1);
const perm = Int32Array.from({ length: ROWS }, (_, i) => i);

/** Fastest and median of 7 runs of 40 calls, ms a call. */
function time(f: (i: number) => void): string {
  for (let i = 0; i < 30; i++) f(i);
  const runs: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    for (let i = 0; i < 40; i++) f(i);
    runs.push((performance.now() - t0) / 40);
  }
  runs.sort((a, b) => a - b);
  return `${runs[0]!.toFixed(3)} (median ${runs[3]!.toFixed(3)})`;
}

console.log('\n| part | ms |\n|---|---:|');
for (const B of [256, 128, 64, 32]) {
  const e = new DenseEngine(spec(B));
  e.params().forEach((_, i, a) => {
    a[i] = random() * 0.05;
  });
  const dens = new Float64Array(8).fill(B);
  const nums = new Float64Array(8);
  e.gather(x, y, mask, perm, 0, B);
  console.log(`| forward + backward, ${B} rows | ${time(() => e.forwardBackward(dens, nums))} |`);
  if (B === 256) {
    const o = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    console.log(`| Adam, ${e.total} parameters | ${time((i) => e.adam(i + 1, o, 0))} |`);
    const shared = new Float32Array(new SharedArrayBuffer(e.total * 4));
    console.log(`| parameters to a SharedArrayBuffer | ${time(() => shared.set(e.params()))} |`);
    shared.fill(0);
    console.log(`| addGradients (copy in + SIMD sum) | ${time(() => e.addGradients(shared))} |`);
    console.log(
      `| gather ${B} rows | ${time((i) => e.gather(x, y, mask, perm, (i * B) % (ROWS - B), B))} |`,
    );
  }
  e.dispose();
}
console.log(`load after: ${load()}`);
