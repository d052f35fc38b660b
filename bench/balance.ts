/**
 * Cost of loss balancing and of measuring task affinity (issue 4, "bench/balance.ts"):
 *
 *   1. epoch time of every registered balancing method (and mgda's upper-bound variant) relative
 *      to 'static', on one 4-task `hard` model, same data, same initial weights, same epochs;
 *   2. the cost of `measureAffinity` relative to a plain training step, for 'lookahead',
 *      'gradient-cosine' and 'label-correlation', on generated families of 9 and 24 tasks, on the
 *      model measureAffinity builds by default (a `hard` plan, default trunk [64, 32], batch 32).
 *
 *   npx tsx bench/balance.ts [--quick]
 *
 * All sides of a table run interleaved (a, b, c, ..., a, b, c, ...) after one warm-up run each,
 * so a slow spell of the shared machine hits every side; figures are medians over rounds, of
 * wall-clock time and of this process's CPU time (`process.cpuUsage`; tfjs runs on one thread).
 *
 * Per-step cost of measuring. A measureAffinity call trains `steps` joint steps; the first
 * `warmup` are plain, the rest are measured (per-task gradients and the probe, then the joint
 * step). Three calls per round isolate the two kinds of step, the fixed cost (building the
 * model, preparing the data) cancelling out:
 *   A = steps 50, warmup 10 (40 measured)   B = steps 50, warmup 49 (1 measured)   C = steps 10, warmup 9 (1 measured)
 *   plain step of the measuring loop u = (B - C) / 40;   measured step = u + (A - B) / 39.
 * A plain training step is `fit`'s: the mean epoch time / steps per epoch, same model, batch 32.
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
  measureAffinity,
  generateTaskFamily,
  balanceNames,
  getBalance,
  type FitOptions,
  type MtgraphModel,
  type TaskData,
  type TaskFamily,
} from '../src/index.js';
import { median, mean, cpuNow, initialWeights } from './timing.js';

const QUICK = process.argv.includes('--quick');
const started = performance.now();
const report = await initBackend();
const BACKEND = report.backend;
const log = (s: string) =>
  process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${s}\n`);

// ---------------------------------------------------------------------------------------------
// Runs (timing helpers in bench/timing.ts).

/** One run: wall-clock and CPU ms (per epoch for fit runs, per call for measureAffinity), and a loss to check (fit: the unweighted mean task loss of the last epoch). */
interface Run {
  ms: number;
  cpu: number;
  loss: number;
}
type Side = (warm: boolean) => Promise<Run>;

/** Runs each side once as warm-up, then `rounds` times interleaved. */
async function interleaveAll(rounds: number, sides: Side[]): Promise<Run[][]> {
  for (const side of sides) await side(true);
  const out = sides.map(() => [] as Run[]);
  for (let i = 0; i < rounds; i++) {
    for (const [k, side] of sides.entries()) out[k]!.push(await side(false));
  }
  return out;
}

/**
 * fit with the given options: mean wall-clock and CPU ms per epoch (data preparation excluded),
 * and the last epoch's training loss averaged over the tasks without weights (History.loss is the
 * weighted objective, whose scale differs between balancing methods).
 */
