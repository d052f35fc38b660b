/**
 * `tune` on School (issue 19): on each split of bench/quality/school.ts, tune searches strategies
 * and settings within a time budget, scored on validation rows only, then the best is trained
 * again on the whole training part and scored once on the split's test part.
 *
 *   npx tsx bench/tune-school.ts [--budget 600] [--clock cpu|wall] [--splits 0,1,2] [--graph star|knn] [--ensemble 10] [--bag 1] [--save out.json]
 *   npx tsx bench/tune-school.ts --budget 600 --merge a.json,b.json   (the table of saved runs)
 *
 * Splits: the same as bench/quality/school.ts (seed s: a random 75/25 split within each school;
 * inside the training part, 20 % of each school's pupils validate). The 27 inputs and the exam
 * score are standardised on the training part; explained variance (EV) = 1 - MSE / Var(y) over
 * the pooled test pupils, in %. Schools are weighted by size in the joint loss, as in school.ts.
 *
 * tune: validationData = the 20 % per school (tune never sees the test part), strategies hard
 * and soft (tune's defaults but single, clustered and mmoe, see STRATEGIES), budget `--budget`
 * seconds of this process's CPU time (`--clock cpu`, default) or of wall time (`--clock wall`),
 * seed = the split's seed, fitOptions { batchSize: 1024 } (as school.ts), schedule { minEpochs:
 * 8, eta: 3, maxEpochs: 144 } (9 steps per epoch at that batch; soft's first rung is 32 epochs),
 * and an objective equal to the pooled validation EV (minus the size-weighted sum of the
 * per-school validation MSEs, which ranks trials as the pooled EV does). Graph: the schools tied
 * through a label-less centre task (`star`, default: the complete graph written with 139
 * affinities, see school.ts; "all schools are alike" is what the user declares) or the affinities
 * of graphs/school.json (`knn`).
 *
 * Reference on the same split: exact mean-regularised (complete-graph Laplacian) linear MTL,
 * closed form (bench/quality/linear.ts), lambda chosen on the same validation rows from
 * {0.1, ..., 1000}, refitted on the whole training part.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  loadGraph,
  plan,
  build,
  fit,
  predict,
  TaskGraph,
  type MtgraphModel,
} from '../src/index.js';
import { fitEnsemble, predictEnsemble, tune, type TuneResult } from '../src/tune/index.js';
import {
  argValue,
  column,
  commandLine,
  dataPath,
  elapsed,
  featureMatrix,
  meanStd,
  readTable,
  rng,
  shuffled,
} from './quality/load.js';
import { meanRegularised, predictLinear, taskMoments } from './quality/linear.js';

const started = performance.now();
const backend = await initBackend();
const BUDGET = Number(argValue('budget') ?? 600);
/**
 * What the budget counts: this process's CPU seconds (`cpu`, default: on the shared 2-core machine
 * the same budget buys the same training whatever the load; wasm tfjs runs on one thread, so on an
 * idle machine CPU time is about wall time) or wall seconds (`wall`).
 */
const CLOCK = argValue('clock') ?? 'cpu';
if (CLOCK !== 'cpu' && CLOCK !== 'wall')
  throw new Error(`--clock must be cpu or wall (got ${CLOCK})`);
/** Successive halving's rungs (epochs; soft's first rung is 4x minEpochs: 32, 96, 144). */
const SCHEDULE = {
  minEpochs: Number(argValue('min-epochs') ?? 8),
  eta: 3,
  maxEpochs: Number(argValue('max-epochs') ?? 144),
};
const SPLITS = (argValue('splits') ?? '0,1,2,3,4,5,6,7,8,9').split(',').map(Number);
const GRAPH = argValue('graph') ?? 'star';
/**
 * tune's default spaces without single, mmoe and clustered: on this shared machine one MMoE epoch
 * (139 gates) took more than 40 s, `single` (139 separate networks) did not finish one epoch in
 * 247 s, and clustered (Louvain groups of the centre graph, a trunk per group) took 17-142 s for 8
 * epochs at -53 to +23 % validation EV (split 0, 4 runs), so each would spend the budget on runs
 * that cannot win. `--strategies` overrides.
 */
