/**
 * mtgraph against PyTorch on the same CPU (issue 18), side by side in one run: for each network,
 * PyTorch (bench/torch/epochs.py, its own process) and mtgraph (this process) take turns, each
 * turn one warm-up epoch and `--epochs` timed ones; CPU time per epoch (time.process_time /
 * process.cpuUsage, one thread each), the median over every timed epoch of every turn.
 *
 *   npx tsx bench/vs-torch.ts [--epochs 6] [--alternations 2] [--only seed,dense,mmoe,school]
 *                             [--kernels] [--rows 8192] [--wall]
 *
 * PyTorch runs as `/usr/bin/python3` (Debian's python3-torch; MTGRAPH_TORCH_PYTHON overrides)
 * with OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 and OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset.
 * Debian's torch multiplies through whatever libblas.so.3 the system points to; when that is the
 * reference BLAS (about 4.6 GFLOP/s here, 7x slower than OpenBLAS), set MTGRAPH_TORCH_BLAS to a
 * directory holding OpenBLAS's libblas.so.3 (e.g. libopenblas0-pthread's files extracted with
 * `apt-get download` + `dpkg-deb -x`): it goes first on LD_LIBRARY_PATH. The BLAS torch loaded
 * is printed with the table.
 *
 * Networks (batch, rows): seed = the Keras example's 10 -> 32 relu, sigmoid + 3-class softmax
 * heads (32, 8,192); dense = 64 -> 256 -> 128 relu, 8 regression heads (256, 8,192); mmoe = 8
 * experts 64 -> 256 -> 128, 8 softmax gates, 8 heads (256, 8,192); school = soft on School
 * (139 towers [16] + the centre task, strength 3, batch 1024, adam 1e-2: the README's settings,
 * split 0's training part). Adam 1e-3 elsewhere. `--kernels` also counts the kernels tfjs runs
 * per training step (tf.profile over one epoch, divided by its steps). `--wall` measures wall-clock
 * time per epoch on both sides instead (PyTorch still one thread; with MTGRAPH_FAST_STEP_THREADS=2
 * mtgraph's fast step uses a second thread). `--threads 1,2` (with `--wall`): for each count, PyTorch
 * with that many threads (OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = n) and mtgraph with that many
 * fast-step threads (configureFastStep), all in turns within each alternation, one table row per
 * network and count, with each row's ratio to one-thread PyTorch as well.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  TaskGraph,
  compile,
  fit,
  initBackend,
  seededRandom,
  type MtgraphModel,
  type PlanOptions,
  type TaskData,
} from '../src/index.js';
import { configureFastStep } from '../src/train/fast-step.js';
import { cpuNow, median } from './timing.js';
import { column, featureMatrix, readTable, rng, shuffled, DATA_DIR } from './quality/load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const EPOCHS = Number(arg('epochs', '6'));
const ALTERNATIONS = Number(arg('alternations', '2'));
const ROWS = Number(arg('rows', '8192'));
const ONLY = arg('only', 'seed,dense,mmoe,school').split(',');
const KERNELS = process.argv.includes('--kernels');
const WALL = process.argv.includes('--wall');
/** Thread counts compared side by side (`--threads 1,2`); empty: one thread, the old table. */
const THREADS = arg('threads', '')
  .split(',')
  .filter(Boolean)
  .map((t) => Number(t) as 1 | 2);
if (THREADS.some((t) => t !== 1 && t !== 2)) throw new Error('--threads takes 1 and/or 2');
if (THREADS.length > 0 && !WALL) throw new Error('--threads compares wall-clock time: add --wall');
/** The clock epochs are timed with, ms. */
const clockNow = () => (WALL ? performance.now() : cpuNow());
const PYTHON = process.env.MTGRAPH_TORCH_PYTHON ?? '/usr/bin/python3';