async function timedFit(model: MtgraphModel, data: TaskData, options: FitOptions): Promise<Run> {
  const start = cpuNow();
  let end = start;
  const h = await fit(model, data, {
    ...options,
    metrics: false,
    onEpochEnd: () => {
      end = cpuNow();
    },
  });
  const last = Object.values(h.taskLoss).map((l) => l.at(-1)!);
  return {
    ms: mean(h.timing.epochMs),
    cpu: (end - start - h.timing.prepareMs) / h.epochs,
    loss: mean(last),
  };
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const out: string[] = [];

// ---------------------------------------------------------------------------------------------
// 1. Balancing methods relative to 'static'.

const D = 64;
const TASKS = 4;
const TRUNK = [256, 128];
const BATCH = 64;
const LR = 1e-3;
const BAL = QUICK ? { rows: 512, epochs: 2, rounds: 3 } : { rows: 2048, epochs: 2, rounds: 5 };

{
  const { rows: n, epochs, rounds } = BAL;
  let state = 11;
  const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5;
  const X = new Float32Array(n * D).map(random);
  const shared = Array.from({ length: D }, random);
  const ids = Array.from({ length: TASKS }, (_, t) => `t${t}`);
  // Tasks that partly conflict: t0, t1 follow the shared projection, t2, t3 its negation, each plus its own.
  const Y = ids.map((_, t) => {
    const own = Array.from({ length: D }, random);
    const sign = t < TASKS / 2 ? 1 : -1;
    const y = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      let s = 0;
      let o = 0;
      for (let j = 0; j < D; j++) {
        s += shared[j]! * X[r * D + j]!;
        o += own[j]! * X[r * D + j]!;
      }
      y[r] = sign * Math.tanh(2 * s) + 0.5 * Math.tanh(2 * o) + 0.1 * random();
    }
    return y;
  });
  const data = {
    x: { values: X, shape: [n, D] },
    y: Object.fromEntries(ids.map((id, t) => [id, Y[t]!])),
  } as TaskData;
  const graph = new TaskGraph({ input: { features: D } });
  for (const id of ids) graph.addTask(id, { kind: 'regression' });
  const model = compile(graph, { strategy: 'hard', trunk: { units: TRUNK }, seed: 1 });
  const reset = initialWeights(model.model);
  const variants: Array<{
    label: string;
    balance: string;
    balanceOptions?: Record<string, unknown>;
  }> = [];
  for (const name of balanceNames()) {
    variants.push({ label: name, balance: name });
    if (name === 'mgda')
      variants.push({
        label: 'mgda (upperBound: true)',
        balance: 'mgda',
        balanceOptions: { upperBound: true },
      });
  }
  log(
    `1. ${variants.length} balancing variants on hard ${TRUNK.join('-')}, ${TASKS} tasks: ${n} rows, batch ${BATCH}, ${epochs} epochs x ${rounds} rounds`,
  );
  const sides = variants.map(
    (v): Side =>
      async (warm) => {
        reset();
        return timedFit(model, data, {
          epochs: warm ? 1 : epochs,
          batchSize: BATCH,
          seed: 1,
          optimizer: { name: 'adam', learningRate: LR },
          balance: v.balance,
          ...(v.balanceOptions ? { balanceOptions: v.balanceOptions } : {}),
        });
      },
  );
  const runs = await interleaveAll(rounds, sides);
  const staticMs = median(runs[0]!.map((r) => r.ms));
  const staticCpu = median(runs[0]!.map((r) => r.cpu));
  const steps = Math.ceil(n / BATCH);
  out.push(`### 1. Balancing methods: epoch time relative to 'static'`);
  out.push('');
  out.push(
    `hard (${TRUNK.join('-')}, ${TASKS} one-unit regression heads), ${D} features, ${n} rows, batch ${BATCH} (${steps} steps per epoch), adam ${LR}, ${epochs} epochs per run, ${rounds} rounds, metrics off.`,
  );
  out.push('');
  out.push(
    '| method | works from | ms/epoch wall [CPU] | ms/step wall | vs static (wall) | vs static (CPU) | mean task loss, last epoch |',
  );
  out.push('|---|---|---:|---:|---:|---:|---:|');
  variants.forEach((v, k) => {
    const ms = median(runs[k]!.map((r) => r.ms));
    const cpu = median(runs[k]!.map((r) => r.cpu));
    const needs = v.balanceOptions?.upperBound
      ? 'representation-gradients'
      : getBalance(v.balance)!.needs;
    out.push(
      `| ${v.label} | ${needs} | ${f1(ms)} [${f1(cpu)}] | ${f2(ms / steps)} | ${f2(ms / staticMs)}x | ${f2(cpu / staticCpu)}x | ${median(runs[k]!.map((r) => r.loss)).toFixed(4)} |`,
    );
  });
  out.push('');
  out.push(
    `Per-round ms per epoch, wall [CPU]: ${variants.map((v, k) => `${v.label} ${runs[k]!.map((r) => `${f1(r.ms)} [${f1(r.cpu)}]`).join(', ')}`).join('; ')}.`,
  );
  out.push('');
  model.dispose();
}

// ---------------------------------------------------------------------------------------------
// 2. measureAffinity relative to a training step.

const AFF = QUICK
  ? {
      rows: 256,
      rounds: 2,
      sizes: [
        [3, 3],
        [4, 6],
      ] as const,
    }
  : {
      rows: 512,
      rounds: 5,
      sizes: [
        [3, 3],
        [4, 6],
      ] as const,
    };
const AFF_BATCH = 32;

interface CostRow {
  tasks: number;
  method: string;
  /** Per round: ms per plain fit step, and the derived figures. */
  fitStep: number[];
  fitStepCpu: number[];
  loopStep: number[];
  loopStepCpu: number[];
  measuredStep: number[];
  measuredStepCpu: number[];
  call: number[];
  callCpu: number[];
}

async function timedMeasure(family: TaskFamily, options: Record<string, unknown>): Promise<Run> {
  const c0 = cpuNow();
  const t0 = performance.now();
  const r = await measureAffinity(family.graph, family.train, { seed: 1, ...options });
  return { ms: performance.now() - t0, cpu: cpuNow() - c0, loss: r.steps };
}

