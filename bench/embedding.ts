/**
 * Embedded training against a one-hot Dense of the same output width (issue 17):
 *
 *   A. embedded: 8 numeric columns and a category of V values embedded in `dim` columns (a
 *      table V+1 x dim, its gradient through mtgraph's UnsortedSegmentSum kernel), then the trunk;
 *   B. one-hot: the same 8 numeric columns and the category one-hot (V inputs), then a Dense of
 *      `dim` units (the one-hot Dense of the same output width), then the same trunk.
 *
 * Same rows, batch size, epochs and optimizer; both through mtgraph's `fit`, on the backend
 * initBackend picks (wasm here) and on cpu. The two sides run interleaved (A, B, A, B...) after a
 * warm-up of each; a run's time is its epochs' mean, and the table reports per side the median
 * over rounds of the wall-clock epoch time and of this process's CPU time per epoch (the verdict
 * uses CPU time: on a shared machine the wall clock also counts other processes).
 *
 *   nice -n 10 npx tsx bench/embedding.ts [--quick]
 */
import * as tf from '@tensorflow/tfjs';
import { compile, fit, initBackend, TaskGraph, type MtgraphModel } from '../src/index.js';
import { cpuNow, initialWeights, median } from './timing.js';

const quick = process.argv.includes('--quick');
const ROWS = quick ? 4000 : 20000;
const V = 2000;
const DIM = 16;
const NUMERIC = 8;
const EPOCHS = 2;
const ROUNDS = quick ? 2 : 4;
const BATCH = 256;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

// A high-cardinality category drives the target (each value its own effect), plus numeric columns.
const next = rng(7);
const effect = Float64Array.from({ length: V }, () => next() * 2 - 1);
const cats = Int32Array.from({ length: ROWS }, () => Math.floor(next() ** 1.5 * V));
const numeric = Float32Array.from({ length: ROWS * NUMERIC }, () => next() * 2 - 1);
const y = Float32Array.from({ length: ROWS }, (_, r) =>
  effect[cats[r]!]! + 0.3 * numeric[r * NUMERIC]! > 0 ? 1 : 0,
);
const names = Array.from({ length: NUMERIC }, (_, i) => `n${i}`);

function embeddedSide(): {
  model: MtgraphModel;
  x: { values: Float32Array; shape: [number, number] };
} {
  const g = new TaskGraph({ input: { columns: [...names, 'cat'], embed: { cat: DIM } } });
  g.addTask('t', { kind: 'binary' });
  const values = new Float32Array(ROWS * (NUMERIC + 1));
  for (let r = 0; r < ROWS; r++) {
    values.set(numeric.subarray(r * NUMERIC, (r + 1) * NUMERIC), r * (NUMERIC + 1));
    values[r * (NUMERIC + 1) + NUMERIC] = cats[r]!;
  }
  const vocabulary = Array.from({ length: V }, (_, i) => String(i));
  const model = compile(g, {
    strategy: 'hard',
    trunk: { units: [64, 32] },
    vocabularies: { cat: vocabulary },
    seed: 1,
  });
  return { model, x: { values, shape: [ROWS, NUMERIC + 1] } };
}

function oneHotSide(): {
  model: MtgraphModel;
  x: { values: Float32Array; shape: [number, number] };
} {
  const width = NUMERIC + V;
  const g = new TaskGraph({ input: { features: width } });
  g.addTask('t', { kind: 'binary' });
  const values = new Float32Array(ROWS * width);
  for (let r = 0; r < ROWS; r++) {
    values.set(numeric.subarray(r * NUMERIC, (r + 1) * NUMERIC), r * width);
    values[r * width + NUMERIC + cats[r]!] = 1;
  }
  // The first trunk layer is the one-hot Dense of DIM units (over the numeric columns too).
  const model = compile(g, { strategy: 'hard', trunk: { units: [DIM, 64, 32] }, seed: 1 });
  return { model, x: { values, shape: [ROWS, width] } };
}

async function epochs(
  side: { model: MtgraphModel; x: unknown },
  reset: () => void,
): Promise<{ wall: number; cpu: number }> {
  reset();
  const c0 = cpuNow();
  const h = await fit(
    side.model,
    { x: side.x as never, y: { t: y } },
    {
      epochs: EPOCHS,
      batchSize: BATCH,
      seed: 3,
    },
  );
  const cpu = (cpuNow() - c0) / EPOCHS;
  const wall = h.timing.epochMs.reduce((a, b) => a + b, 0) / EPOCHS;
  return { wall, cpu };
}

async function compare(backend: string): Promise<void> {
  await tf.setBackend(backend);
  const a = embeddedSide();
  const b = oneHotSide();
  const resetA = initialWeights(a.model.model);
  const resetB = initialWeights(b.model.model);
  await epochs(a, resetA);
  await epochs(b, resetB);
  type Run = { wall: number; cpu: number };
  const runs: { a: Run[]; b: Run[] } = { a: [], b: [] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.a.push(await epochs(a, resetA));
    runs.b.push(await epochs(b, resetB));
  }
  const m = (v: Run[], k: 'wall' | 'cpu') => median(v.map((r) => r[k]));
  const params = (x: MtgraphModel) => x.plan.params.total;
  console.log(
    `${backend}: ${ROWS} rows, V=${V}, dim ${DIM}, batch ${BATCH}, ${ROUNDS} rounds of ${EPOCHS} epochs`,
  );
  console.log(
    `  embedded   epoch ${m(runs.a, 'wall').toFixed(0)} ms wall, ${m(runs.a, 'cpu').toFixed(0)} ms cpu, ${params(a.model)} params`,
  );
  console.log(
    `  one-hot    epoch ${m(runs.b, 'wall').toFixed(0)} ms wall, ${m(runs.b, 'cpu').toFixed(0)} ms cpu, ${params(b.model)} params`,
  );
  const ratio = m(runs.a, 'cpu') / m(runs.b, 'cpu');
  console.log(
    `  embedded / one-hot: ${ratio.toFixed(2)} (cpu time), ${(m(runs.a, 'wall') / m(runs.b, 'wall')).toFixed(2)} (wall) -> ${ratio <= 1 ? 'holds' : 'does NOT hold'} (target <= 1)`,
  );
  a.model.dispose();
  b.model.dispose();
}

const { backend } = await initBackend();
await compare(backend);
if (backend !== 'cpu') await compare('cpu');
