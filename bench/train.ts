/**
 * Training speed, side by side in one process on one backend (issue 3, "bench/train.ts"):
 *
 *   1. a compiled `hard` model trained with mtgraph's `fit` vs the same network written by hand
 *      with tfjs layers and trained with `model.fit` (same initial weights, data, epochs,
 *      optimizer): epoch time ratio, target <= 1.10;
 *   2. one 8-task `hard` model vs 8 single-task models of the same trunk, each trained with `fit`
 *      on its own task: time ratio of one epoch over all tasks, target <= 0.30;
 *   3. `soft` with its Laplacian penalties vs the same soft plan with its couplings removed
 *      (same towers, same initial weights, no penalty term): overhead, target <= 15 %;
 *   4. the `wasm` backend vs `cpu` on the same model and data (switched with tf.setBackend): speed-up.
 *
 *   npx tsx bench/train.ts [--quick] [--only 3]   (--only: run just these comparisons, e.g. `--only 1,3`)
 *
 * Every comparison runs its two sides interleaved (A, B, A, B, ...) after one warm-up run of
 * each, so that a slow spell of a shared machine hits both sides. A run's epoch time is the mean
 * of its epochs (every model is reset to the same initial weights before each run, and the
 * kernels are warm, so the first epoch is not special). The table reports, per side, the median
 * over rounds of the wall-clock epoch time and of this process's CPU time per epoch
 * (`process.cpuUsage`; tfjs runs on one thread here). The pass/fail verdict uses the CPU-time
 * medians: on a shared 2-core machine the wall clock also counts the time other processes hold
 * the cores, which swings single rounds by 2x; when the wall-clock medians disagree, the verdict
 * says so. On a quiet machine the two agree within a few per cent.
 */
import * as tf from '@tensorflow/tfjs';
import { execSync } from 'node:child_process';
import {
  initBackend,
  TaskGraph,
  plan,
  build,
  compile,
  fit,
  FIT_DEFAULTS,
  type FitOptions,
  type MtgraphModel,
  type TaskData,
  type Plan,
} from '../src/index.js';
import { median, mean, cpuNow, initialWeights } from './timing.js';

const QUICK = process.argv.includes('--quick');
/** The comparisons to run (`--only 1,3`); all when not given. */
const ONLY = (() => {
  const at = process.argv.indexOf('--only');
  if (at < 0) return undefined;
  const list = (process.argv[at + 1] ?? '').split(',').map(Number);
  if (list.length === 0 || list.some((k) => !Number.isInteger(k) || k < 1 || k > 4))
    throw new Error(
      `bench/train: --only takes comparison numbers 1-4, comma-separated (got "${process.argv[at + 1] ?? ''}"). Example: --only 3`,
    );
  return new Set(list);
})();
const runs = (k: number) => !ONLY || ONLY.has(k);
const D = 64;
const TASKS = 8;
const TRUNK = [256, 128];
const BATCH = 256;
const LR = 1e-3;
/** Rows, epochs per run and measured rounds of each comparison. */
const SIZES = QUICK
  ? {
      hand: { rows: 1024, epochs: 2, rounds: 3 },
      single: { rows: 512, epochs: 2, rounds: 3 },
      soft: { rows: 1024, epochs: 2, rounds: 7 },
      clique: { rows: 1024, epochs: 2, rounds: 7 },
      backend: { rows: 512, epochs: 2, rounds: 3 },
    }
  : {
      hand: { rows: 4096, epochs: 2, rounds: 9 },
      single: { rows: 2048, epochs: 2, rounds: 5 },
      soft: { rows: 2048, epochs: 2, rounds: 9 },
      clique: { rows: 2048, epochs: 2, rounds: 9 },
      backend: { rows: 2048, epochs: 2, rounds: 5 },
    };

const started = performance.now();
const report = await initBackend();
const BACKEND = report.backend;

// ---------------------------------------------------------------------------------------------
// Data: deterministic, 64 features in [-0.5, 0.5), 8 regression targets that depend on x
// (a shared random projection through tanh plus a per-task one), so the losses move.