const costRows: CostRow[] = [];
for (const [groups, perGroup] of AFF.sizes) {
  const T = groups * perGroup;
  const { rows: n, rounds } = AFF;
  const family = generateTaskFamily({
    groups,
    tasksPerGroup: perGroup,
    trainRows: n,
    missing: 0.2,
    seed: 1,
  });
  // fit's step on the model measureAffinity builds by default (a hard plan with the default trunk).
  const model = build(plan(family.graph, { strategy: 'hard', seed: 1 }));
  const reset = initialWeights(model.model);
  const stepsPerEpoch = Math.ceil(n / AFF_BATCH);
  const fitSide: Side = async (warm) => {
    reset();
    return timedFit(model, family.train, {
      epochs: warm ? 1 : 2,
      batchSize: AFF_BATCH,
      seed: 1,
      optimizer: { name: 'adam', learningRate: 0.01 },
    });
  };
  const sides: Side[] = [fitSide];
  const methods = ['lookahead', 'gradient-cosine'];
  for (const method of methods) {
    sides.push(async () => timedMeasure(family, { method, steps: 50, warmup: 10 }));
    sides.push(async () => timedMeasure(family, { method, steps: 50, warmup: 49 }));
    sides.push(async () => timedMeasure(family, { method, steps: 10, warmup: 9 }));
  }
  sides.push(async () => timedMeasure(family, { method: 'label-correlation' }));
  log(`2. measureAffinity on ${T} tasks: ${n} rows, batch ${AFF_BATCH}, ${rounds} rounds`);
  const runs = await interleaveAll(rounds, sides);
  const fitStep = runs[0]!.map((r) => r.ms / stepsPerEpoch);
  const fitStepCpu = runs[0]!.map((r) => r.cpu / stepsPerEpoch);
  methods.forEach((method, m) => {
    const [A, B, C] = [runs[1 + 3 * m]!, runs[2 + 3 * m]!, runs[3 + 3 * m]!];
    const per = (key: 'ms' | 'cpu') => {
      const loop = A.map((_, i) => (B[i]![key] - C[i]![key]) / 40);
      const measured = A.map((_, i) => loop[i]! + (A[i]![key] - B[i]![key]) / 39);
      return { loop, measured, call: A.map((r) => r[key]) };
    };
    const wall = per('ms');
    const cpu = per('cpu');
    costRows.push({
      tasks: T,
      method,
      fitStep,
      fitStepCpu,
      loopStep: wall.loop,
      loopStepCpu: cpu.loop,
      measuredStep: wall.measured,
      measuredStepCpu: cpu.measured,
      call: wall.call,
      callCpu: cpu.call,
    });
  });
  const label = runs.at(-1)!;
  costRows.push({
    tasks: T,
    method: 'label-correlation',
    fitStep,
    fitStepCpu,
    loopStep: [],
    loopStepCpu: [],
    measuredStep: [],
    measuredStepCpu: [],
    call: label.map((r) => r.ms),
    callCpu: label.map((r) => r.cpu),
  });
  model.dispose();
}

out.push(`### 2. measureAffinity relative to a training step`);
out.push('');
out.push(
  `Generated families (12 features, ${AFF.rows} rows, 20 % of labels missing), the model measureAffinity builds by default (hard, trunk 64-32), batch ${AFF_BATCH}, ${AFF.rounds} rounds. "fit step": fit's mean epoch time / ${Math.ceil(AFF.rows / AFF_BATCH)} steps. "loop step" and "measured step" are derived from three calls per round (see the header of bench/balance.ts); "whole call" is one call with the default 50 steps (40 measured), against 50 fit steps.`,
);
out.push('');
out.push(
  '| tasks | method | fit step ms wall [CPU] | loop step ms | measured step ms wall [CPU] | measured / fit step (wall) | (CPU) | whole call ms wall [CPU] | whole call / 50 fit steps (wall) | (CPU) |',
);
out.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of costRows) {
  const fs = median(r.fitStep);
  const fsc = median(r.fitStepCpu);
  const call = median(r.call);
  const callCpu = median(r.callCpu);
  if (r.method === 'label-correlation') {
    out.push(
      `| ${r.tasks} | ${r.method} (no training) | ${f2(fs)} [${f2(fsc)}] | — | — | — | — | ${f1(call)} [${f1(callCpu)}] | ${f2(call / (50 * fs))}x (= ${f1(call / fs)} fit steps) | ${f2(callCpu / (50 * fsc))}x |`,
    );
    continue;
  }
  // Ratios per round, then the median (both sides of a ratio come from the same round).
  const ratio = median(r.measuredStep.map((v, i) => v / r.fitStep[i]!));
  const ratioCpu = median(r.measuredStepCpu.map((v, i) => v / r.fitStepCpu[i]!));
  const whole = median(r.call.map((v, i) => v / (50 * r.fitStep[i]!)));
  const wholeCpu = median(r.callCpu.map((v, i) => v / (50 * r.fitStepCpu[i]!)));
  out.push(
    `| ${r.tasks} | ${r.method} | ${f2(fs)} [${f2(fsc)}] | ${f2(median(r.loopStep))} | ${f2(median(r.measuredStep))} [${f2(median(r.measuredStepCpu))}] | ${f1(ratio)}x | ${f1(ratioCpu)}x | ${f1(call)} [${f1(callCpu)}] | ${f1(whole)}x | ${f1(wholeCpu)}x |`,
  );
}
out.push('');

// ---------------------------------------------------------------------------------------------

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
const head = [
  `mtgraph ${revision}, node ${process.version}`,
  `backend ${BACKEND} (${report.tried.find((t) => t.name === BACKEND)?.reason ?? ''}), ${QUICK ? 'quick' : 'full'} mode, ${((performance.now() - started) / 1000).toFixed(0)} s`,
  '',
];
process.stdout.write([...head, ...out].join('\n') + '\n');
