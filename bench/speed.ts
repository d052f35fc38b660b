/**
 * How close training runs to the machine's limit: achieved FLOP/s of a training epoch against
 * the backend's own matMul FLOP/s on the network's shapes, for tfjs's `model.fit` and for
 * mtgraph's `fit`, each with the wasm backend's original kernels and with the replacements
 * `initBackend` installs (transposed matMul, in-place slice, row gather, blocked transpose).
 * Network: 64 -> 256 -> 128 (relu) with 8 regression heads, batch 256, adam, 8,192 rows; and,
 * in a table of its own, an MMoE on the same data with the original and the replaced kernels.
 * Times are CPU time of this process (tfjs runs on one thread), medians of interleaved rounds.
 *
 * Run: npx tsx bench/speed.ts [--rounds 3] [--rows 8192]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, TaskGraph, compile, fit, seededRandom } from '../src/index.js';
import { patchWasmKernels, restoreWasmKernels } from '../src/backend/index.js';
import type { PlanOptions } from '../src/index.js';
import { cpuNow, median } from './timing.js';

/** mtgraph's replacements of wasm kernels (initBackend installs them): all on, or tfjs's originals. */
function wasmKernels(patched: boolean): void {
  if (patched) patchWasmKernels();
  else restoreWasmKernels();
}

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 3);
const ROWS = arg('rows', 8192);
const D = 64;
const UNITS = [256, 128];
const HEADS = 8;
const BATCH = 256;
const LR = 1e-3;
/** Multiply-adds of one forward pass per sample, x2 for FLOPs; training is ~3x a forward pass. */
const FORWARD_FLOPS = 2 * (D * UNITS[0]! + UNITS[0]! * UNITS[1]! + UNITS[1]! * HEADS);
const TRAIN_FLOPS = 3 * FORWARD_FLOPS;

const report = await initBackend();
const random = seededRandom(7);
const X = new Float32Array(ROWS * D).map(() => random() * 2 - 1);
const Y = Array.from({ length: HEADS }, (_, h) =>
  Float32Array.from({ length: ROWS }, (_, r) => Math.tanh(X[r * D + h]! + X[r * D + h + 8]!)),
);
const ids = Array.from({ length: HEADS }, (_, h) => `t${h}`);

/**
 * The backend's matMul throughput on the forward shapes of one batch, GFLOP/s: with the same
 * operands at every call (`fixed`: XNNPACK packs each right-hand matrix once and reuses it), and
 * with a new right-hand matrix at every call (`fresh`: packed at every call, as a training step's
 * weights are, since every step makes new weight tensors). For `fresh` the time of making the new
 * matrices (one add each, timed alone) is taken off.
 */
function matMulCeiling(): { fixed: number; fresh: number } {
  const a = tf.randomNormal([BATCH, D]);
  const w1 = tf.randomNormal([D, UNITS[0]!]);
  const h1 = tf.randomNormal([BATCH, UNITS[0]!]);
  const w2 = tf.randomNormal([UNITS[0]!, UNITS[1]!]);
  const h2 = tf.randomNormal([BATCH, UNITS[1]!]);
  const w3 = tf.randomNormal([UNITS[1]!, HEADS]);
  const timed = (f: () => void, n: number) => {
    for (let i = 0; i < 10; i++) f();
    const t0 = cpuNow();
    for (let i = 0; i < n; i++) f();
    return (cpuNow() - t0) / n;
  };
  const fixed = timed(
    () =>
      tf.tidy(() => {
        tf.matMul(a, w1);
        tf.matMul(h1, w2);
        tf.matMul(h2, w3).dataSync();
      }),
    100,
  );
  const fresh = timed(
    () =>
      tf.tidy(() => {
        tf.matMul(a, tf.add(w1, 0));
        tf.matMul(h1, tf.add(w2, 0));
        tf.matMul(h2, tf.add(w3, 0)).dataSync();
      }),
    100,
  );
  const making = timed(
    () =>
      tf.tidy(() => {
        tf.add(w1, 0);
        tf.add(w2, 0);
        tf.add(w3, 0).dataSync();
      }),
    100,
  );
  tf.dispose([a, w1, h1, w2, h2, w3]);
  const gflops = (ms: number) => (BATCH * FORWARD_FLOPS) / (ms / 1000) / 1e9;
  return { fixed: gflops(fixed), fresh: gflops(fresh - making) };
}

/** The same network written by hand with tfjs layers, trained by model.fit; ms per epoch. */
function handWritten(): { run: () => Promise<number>; dispose: () => void } {
  const input = tf.input({ shape: [D] });
  let h: tf.SymbolicTensor = input;
  for (const units of UNITS)
    h = tf.layers.dense({ units, activation: 'relu' }).apply(h) as tf.SymbolicTensor;
  const outputs = ids.map(
    (id) => tf.layers.dense({ units: 1, name: id }).apply(h) as tf.SymbolicTensor,
  );
  const model = tf.model({ inputs: input, outputs });
  model.compile({ optimizer: tf.train.adam(LR), loss: ids.map(() => 'meanSquaredError') });
  const x = tf.tensor2d(X, [ROWS, D]);
  const ys = Y.map((y) => tf.tensor2d(y, [ROWS, 1]));
  return {
    run: async () => {
      const t0 = cpuNow();
      await model.fit(x, ys, { epochs: 1, batchSize: BATCH, shuffle: true, verbose: 0 });
      return cpuNow() - t0;
    },
    dispose: () => {
      model.dispose();
      tf.dispose([x, ...ys]);
    },
  };
}