const STRATEGIES = (argValue('strategies') ?? 'hard,soft').split(',');
/**
 * Rounds of ensemble selection (tune's options.ensemble; 0: the single best trial only). The
 * ensemble's members are trained again on the whole training part and their weighted mean is
 * scored on test; the best trial alone is scored too (retrained, or the member it is). --bag N
 * trains each member N times (seeds +0..N-1) and averages them too.
 */
const ENSEMBLE = Number(argValue('ensemble') ?? 10);
/** Trainings per ensemble member when it is trained again (fitEnsemble's `seeds`: seed bagging). */
const BAG = Number(argValue('bag') ?? 1);

const table = readTable(dataPath('school', 'school.csv'));
const schoolGraph = await loadGraph(new URL('../graphs/school.json', import.meta.url).pathname);
const FEATURES = (schoolGraph.getAttribute('input') as { columns: string[] }).columns;
const TASKS = schoolGraph.nodes();
const taskOf = column(table, 'task');
const score = column(table, 'exam_score');
const N = table.rows;
const bySchool: number[][] = TASKS.map(() => []);
for (let r = 0; r < N; r++) bySchool[taskOf[r]!]!.push(r);
const SIZE_WEIGHT = (t: number) => (bySchool[t]!.length * TASKS.length) / N;

/** The schools as size-weighted regression tasks with the chosen affinities. */
function graphOf(): TaskGraph {
  const g = new TaskGraph({ name: `school-${GRAPH}`, input: { columns: FEATURES } });
  TASKS.forEach((t, i) =>
    g.addTask(t, { kind: 'regression', target: 'exam_score', weight: SIZE_WEIGHT(i) }),
  );
  if (GRAPH === 'star') {
    g.addTask('mean', { kind: 'regression', target: 'exam_score' });
    for (const t of TASKS) g.addAffinity('mean', t, { weight: 1 });
  } else {
    schoolGraph.forEachEdge((_e, a, s, t) => g.addAffinity(s, t, { weight: a.weight as number }));
  }
  return g;
}

/** Rows of each part of one split (the same function as bench/quality/school.ts). */
function split(seed: number): { fit: number[]; val: number[]; train: number[]; test: number[] } {
  const random = rng(seed);
  const out = {
    fit: [] as number[],
    val: [] as number[],
    train: [] as number[],
    test: [] as number[],
  };
  for (const rows of bySchool) {
    const order = shuffled(rows, random);
    const nTrain = Math.round(0.75 * order.length);
    const train = order.slice(0, nTrain);
    const nVal = Math.max(1, Math.round(0.2 * nTrain));
    out.train.push(...train);
    out.val.push(...train.slice(0, nVal));
    out.fit.push(...train.slice(nVal));
    out.test.push(...order.slice(nTrain));
  }
  for (const part of Object.values(out)) part.sort((a, b) => a - b);
  return out;
}

type Take = ReturnType<typeof featureMatrix>['take'];

function taskData(tasks: string[], rows: number[], take: Take, yMean: number, yStd: number) {
  const y: Record<string, Float32Array> = {};
  const mask: Record<string, Float32Array> = {};
  for (const t of TASKS) y[t] = new Float32Array(rows.length).fill(NaN);
  rows.forEach((r, i) => {
    y[TASKS[taskOf[r]!]!]![i] = (score[r]! - yMean) / yStd;
  });
  for (const t of tasks) if (!(t in y)) mask[t] = new Float32Array(rows.length);
  return { x: take(rows), y, mask };
}

function ev(pred: (r: number, i: number) => number, rows: number[]): number {
  let mean = 0;
  for (const r of rows) mean += score[r]!;
  mean /= rows.length;
  let se = 0;
  let variance = 0;
  rows.forEach((r, i) => {
    se += (pred(r, i) - score[r]!) ** 2;
    variance += (score[r]! - mean) ** 2;
  });
  return 100 * (1 - se / variance);
}