let state = 7;
const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
const MAX_ROWS = Math.max(...Object.values(SIZES).map((s) => s.rows));
const X = new Float32Array(MAX_ROWS * D).map(random);
const Y = (() => {
  const shared = Array.from({ length: D }, random);
  const own = Array.from({ length: TASKS }, () => Array.from({ length: D }, random));
  return own.map((w) => {
    const y = new Float32Array(MAX_ROWS);
    for (let r = 0; r < MAX_ROWS; r++) {
      let s = 0;
      let o = 0;
      for (let j = 0; j < D; j++) {
        s += shared[j]! * X[r * D + j]!;
        o += w[j]! * X[r * D + j]!;
      }
      y[r] = Math.tanh(2 * s) + 0.5 * Math.tanh(2 * o) + 0.1 * random();
    }
    return y;
  });
})();
const ids = Array.from({ length: TASKS }, (_, t) => `t${t}`);

/** The first `rows` rows in the form `fit` takes, for the given tasks. */
function dataFor(rows: number, tasks: readonly string[] = ids): TaskData {
  return {
    x: { values: X.subarray(0, rows * D), shape: [rows, D] },
    y: Object.fromEntries(tasks.map((id) => [id, Y[ids.indexOf(id)]!.subarray(0, rows)])),
  } as TaskData;
}

function regressionGraph(tasks: readonly string[]): TaskGraph {
  const g = new TaskGraph({ input: { features: D } });
  for (const id of tasks) g.addTask(id, { kind: 'regression' });
  return g;
}

// ---------------------------------------------------------------------------------------------
// Runs (timing helpers in bench/timing.ts).

/** One run: mean wall-clock and CPU ms per epoch, and the last epoch's training loss. */
interface Run {
  ms: number;
  cpu: number;
  loss: number;
}

/**
 * Whether this version of `fit` scores every task's metrics after each epoch by default (one
 * inference pass over the validation or training data). model.fit computes no metrics unless
 * asked, so comparisons switch them off (`metrics: false`) unless said otherwise.
 */
const EPOCH_METRICS = 'metrics' in FIT_DEFAULTS;

async function ourFit(
  model: MtgraphModel,
  data: TaskData,
  epochs: number,
  defaults = false,
): Promise<Run> {
  const start = cpuNow();
  let end = start;
  const h = await fit(model, data, {
    epochs,
    batchSize: BATCH,
    seed: 1,
    optimizer: { name: 'adam', learningRate: LR },
    ...(EPOCH_METRICS && !defaults ? { metrics: false } : {}),
    onEpochEnd: () => {
      end = cpuNow();
    },
  } as FitOptions);
  // CPU from the call to the last epoch's end, less the data preparation before epoch 1 (CPU-bound).
  return {
    ms: mean(h.timing.epochMs),
    cpu: (end - start - h.timing.prepareMs) / h.epochs,
    loss: h.loss.at(-1)!,
  };
}

type Side = (epochs?: number) => Promise<Run>;

/** Runs each side once as warm-up (1 epoch), then `rounds` times interleaved: a, b, (c,) a, b, (c,) ... */
async function interleaveAll(rounds: number, sides: Side[]): Promise<Run[][]> {
  for (const side of sides) await side(1);
  const out = sides.map(() => [] as Run[]);
  for (let i = 0; i < rounds; i++) {
    for (const [k, side] of sides.entries()) out[k]!.push(await side());
  }
  return out;
}
async function interleave(rounds: number, a: Side, b: Side): Promise<{ a: Run[]; b: Run[] }> {
  const [ra, rb] = await interleaveAll(rounds, [a, b]);
  return { a: ra!, b: rb! };
}

interface Row {
  /** The comparison's number in the issue. */
  no: number;
  name: string;
  a: string;
  b: string;
  aMs: number[];
  bMs: number[];
  aCpu: number[];
  bCpu: number[];
  /** How the two medians are compared. */
  measure: 'ratio' | 'overhead' | 'speed-up';
  target?: number;
}