/** mtgraph's fit on a plan of the 8 tasks: `hard` on the network, or a gated one; CPU ms of one epoch. */
function ours(
  planOptions: PlanOptions = { strategy: 'hard', trunk: { units: UNITS } },
  batch = BATCH,
): { run: () => Promise<number>; dispose: () => void } {
  const g = new TaskGraph({ input: { features: D } });
  for (const id of ids) g.addTask(id, { kind: 'regression' });
  const model = compile(g, { ...planOptions, seed: 1 });
  const data = {
    x: { values: X, shape: [ROWS, D] as [number, number] },
    y: Object.fromEntries(ids.map((id, h) => [id, Y[h]!])),
  };
  return {
    run: async () => {
      let start = 0;
      let end = 0;
      // Time the epoch itself (from the first step), not the one-off data preparation.
      const t0 = cpuNow();
      const history = await fit(model, data, {
        epochs: 1,
        batchSize: batch,
        seed: 1,
        optimizer: { name: 'adam', learningRate: LR },
        metrics: false,
        onEpochEnd: () => {
          end = cpuNow();
        },
      });
      start = t0 + history.timing.prepareMs;
      return end - start;
    },
    dispose: () => model.dispose(),
  };
}

/** A gated network (MMoE: 8 experts of 32, a tower [8] per task, batch 512): its gates stack the experts (Concat) and split the stack's gradient (SplitV). */
const MMOE: PlanOptions = {
  strategy: 'mmoe',
  trunk: { units: [32] },
  mmoe: { experts: 8 },
  tower: { units: [8] },
};
const sides: Array<{
  name: string;
  patched: boolean;
  make: () => ReturnType<typeof ours>;
  gated?: boolean;
}> = [
  { name: 'tfjs model.fit, original wasm kernels', patched: false, make: handWritten },
  { name: 'tfjs model.fit, mtgraph kernels', patched: true, make: handWritten },
  {
    name: 'mtgraph fit (hard, 8 heads), original wasm kernels',
    patched: false,
    make: () => ours(),
  },
  { name: 'mtgraph fit (hard, 8 heads), mtgraph kernels', patched: true, make: () => ours() },
  {
    name: 'mtgraph fit (mmoe, 8 experts of 32, towers [8]), original wasm kernels',
    patched: false,
    make: () => ours(MMOE, 512),
    gated: true,
  },
  {
    name: 'mtgraph fit (mmoe, 8 experts of 32, towers [8]), mtgraph kernels',
    patched: true,
    make: () => ours(MMOE, 512),
    gated: true,
  },
];

const ceilings: Array<{ fixed: number; fresh: number }> = [];
const built = sides.map((s) => ({ ...s, ...s.make(), ms: [] as number[] }));
for (const s of built) {
  wasmKernels(s.patched);
  await s.run(); // warm-up
}
for (let r = 0; r < ROUNDS; r++) {
  wasmKernels(true);
  ceilings.push(matMulCeiling());
  for (const s of built) {
    wasmKernels(s.patched);
    s.ms.push(await s.run());
  }
}
wasmKernels(true);
for (const s of built) s.dispose();

console.log(
  `backend ${report.backend} (${report.tried.find((t) => t.name === report.backend)?.reason}); node ${process.version}`,
);
console.log(
  `network ${D} -> ${UNITS.join(' -> ')} -> ${HEADS} regression heads, batch ${BATCH}, adam, ${ROWS} rows; CPU ms per epoch, median of ${ROUNDS} interleaved rounds`,
);
const ceiling = median(ceilings.map((c) => c.fixed));
const freshCeiling = median(ceilings.map((c) => c.fresh));
console.log(
  `backend matMul on the forward shapes, median of ${ROUNDS} rounds: ${ceiling.toFixed(1)} GFLOP/s with operands packed once (the ceiling; rounds ${ceilings.map((c) => c.fixed.toFixed(1)).join(', ')}), ${freshCeiling.toFixed(1)} GFLOP/s with a new right-hand matrix per product (rounds ${ceilings.map((c) => c.fresh.toFixed(1)).join(', ')})\n`,
);
console.log(
  '| training loop | ms / epoch | samples / s | achieved GFLOP/s | % of matMul ceiling | % of fresh-operand matMul | vs tfjs model.fit (original) |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|');
const base = median(built[0]!.ms);
for (const s of built.filter((b) => !b.gated)) {
  const ms = median(s.ms);
  const sps = ROWS / (ms / 1000);
  const gflops = (sps * TRAIN_FLOPS) / 1e9;
  console.log(
    `| ${s.name} | ${ms.toFixed(0)} | ${sps.toFixed(0)} | ${gflops.toFixed(2)} | ${((100 * gflops) / ceiling).toFixed(0)} % | ${((100 * gflops) / freshCeiling).toFixed(0)} % | ${(base / ms).toFixed(2)}x |`,
  );
}
const gated = built.filter((b) => b.gated);
console.log(
  `\nA gated network on the same data (64 -> MMoE, batch 512): CPU ms per epoch, median of ${ROUNDS} rounds\n`,
);
console.log('| training loop | ms / epoch | vs original kernels |');
console.log('|---|---:|---:|');
for (const s of gated)
  console.log(
    `| ${s.name} | ${median(s.ms).toFixed(0)} | ${(median(gated[0]!.ms) / median(s.ms)).toFixed(2)}x |`,
  );