function networkEv(
  model: MtgraphModel | Parameters<typeof predictEnsemble>[0],
  rows: number[],
  take: Take,
  yMean: number,
  yStd: number,
) {
  const out = 'members' in model ? predictEnsemble(model, take(rows)) : predict(model, take(rows));
  const values = Object.fromEntries(Object.entries(out).map(([t, p]) => [t, p.dataSync()]));
  tf.dispose(Object.values(out));
  return ev((r, i) => values[TASKS[taskOf[r]!]!]![i]! * yStd + yMean, rows);
}

function linearEv(lambda: number, fitRows: number[], scoreRows: number[], statsRows: number[]) {
  const features = featureMatrix(
    FEATURES.map((f) => ({ name: f, values: column(table, f) })),
    statsRows,
  );
  const d = features.names.length;
  const { d: dd, moments } = taskMoments(
    features.take(fitRows).values,
    d,
    fitRows.map((r) => score[r]!),
    fitRows.map((r) => taskOf[r]!),
    TASKS.length,
  );
  const w = meanRegularised(moments, dd, lambda);
  const p = predictLinear(
    w,
    features.take(scoreRows).values,
    d,
    scoreRows.map((r) => taskOf[r]!),
  );
  return ev((_r, i) => p[i]!, scoreRows);
}

interface SplitResult {
  seed: number;
  tunedEv: number;
  /** The best trial alone, retrained on the training part (tunedEv is the ensemble's with --ensemble). */
  bestEv: number;
  ensemble?: {
    members: number;
    weights: number[];
    validEv: number;
    bag: number;
    chosen: TuneResult['ensemble'];
  };
  retrainCpuSeconds: number;
  validEv: number;
  laplacianEv: number;
  lambda: number;
  best: TuneResult['best'];
  trials: number;
  scored: number;
  byStrategy: Record<string, number>;
  tuneSeconds: number;
  tuneCpuSeconds: number;
  retrainSeconds: number;
  stopped: string;
  load: [number, number];
}

const results: SplitResult[] = [];
/** --merge a.json,b.json: the table of saved runs (--save), without running anything. */
const MERGE = argValue('merge');
if (MERGE)
  for (const file of MERGE.split(','))
    results.push(...(JSON.parse(readFileSync(file, 'utf8')) as { results: SplitResult[] }).results);