const rows: Row[] = [];
const times = (r: { a: Run[]; b: Run[] }) => ({
  aMs: r.a.map((x) => x.ms),
  bMs: r.b.map((x) => x.ms),
  aCpu: r.a.map((x) => x.cpu),
  bCpu: r.b.map((x) => x.cpu),
});
const notes: string[] = [];
const log = (s: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${s}\n`);

// ---------------------------------------------------------------------------------------------
// 1. compiled `hard` + fit vs the same network by hand + model.fit.

if (runs(1)) {
  const { rows: n, epochs, rounds } = SIZES.hand;
  log(`1. hard fit vs model.fit: ${n} rows, ${epochs} epochs x ${rounds} rounds`);
  const ours = compile(regressionGraph(ids), { strategy: 'hard', trunk: { units: TRUNK } });
  const input = tf.input({ shape: [D] });
  let h: tf.SymbolicTensor = input;
  for (const units of TRUNK)
    h = tf.layers.dense({ units, activation: 'relu' }).apply(h) as tf.SymbolicTensor;
  const hand = tf.model({
    inputs: input,
    outputs: ids.map(
      (id) => tf.layers.dense({ units: 1, name: `hand_${id}` }).apply(h) as tf.SymbolicTensor,
    ),
  });
  // Same initial weights: the trunk's layers in order, then each head's column of mtgraph's fused heads (one MultiHead).
  const oursWeights = ours.model.getWeights();
  const [fusedKernel, fusedBias] = oursWeights.slice(-2) as [tf.Tensor2D, tf.Tensor1D];
  const headWeights = ids.flatMap((_, t) => [
    tf.slice(fusedKernel, [0, t], [-1, 1]),
    tf.slice(fusedBias, [t], [1]),
  ]);
  hand.setWeights([...oursWeights.slice(0, -2), ...headWeights]);
  tf.dispose(headWeights);
  const resetOurs = initialWeights(ours.model);
  const resetHand = initialWeights(hand);
  const data = dataFor(n);
  const xT = tf.tensor2d(X.subarray(0, n * D), [n, D]);
  const yT = ids.map((_, t) => tf.tensor2d(Y[t]!.subarray(0, n), [n, 1]));
  const theirs = async (e = epochs): Promise<Run> => {
    resetHand();
    const optimizer = tf.train.adam(LR);
    hand.compile({ optimizer, loss: 'meanSquaredError' }); // a fresh optimizer per run, as fit makes one
    const wall: number[] = [];
    const cpu: number[] = [];
    let t0 = 0;
    let c0 = 0;
    const history = await hand.fit(xT, yT, {
      epochs: e,
      batchSize: BATCH,
      shuffle: true,
      verbose: 0,
      callbacks: {
        onEpochBegin: async () => {
          t0 = performance.now();
          c0 = cpuNow();
        },
        onEpochEnd: async () => {
          wall.push(performance.now() - t0);
          cpu.push(cpuNow() - c0);
        },
      },
    });
    optimizer.dispose();
    return { ms: mean(wall), cpu: mean(cpu), loss: history.history.loss!.at(-1) as number };
  };
  const sides: Side[] = [
    async (e = epochs) => {
      resetOurs();
      return ourFit(ours, data, e);
    },
    theirs,
  ];
  if (EPOCH_METRICS)
    sides.push(async (e = epochs) => {
      resetOurs();
      return ourFit(ours, data, e, true);
    });
  const [plain, byHand, withMetrics] = await interleaveAll(rounds, sides);
  const name = `hard (${TRUNK.join('-')}, ${TASKS} heads), ${n} rows`;
  rows.push({
    no: 1,
    name,
    a: EPOCH_METRICS ? 'mtgraph fit, metrics: false' : 'mtgraph fit',
    b: 'hand-written model + model.fit',
    ...times({ a: plain!, b: byHand! }),
    measure: 'ratio',
    target: 1.1,
  });
  if (withMetrics)
    rows.push({
      no: 1,
      name,
      a: 'mtgraph fit, defaults (per-epoch metrics on training rows)',
      b: 'hand-written model + model.fit',
      ...times({ a: withMetrics, b: byHand! }),
      measure: 'ratio',
      target: 1.1,
    });
  notes.push(
    `1: same start, same data and epochs: final training loss ${median(plain!.map((x) => x.loss)).toFixed(4)} (fit) vs ${median(byHand!.map((x) => x.loss)).toFixed(4)} (model.fit), medians over rounds (the row order of shuffling differs).`,
  );
  tf.dispose([xT, ...yT]);
  hand.dispose();
  ours.dispose();
}

// ---------------------------------------------------------------------------------------------
// 2. one 8-task hard model vs 8 single-task models of the same trunk.

if (runs(2)) {
  const { rows: n, epochs, rounds } = SIZES.single;
  log(`2. one 8-task hard vs 8 single-task models: ${n} rows, ${epochs} epochs x ${rounds} rounds`);
  const joint = compile(regressionGraph(ids), { strategy: 'hard', trunk: { units: TRUNK } });
  const singles = ids.map((id) =>
    compile(regressionGraph([id]), { strategy: 'hard', trunk: { units: TRUNK } }),
  );
  const resets = [joint, ...singles].map((m) => initialWeights(m.model));
  const data = dataFor(n);
  const own = ids.map((id) => dataFor(n, [id]));
  const r = await interleave(
    rounds,
    async (e = epochs) => {
      resets[0]!();
      return ourFit(joint, data, e);
    },
    async (e = epochs) => {
      const sum: Run = { ms: 0, cpu: 0, loss: 0 };
      for (let t = 0; t < TASKS; t++) {
        resets[t + 1]!();
        const run = await ourFit(singles[t]!, own[t]!, e);
        sum.ms += run.ms;
        sum.cpu += run.cpu;
        sum.loss += run.loss;
      }
      return sum;
    },
  );
  rows.push({
    no: 2,
    name: `${TASKS} tasks, trunk ${TRUNK.join('-')}, ${n} rows`,
    a: `one ${TASKS}-task hard model`,
    b: `${TASKS} single-task models (sum)`,
    ...times(r),
    measure: 'ratio',
    target: 0.3,
  });
  notes.push(
    `2: final training loss summed over tasks ${median(r.a.map((x) => x.loss)).toFixed(4)} (joint) vs ${median(r.b.map((x) => x.loss)).toFixed(4)} (8 models): both trained; after ${epochs} epochs this is no statement about quality.`,
  );
  joint.dispose();
  for (const m of singles) m.dispose();
}

// ---------------------------------------------------------------------------------------------
// 3. soft with its Laplacian penalties vs the same plan without couplings.

/** Two groups of four related tasks (weights 0.6-0.9 inside a group) and one conflicting pair across. */
function softGraph(): TaskGraph {
  const g = regressionGraph(ids);
  const groups = [ids.slice(0, 4), ids.slice(4)];
  let k = 0;
  for (const group of groups) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++)
        g.addAffinity(group[i]!, group[j]!, { weight: 0.6 + 0.3 * ((k++ % 4) / 3) });
    }
  }
  g.addAffinity(ids[0]!, ids[4]!, { weight: -0.5 });
  return g;
}

/** Every pair of tasks related (28 pairs): the most penalty terms 8 tasks can have. */
function cliqueGraph(): TaskGraph {
  const g = regressionGraph(ids);
  for (let i = 0; i < TASKS; i++)
    for (let j = i + 1; j < TASKS; j++) g.addAffinity(ids[i]!, ids[j]!, { weight: 0.7 });
  return g;
}

for (const [label, graph, size] of runs(3)
  ? ([
      ['2 groups of 4', softGraph(), SIZES.soft],
      ['all 28 pairs', cliqueGraph(), SIZES.clique],
    ] as const)
  : []) {
  const { rows: n, epochs, rounds } = size;
  const withPenalty = plan(graph, { strategy: 'soft', trunk: { units: TRUNK } });
  const pairs = withPenalty.couplings.reduce(
    (s, c) => s + (c.kind === 'laplacian' ? c.pairs.length : 0),
    0,
  );
  const without: Plan = { ...withPenalty, couplings: [] };
  log(
    `3. soft with vs without penalty (${label}, ${pairs} pair terms): ${n} rows, ${epochs} epochs x ${rounds} rounds`,
  );
  const a = build(withPenalty);
  const b = build(without);
  if (b.penalties.length !== 0 || a.penalties.length === 0)
    throw new Error('bench: expected penalties on the soft model only');
  const resetA = initialWeights(a.model);
  const resetB = initialWeights(b.model);
  const data = dataFor(n);
  const r = await interleave(
    rounds,
    async (e = epochs) => {
      resetA();
      return ourFit(a, data, e);
    },
    async (e = epochs) => {
      resetB();
      return ourFit(b, data, e);
    },
  );
  rows.push({
    no: 3,
    name: `soft (${TASKS} towers ${TRUNK.join('-')}), ${label}: ${withPenalty.couplings.length} couplings, ${pairs} pair terms, ${n} rows`,
    a: 'with Laplacian penalty',
    b: 'same plan, couplings removed',
    ...times(r),
    measure: 'overhead',
    target: 0.15,
  });
  a.dispose();
  b.dispose();
}

// ---------------------------------------------------------------------------------------------
// 4. wasm vs cpu on the same model and data.

if (runs(4)) {
  const { rows: n, epochs, rounds } = SIZES.backend;
  if (BACKEND === 'cpu') {
    notes.push('4: skipped: the chosen backend is cpu, nothing to compare.');
  } else {
    log(`4. ${BACKEND} vs cpu: ${n} rows, ${epochs} epochs x ${rounds} rounds`);
    const model = compile(regressionGraph(ids), { strategy: 'hard', trunk: { units: TRUNK } });
    const reset = initialWeights(model.model);
    const data = dataFor(n);
    const on =
      (backend: string) =>
      async (e = epochs) => {
        if (!(await tf.setBackend(backend)))
          throw new Error(`bench: backend ${backend} did not initialise`);
        reset();
        return ourFit(model, data, e);
      };
    const r = await interleave(rounds, on('cpu'), on(BACKEND));
    await tf.setBackend(BACKEND);
    rows.push({
      no: 4,
      name: `hard (${TRUNK.join('-')}, ${TASKS} heads), ${n} rows`,
      a: 'cpu',
      b: BACKEND,
      ...times(r),
      measure: 'speed-up',
    });
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Report.

const f1 = (x: number) => x.toFixed(1);
/** A/B as the row's measure: a ratio, an overhead in %, or a speed-up. */
const shown = (row: Row, a: number, b: number) =>
  row.measure === 'ratio'
    ? `${(a / b).toFixed(3)}x`
    : row.measure === 'overhead'
      ? `${((a / b - 1) * 100).toFixed(1)} %`
      : `${(a / b).toFixed(2)}x`;
/** The code measured: the commit, and whether the working tree differs from it. */
const revision = (() => {
  try {
    const head = execSync('git rev-parse --short HEAD', {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty =
      execSync('git status --porcelain -- src', {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
    return `${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown revision';
  }
})();
const out: string[] = [];
out.push(`mtgraph ${revision}, node ${process.version}`);
out.push(
  `backend ${BACKEND} (${report.tried.find((t) => t.name === BACKEND)?.reason ?? ''}), ${QUICK ? 'quick' : 'full'} mode${ONLY ? `, only ${[...ONLY].join(',')}` : ''}, batch ${BATCH}, ${D} features, adam ${LR}, ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
out.push('');
out.push(
  '| # | comparison | A | B | A ms/epoch wall [CPU] | B ms/epoch wall [CPU] | result (wall) | result (CPU time) | target | pass (CPU time) |',
);
out.push('|---|---|---|---|---:|---:|---:|---:|---:|---|');
rows.forEach((row) => {
  const a = median(row.aMs);
  const b = median(row.bMs);
  const ca = median(row.aCpu);
  const cb = median(row.bCpu);
  let target = '—';
  let pass = 'info';
  if (row.measure !== 'speed-up') {
    // Judged on the CPU-time medians; flagged when the wall-clock medians say otherwise.
    const meets = (x: number, y: number) =>
      (row.measure === 'ratio' ? x / y : x / y - 1) <= row.target!;
    target =
      row.measure === 'ratio'
        ? `<= ${row.target!.toFixed(2)}x`
        : `<= ${(row.target! * 100).toFixed(0)} %`;
    pass = meets(ca, cb) ? 'pass' : 'FAIL';
    if (meets(a, b) !== meets(ca, cb)) pass += ` (wall clock: ${meets(a, b) ? 'pass' : 'FAIL'})`;
  }
  const speed = row.measure === 'speed-up' ? ` (${row.b} faster)` : '';
  out.push(
    `| ${row.no} | ${row.name} | ${row.a} | ${row.b} | ${f1(a)} [${f1(ca)}] | ${f1(b)} [${f1(cb)}] | ${shown(row, a, b)}${speed} | ${shown(row, ca, cb)} | ${target} | ${pass} |`,
  );
});
out.push('');
out.push('Per-round ms per epoch, A / B in run order, wall-clock [CPU time]:');
out.push('');
rows.forEach((row) => {
  out.push(
    `- ${row.no} ${row.name}: ${row.aMs.map((a, k) => `${f1(a)}/${f1(row.bMs[k]!)} [${f1(row.aCpu[k]!)}/${f1(row.bCpu[k]!)}]`).join(', ')}`,
  );
});
out.push('');
for (const n of notes) out.push(`- ${n}`);
process.stdout.write(out.join('\n') + '\n');
