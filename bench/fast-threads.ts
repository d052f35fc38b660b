/**
 * What a second thread adds to the fast step (issue 18), measured in CPU time per thread, which a
 * loaded machine disturbs far less than wall-clock time: the dense network of bench/vs-torch.ts
 * (64 -> 256 -> 128 relu, 8 regression heads, batch 256, 8,192 rows, Adam 1e-3) trained with one
 * thread and with two (MTGRAPH_FAST_STEP_THREADS), alternating; per epoch, the CPU time of the
 * whole process and of its main thread (Linux: /proc/self/task/<pid>/stat), and the wall time.
 * With two threads the main thread's CPU time per epoch is the step's critical path on a machine
 * with a free core for the worker (the worker's half runs alongside it).
 *
 *   npx tsx bench/fast-threads.ts [--epochs 6] [--alternations 2]
 */
import { readFileSync } from 'node:fs';
import { TaskGraph, compile, fit, initBackend, seededRandom } from '../src/index.js';
import { configureFastStep } from '../src/train/fast-step.js';
import { cpuNow, median } from './timing.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const EPOCHS = Number(arg('epochs', '6'));
const ALTERNATIONS = Number(arg('alternations', '2'));
const ROWS = 8192;
const TICK_MS = 1000 / 100; // USER_HZ

/** CPU ms of this process's main thread (utime + stime of its task). */
function mainThreadMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const report = await initBackend();
const features = 64;
const g = new TaskGraph({ input: { features } });
for (let h = 0; h < 8; h++) g.addTask(`t${h}`, { kind: 'regression' });
const random = seededRandom(7);
const X = new Float32Array(ROWS * features).map(() => random() * 2 - 1);
const y = Object.fromEntries(
  g
    .nodes()
    .map((id, h) => [
      id,
      Float32Array.from({ length: ROWS }, (_, r) =>
        Math.tanh(X[r * features + h]! + X[r * features + h + 8]!),
      ),
    ]),
);

interface Marks {
  process: number[];
  main: number[];
  wall: number[];
}
async function turn(threads: 1 | 2): Promise<Marks> {
  configureFastStep('on', threads);
  const model = compile(g, { strategy: 'hard', trunk: { units: [256, 128] }, seed: 1 });
  const at: Array<[number, number, number]> = [];
  try {
    await fit(
      model,
      { x: { values: X, shape: [ROWS, features] }, y },
      {
        epochs: EPOCHS + 1,
        batchSize: 256,
        seed: 1,
        optimizer: { name: 'adam', learningRate: 1e-3 },
        metrics: false,
        onEpochEnd: () => {
          at.push([cpuNow(), mainThreadMs(), performance.now()]);
        },
      },
    );
  } finally {
    model.dispose();
    configureFastStep(undefined);
  }
  const d = (k: 0 | 1 | 2) => at.slice(1).map((m, i) => m[k] - at[i]![k]);
  return { process: d(0), main: d(1), wall: d(2) };
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
console.log(`backend ${report.backend}; load before: ${load()}`);
const all: Record<1 | 2, Marks> = {
  1: { process: [], main: [], wall: [] },
  2: { process: [], main: [], wall: [] },
};
for (let a = 0; a < ALTERNATIONS; a++) {
  for (const threads of [1, 2] as const) {
    const m = await turn(threads);
    all[threads].process.push(...m.process);
    all[threads].main.push(...m.main);
    all[threads].wall.push(...m.wall);
    console.error(
      `${threads} thread(s), alternation ${a + 1} (load ${load()}): process CPU ${m.process.map((v) => v.toFixed(0)).join(' ')} | main thread CPU ${m.main.map((v) => v.toFixed(0)).join(' ')} | wall ${m.wall.map((v) => v.toFixed(0)).join(' ')}`,
    );
  }
}
console.log(
  `\nms per epoch, median of ${EPOCHS} epochs x ${ALTERNATIONS} alternations (main thread CPU: 10 ms ticks)\n`,
);
console.log('| threads | process CPU | main thread CPU | wall clock |');
console.log('|---:|---:|---:|---:|');
for (const t of [1, 2] as const)
  console.log(
    `| ${t} | ${median(all[t].process).toFixed(0)} | ${median(all[t].main).toFixed(0)} | ${median(all[t].wall).toFixed(0)} |`,
  );
console.log(`load after: ${load()}`);