const graph = graphOf();
const taskIds = graph.nodes();
for (const seed of MERGE ? [] : SPLITS) {
  const parts = split(seed);
  const features = featureMatrix(
    FEATURES.map((name) => ({ name, values: column(table, name) })),
    parts.train,
  );
  const ys = parts.train.map((r) => score[r]!);
  const { mean: yMean, std: yStd } = meanStd(ys);
  const fitData = taskData(taskIds, parts.fit, features.take, yMean, yStd);
  const valData = taskData(taskIds, parts.val, features.take, yMean, yStd);
  // Size of each school's validation part: the pooled validation MSE is the size-weighted sum.
  const valCount: Record<string, number> = {};
  for (const r of parts.val) valCount[TASKS[taskOf[r]!]!] = (valCount[TASKS[taskOf[r]!]!] ?? 0) + 1;
  let valVar = 0;
  {
    const m = parts.val.reduce((a, r) => a + score[r]!, 0) / parts.val.length;
    for (const r of parts.val) valVar += ((score[r]! - m) / yStd) ** 2;
  }
  const t0 = performance.now();
  const loadBefore = loadavg()[0]!;
  const result = await tune(graph, fitData, {
    validationData: valData,
    strategies: STRATEGIES,
    budget: CLOCK === 'cpu' ? { cpuSeconds: BUDGET } : { seconds: BUDGET },
    seed,
    fitOptions: { batchSize: 1024 },
    ensemble: ENSEMBLE,
    // Batch 1024 is 9 steps per epoch here: rungs of 8, 24, 72 and 144 epochs (the default 3 is 27 steps).
    schedule: SCHEDULE,
    planOptions: { input: { features: features.names.length } },
    // Pooled validation EV in %, from each school's validation MSE (standardised units).
    objective: ({ metrics }) => {
      let se = 0;
      for (const [t, n] of Object.entries(valCount)) se += n * (metrics[t]?.loss ?? Infinity);
      return 100 * (1 - se / valVar);
    },
    onTrial: ({ trial, best, cpuSeconds }) =>
      console.error(
        `split ${seed} trial ${trial.id} ${trial.space} rung ${trial.rung} (${trial.epochs}/${trial.maxEpochs} ep, ${trial.seconds.toFixed(1)} s) ${trial.status} ${Number.isFinite(trial.value) ? trial.value.toFixed(2) : '–'} ${JSON.stringify({ ...trial.planOptions, input: undefined, seed: undefined })} ${JSON.stringify({ ...trial.fitOptions, seed: undefined, batchSize: undefined })}; best ${best ? `${best.id} ${best.space} ${best.value.toFixed(2)}` : '–'} [${elapsed(t0)}, cpu ${cpuSeconds.toFixed(0)} s, load ${loadavg()[0]!.toFixed(1)}]`,
      ),
  });
  const tuneSeconds = (performance.now() - t0) / 1000;
  // The best (and the ensemble's members), trained again on the whole training part (fit +
  // validation), scored on test.
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  const trainData = taskData(taskIds, parts.train, features.take, yMean, yStd);
  let tunedEv: number;
  let bestEv: number;
  const ensemble = result.ensemble;
  if (ensemble) {
    const trained = await fitEnsemble(graph, trainData, ensemble, {
      fitOptions: { metrics: false },
      seeds: BAG,
    });
    try {
      tunedEv = networkEv(trained, parts.test, features.take, yMean, yStd);
      const i = ensemble.members.findIndex((m) => m.trial === result.best.trial);
      bestEv =
        i >= 0
          ? networkEv(trained.members[i * BAG]!.model, parts.test, features.take, yMean, yStd)
          : Number.NaN;
    } finally {
      trained.dispose();
    }
  } else tunedEv = bestEv = Number.NaN;
  if (Number.isNaN(bestEv)) {
    const model = build(plan(graph, result.best.planOptions));
    try {
      await fit(model, trainData, { ...result.best.fitOptions, metrics: false });
      bestEv = networkEv(model, parts.test, features.take, yMean, yStd);
    } finally {
      model.dispose();
    }
    if (!ensemble) tunedEv = bestEv;
  }
  const used = process.cpuUsage(cpu1);
  const retrainCpuSeconds = (used.user + used.system) / 1e6;
  const retrainSeconds = (performance.now() - t1) / 1000;
  let best = { lambda: 0, ev: -Infinity };
  for (const lambda of [0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000]) {
    const v = linearEv(lambda, parts.fit, parts.val, parts.train);
    if (v > best.ev) best = { lambda, ev: v };
  }
  const laplacianEv = linearEv(best.lambda, parts.train, parts.test, parts.train);
  const byStrategy: Record<string, number> = {};
  for (const t of result.trials)
    if (t.status === 'done')
      byStrategy[t.space] = Math.max(byStrategy[t.space] ?? -Infinity, t.value);
  const r: SplitResult = {
    seed,
    tunedEv,
    bestEv,
    ...(ensemble
      ? {
          ensemble: {
            members: ensemble.members.length,
            weights: ensemble.members.map((m) => m.weight),
            validEv: ensemble.score.value,
            bag: BAG,
            chosen: ensemble,
          },
        }
      : {}),
    retrainCpuSeconds,
    validEv: result.best.score.value,
    laplacianEv,
    lambda: best.lambda,
    best: result.best,
    trials: result.trials.length,
    scored: result.trials.filter((t) => t.status === 'done').length,
    byStrategy,
    tuneSeconds,
    tuneCpuSeconds: result.cpuSeconds,
    retrainSeconds,
    stopped: result.stopped,
    load: [loadBefore, loadavg()[0]!],
  };
  results.push(r);
  console.error(
    `split ${seed}: tuned ${tunedEv.toFixed(2)} %${ensemble ? ` (ensemble of ${ensemble.members.length}, valid ${ensemble.score.value.toFixed(2)}; best trial alone ${bestEv.toFixed(2)} %)` : ''} (valid ${r.validEv.toFixed(2)}; ${result.best.space} ${JSON.stringify(result.best.planOptions)} ${JSON.stringify(result.best.fitOptions)}), mean-regularised MTL ${laplacianEv.toFixed(2)} % (lambda ${best.lambda}); ${r.trials} trials (${r.scored} scored) in ${tuneSeconds.toFixed(0)} s wall / ${result.cpuSeconds.toFixed(0)} s CPU (stopped: ${result.stopped}; load ${r.load.map((l) => l.toFixed(1)).join('→')}), retrain ${retrainSeconds.toFixed(1)} s (${retrainCpuSeconds.toFixed(0)} s CPU); best validation EV by space ${JSON.stringify(Object.fromEntries(Object.entries(byStrategy).map(([k, v]) => [k, Number(v.toFixed(2))])))} [${elapsed(started)}]`,
  );
  const save = argValue('save');
  if (save)
    writeFileSync(
      save,
      JSON.stringify(
        { command: commandLine('bench/tune-school.ts'), backend: backend.backend, results },
        null,
        1,
      ),
    );
}
const tuned = meanStd(results.map((r) => r.tunedEv));
const bestAlone = meanStd(results.map((r) => r.bestEv ?? r.tunedEv));
const lap = meanStd(results.map((r) => r.laplacianEv));
const diff = meanStd(results.map((r) => r.tunedEv - r.laplacianEv));
console.log(
  `\nSchool, tune ${BUDGET} s (${CLOCK === 'cpu' ? "this process's CPU time" : 'wall time'}) per split, graph ${GRAPH}, splits ${results.map((r) => r.seed).join(',')}, backend ${backend.backend}\n`,
);
console.log(
  '| split | best (space: settings) | trials (scored) | tune wall s (CPU s; load) | retrain CPU s | valid EV % (best; ensemble) | best trial test EV % | tuned test EV % (ensemble: members) | mean-regularised MTL test EV % (lambda) |',
);
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  const p = r.best.planOptions as Record<string, any>;
  const f = r.best.fitOptions as Record<string, any>;
  const settings = [
    `trunk [${p.trunk?.units ?? ''}]`,
    p.tower?.units?.length ? `tower [${p.tower.units}]` : '',
    p.soft ? `strength ${p.soft.strength}` : '',
    p.mmoe ? `${p.mmoe.experts} experts` : '',
    p.trunk?.dropout ? `dropout ${p.trunk.dropout}` : '',
    p.trunk?.l2 ? `l2 ${p.trunk.l2}` : '',
    `lr ${f.optimizer?.learningRate}`,
    f.balance !== 'static' ? f.balance : '',
    `${f.epochs} epochs`,
  ].filter(Boolean);
  console.log(
    `| ${r.seed} | ${r.best.space}: ${settings.join(', ')} | ${r.trials} (${r.scored}) | ${r.tuneSeconds.toFixed(0)} (${r.tuneCpuSeconds.toFixed(0)}; ${r.load.map((l) => l.toFixed(1)).join('→')}) | ${r.retrainCpuSeconds?.toFixed(0) ?? '–'} | ${r.validEv.toFixed(2)}${r.ensemble ? `; ${r.ensemble.validEv.toFixed(2)}` : ''} | ${(r.bestEv ?? r.tunedEv).toFixed(2)} | ${r.tunedEv.toFixed(2)}${r.ensemble ? ` (${r.ensemble.members})` : ''} | ${r.laplacianEv.toFixed(2)} (${r.lambda}) |`,
  );
}
console.log(
  `\nmean over ${results.length} split(s): tuned ${tuned.mean.toFixed(2)} ± ${tuned.std.toFixed(2)} % (best trial alone ${bestAlone.mean.toFixed(2)} ± ${bestAlone.std.toFixed(2)}), mean-regularised MTL ${lap.mean.toFixed(2)} ± ${lap.std.toFixed(2)} %, tuned − MTL ${diff.mean.toFixed(2)} ± ${diff.std.toFixed(2)} (above on ${results.filter((r) => r.tunedEv > r.laplacianEv).length}/${results.length})`,
);
console.log(`command: ${commandLine('bench/tune-school.ts')}; total ${elapsed(started)}`);