/** The environment PyTorch runs in: one thread (or `threads`), OpenBLAS's core-type overrides unset. */
function torchEnv(threads = 1): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const blas = process.env.MTGRAPH_TORCH_BLAS;
  if (blas) env.LD_LIBRARY_PATH = [blas, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

interface TorchRun {
  ms: number[];
  threads: number;
  blas: string;
  rows: number;
}
function torchTurn(net: string, threads = 1): TorchRun {
  const r = spawnSync(
    PYTHON,
    [
      path.join(here, 'torch', 'epochs.py'),
      '--net',
      net,
      '--epochs',
      String(EPOCHS),
      '--rows',
      String(ROWS),
      '--data',
      path.join(DATA_DIR, 'school', 'school.csv'),
      '--clock',
      WALL ? 'wall' : 'cpu',
    ],
    { env: torchEnv(threads), encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`PyTorch (${net}) failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRun;
}

interface Side {
  model: MtgraphModel;
  data: TaskData;
  batch: number;
  lr: number;
  rows: number;
}

function synthetic(
  features: number,
  graph: TaskGraph,
  planOptions: PlanOptions,
  batch: number,
): Side {
  const random = seededRandom(7);
  const X = new Float32Array(ROWS * features).map(() => random() * 2 - 1);
  const ids = graph.nodes();
  const y = Object.fromEntries(
    ids.map((id, h) => [
      id,
      Float32Array.from({ length: ROWS }, (_, r) =>
        Math.tanh(X[r * features + h]! + X[r * features + h + 8]!),
      ),
    ]),
  );
  return {
    model: compile(graph, { ...planOptions, seed: 1 }),
    data: { x: { values: X, shape: [ROWS, features] }, y },
    batch,
    lr: 1e-3,
    rows: ROWS,
  };
}

const NETS: Record<string, { label: string; make: () => Side }> = {
  seed: {
    label: "the seed's Keras model: 10 → 32 relu, sigmoid head + 3-class softmax head, batch 32",
    make: () => {
      const g = new TaskGraph({ input: { features: 10 } });
      g.addTask('binary_out', { kind: 'binary' });
      g.addTask('class_out', { kind: 'multiclass', classes: 3 });
      const random = seededRandom(0);
      const x = new Float32Array(ROWS * 10).map(() => random());
      return {
        model: compile(g, { strategy: 'hard', trunk: { units: [32] }, seed: 1 }),
        data: {
          x: { values: x, shape: [ROWS, 10] },
          y: {
            binary_out: Float32Array.from({ length: ROWS }, () => (random() < 0.5 ? 0 : 1)),
            class_out: Float32Array.from({ length: ROWS }, () => Math.floor(random() * 3)),
          },
        },
        batch: 32,
        lr: 1e-3,
        rows: ROWS,
      };
    },
  },
  dense: {
    label: '64 → 256 → 128 relu, 8 regression heads, batch 256',
    make: () => {
      const g = new TaskGraph({ input: { features: 64 } });
      for (let h = 0; h < 8; h++) g.addTask(`t${h}`, { kind: 'regression' });
      return synthetic(64, g, { strategy: 'hard', trunk: { units: [256, 128] } }, 256);
    },
  },
  mmoe: {
    label: 'MMoE: 8 experts 64 → 256 → 128, 8 softmax gates, 8 heads, batch 256',
    make: () => {
      const g = new TaskGraph({ input: { features: 64 } });
      for (let h = 0; h < 8; h++) g.addTask(`t${h}`, { kind: 'regression' });
      return synthetic(
        64,
        g,
        { strategy: 'mmoe', trunk: { units: [256, 128] }, mmoe: { experts: 8 } },
        256,
      );
    },
  },
  school: {
    label:
      'School soft: 139 towers [16] + centre task, strength 3, batch 1024, adam 1e-2 (s per split = 32 epochs)',
    make: () => {
      const table = readTable(path.join(DATA_DIR, 'school', 'school.csv'));
      const features = table.header.filter((h) => h !== 'task' && h !== 'exam_score');
      const taskOf = column(table, 'task');
      const score = column(table, 'exam_score');
      const T = Math.max(...taskOf) + 1;
      const bySchool: number[][] = Array.from({ length: T }, () => []);
      for (let r = 0; r < table.rows; r++) bySchool[taskOf[r]!]!.push(r);
      // Split 0's training part, as bench/quality/school.ts makes it (75 % of each school).
      const random = rng(0);
      const train: number[] = [];
      for (const rows of bySchool)
        train.push(...shuffled(rows, random).slice(0, Math.round(0.75 * rows.length)));
      train.sort((a, b) => a - b);
      const fm = featureMatrix(
        features.map((name) => ({ name, values: column(table, name) })),
        train,
      );
      let mean = 0;
      for (const r of train) mean += score[r]!;
      mean /= train.length;
      let v = 0;
      for (const r of train) v += (score[r]! - mean) ** 2;
      const std = Math.sqrt(v / (train.length - 1));
      const ids = Array.from({ length: T }, (_, t) => `school_${String(t).padStart(3, '0')}`);
      const g = new TaskGraph({ input: { features: fm.names.length } });
      ids.forEach((id, t) =>
        g.addTask(id, { kind: 'regression', weight: (bySchool[t]!.length * T) / table.rows }),
      );
      g.addTask('mean', { kind: 'regression' });
      for (const id of ids) g.addAffinity('mean', id, { weight: 1 });
      const y: Record<string, Float32Array> = {};
      for (const id of ids) y[id] = new Float32Array(train.length).fill(Number.NaN);
      train.forEach((r, i) => {
        y[ids[taskOf[r]!]!]![i] = (score[r]! - mean) / std;
      });
      return {
        model: compile(g, {
          strategy: 'soft',
          trunk: { units: [16] },
          soft: { strength: 3 },
          seed: 0,
        }),
        data: { x: fm.take(train), y, mask: { mean: new Float32Array(train.length) } },
        batch: 1024,
        lr: 1e-2,
        rows: train.length,
      };
    },
  },
};

/** One mtgraph turn: a warm-up epoch and EPOCHS timed ones in one fit; CPU ms of each. */
async function mtgraphTurn(side: Side): Promise<number[]> {
  const marks: number[] = [];
  await fit(side.model, side.data, {
    epochs: EPOCHS + 1,
    batchSize: side.batch,
    seed: 1,
    optimizer: { name: 'adam', learningRate: side.lr },
    metrics: false,
    onEpochEnd: () => {
      marks.push(clockNow());
    },
  });
  return marks.slice(1).map((m, i) => m - marks[i]!);
}

/** Kernels tfjs runs per training step: one profiled epoch, divided by its steps. */
async function kernelsPerStep(side: Side): Promise<number> {
  const steps = Math.ceil(side.rows / side.batch);
  const info = await tf.profile(async () => {
    await fit(side.model, side.data, {
      epochs: 1,
      batchSize: side.batch,
      seed: 1,
      optimizer: { name: 'adam', learningRate: side.lr },
      metrics: false,
    });
  });
  return info.kernels.length / steps;
}

const report = await initBackend();
if (report.backend !== 'wasm')
  console.log(
    `WARNING: the backend is ${report.backend}, not wasm (${report.tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}); the figures are not comparable.`,
  );
const blasProbe = spawnSync(
  PYTHON,
  [
    '-c',
    'import torch;torch.ones(64,64)@torch.ones(64,64);print(";".join(sorted({l.split()[-1].rsplit("/",1)[-1] for l in open("/proc/self/maps") if "blas" in l})))',
  ],
  { env: torchEnv(), encoding: 'utf8' },
);
const hasTorch = blasProbe.status === 0;
if (!hasTorch) console.log(`PyTorch does not import with ${PYTHON}: mtgraph's side only.`);
const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(
  `backend ${report.backend} (${report.tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}); node ${process.version}; torch BLAS: ${hasTorch ? blasProbe.stdout.trim() : '—'}; load average before: ${loadBefore}`,
);

/**
 * `--threads`: per network, every alternation runs PyTorch and mtgraph with each thread count in
 * turn (PyTorch 1, mtgraph 1, PyTorch 2, mtgraph 2, ...); wall-clock ms per epoch.
 */
async function threadsTable(): Promise<void> {
  const out: string[] = [];
  for (const net of ONLY) {
    const spec = NETS[net];
    if (!spec) throw new Error(`unknown network ${net} (seed, dense, mmoe, school)`);
    const side = spec.make();
    const ours = new Map<number, number[]>(THREADS.map((t) => [t, []]));
    const theirs = new Map<number, number[]>(THREADS.map((t) => [t, []]));
    const loads: string[] = [];
    try {
      for (let a = 0; a < ALTERNATIONS; a++) {
        loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!);
        for (const threads of THREADS) {
          const t = hasTorch ? torchTurn(net, threads).ms : [];
          theirs.get(threads)!.push(...t);
          configureFastStep('on', threads);
          const m = await mtgraphTurn(side).finally(() => configureFastStep(undefined));
          ours.get(threads)!.push(...m);
          console.error(
            `${net} alternation ${a + 1}, ${threads} thread(s): torch ${t.map((v) => v.toFixed(0)).join(' ')} | mtgraph ${m.map((v) => v.toFixed(0)).join(' ')}`,
          );
        }
      }
    } finally {
      side.model.dispose();
    }
    const torchOne = hasTorch && theirs.has(1) ? median(theirs.get(1)!) : Number.NaN;
    for (const threads of THREADS) {
      const tm = hasTorch ? median(theirs.get(threads)!) : Number.NaN;
      const mm = median(ours.get(threads)!);
      const ratio = (v: number) => (Number.isFinite(v) ? `${(v / mm).toFixed(2)}x` : '—');
      out.push(
        `| ${spec.label} | ${threads} | ${Number.isFinite(tm) ? tm.toFixed(0) : '—'} | ${mm.toFixed(0)} | ${ratio(tm)} | ${ratio(torchOne)} | ${loads.join(', ')} |`,
      );
    }
  }
  console.log(
    `\nwall-clock ms per epoch, median of ${EPOCHS} epochs x ${ALTERNATIONS} alternations (per alternation: ${THREADS.map((t) => `PyTorch ${t}, mtgraph ${t}`).join(', ')}); load average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
  );
  console.log(
    '| network | threads (each side) | PyTorch ms / epoch | mtgraph ms / epoch | mtgraph speed / PyTorch same threads | mtgraph speed / PyTorch one thread | load (1 min) per alternation |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const r of out) console.log(r);
}
if (THREADS.length > 0) {
  await threadsTable();
  process.exit(0);
}

const rows: string[] = [];
for (const net of ONLY) {
  const spec = NETS[net];
  if (!spec) throw new Error(`unknown network ${net} (seed, dense, mmoe, school)`);
  if (net === 'school' && !existsSync(path.join(DATA_DIR, 'school', 'school.csv'))) {
    console.log('school: data set absent, skipped');
    continue;
  }
  const side = spec.make();
  const ours: number[] = [];
  const theirs: number[] = [];
  const ratios: string[] = [];
  const loads: string[] = [];
  try {
    let kernels = '';
    if (KERNELS) kernels = (await kernelsPerStep(side)).toFixed(0);
    for (let a = 0; a < ALTERNATIONS; a++) {
      loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!);
      let t: number[] = [];
      if (hasTorch) {
        t = torchTurn(net).ms;
        theirs.push(...t);
      }
      const m = await mtgraphTurn(side);
      ours.push(...m);
      if (hasTorch) ratios.push((median(t) / median(m)).toFixed(2));
      console.error(
        `${net} alternation ${a + 1}: torch ${t.map((v) => v.toFixed(0)).join(' ')} | mtgraph ${m.map((v) => v.toFixed(0)).join(' ')}`,
      );
    }
    const tm = hasTorch ? median(theirs) : Number.NaN;
    const mm = median(ours);
    const perSplit = net === 'school' ? ` (${((32 * mm) / 1000).toFixed(1)} s / split)` : '';
    rows.push(
      `| ${spec.label} | ${hasTorch ? tm.toFixed(0) : '—'} | ${mm.toFixed(0)}${perSplit} | ${hasTorch ? `${(tm / mm).toFixed(2)}x` : '—'} | ${ratios.join(', ')} | ${loads.join(', ')} |${KERNELS ? ` ${kernels} |` : ''}`,
    );
  } finally {
    side.model.dispose();
  }
}
console.log(
  `\n${WALL ? `wall-clock ms per epoch (PyTorch one thread; mtgraph fast-step threads: ${process.env.MTGRAPH_FAST_STEP_THREADS ?? '1'})` : 'CPU ms per epoch, one thread each'}, median of ${EPOCHS} epochs x ${ALTERNATIONS} alternations (PyTorch, mtgraph, PyTorch, ...)\n`,
);
console.log(
  `| network | PyTorch ms / epoch | mtgraph ms / epoch | mtgraph speed / PyTorch's | per alternation | load (1 min) |${KERNELS ? ' tfjs kernels / step |' : ''}`,
);
console.log(`|---|---:|---:|---:|---|---|${KERNELS ? '---:|' : ''}`);
for (const r of rows) console.log(r);
