/**
 * Small, strongly related regression pairs (issue 7, "Quality"): Energy efficiency (heating and
 * cooling load of 768 buildings, 8 inputs) and Student performance (final grades in maths and
 * Portuguese, G3_mat and G3_por, of the 382 students in both courses). Test RMSE per target per
 * strategy.
 *
 *   npx tsx bench/quality/small.ts [--quick] [--only energy|student] [--splits N]
 *
 * Protocol (both): seeds 0..9 (--quick: 0..2), a random 75/25 train/test split per seed; inside
 * the training part, 20 % (seeded) is validation data for early stopping (patience 20, best
 * weights restored), so the networks train on 60 % of the rows. Numeric inputs and the targets are
 * standardised with the training part's mean and std (RMSE is reported in the targets' units);
 * categorical inputs (student: strings such as school, sex, Mjob, yes/no) are one-hot encoded with
 * the categories of the training part. Student: the period grades G1 and G2 of both courses are
 * left out of the inputs (the hard setting of Cortez & Silva 2008).
 *
 * Graph: the two targets as tasks, joined by their label correlation on the training part
 * (measureAffinity 'label-correlation'); energy ~0.98, student ~0.47. Strategies: single, hard,
 * clustered (Louvain: with one positive edge, one group: the network of hard), soft (towers tied
 * by a Laplacian penalty). Trunk, learning rate and soft strength per strategy were chosen with
 * --tune on the validation parts of splits 0-2 (ENERGY, STUDENT below); clustered takes hard's.
 * References on the same splits: the training mean, and ridge per target (closed form, lambda
 * chosen on the validation part, then refitted on the whole training part).
 *
 * --tune-budget S [--tune-clock cpu|wall] (issue 19): adds a row for `tune` with a budget of S seconds (of this process's CPU time by default, wall time with --tune-clock wall) per split: it
 * searches its default spaces on the same 80 % / 20 % of the training part (scored on the 20 %
 * only, by each target's r2 and the mean rank), then the best is trained again on the whole
 * training part for its best epoch count and scored on the test part. --tuned-only skips the
 * fixed settings (the references stay).
 */
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  compile,
  fit,
  predict,
  measureAffinity,
  TaskGraph,
  type MtgraphModel,
  type PlanOptions,
} from '../../src/index.js';
import { tune } from '../../src/tune/index.js';
import { loadavg } from 'node:os';
import {
  QUICK,
  argValue,
  commandLine,
  column,
  dataPath,
  elapsed,
  featureMatrix,
  markdownTable,
  meanStd,
  oneHot,
  pick,
  readTable,
  rmse,
  splitIndices,
  type FeatureColumn,
  type Table,
} from './load.js';
import { independentRidge, predictLinear, taskMoments } from './linear.js';

const started = performance.now();
const backend = await initBackend();
const SPLITS = Number(argValue('splits') ?? (QUICK || process.argv.includes('--tune') ? 3 : 10));
const only = argValue('only');

interface DataSet {
  name: string;
  table: Table;
  targets: string[];
  /** Input columns; numeric unless listed in `categorical` or stored as text. */
  inputs: string[];
  batchSize: number;
  /** Per strategy: the plan and learning rate (chosen with --tune on the validation parts of splits 0-2). */
  strategies: Setting[];
}

interface Setting {
  label: string;
  plan: PlanOptions;
  learningRate: number;
}

/** The --tune grid: every strategy with each trunk and learning rate (and soft strength). */
function grid(): Setting[] {
  const out: Setting[] = [];
  for (const units of [[8], [32, 16]]) {
    for (const learningRate of [1e-3, 1e-2]) {
      const trunk = { units };
      out.push({
        label: `single [${units}] lr ${learningRate}`,
        plan: { strategy: 'single', trunk },
        learningRate,
      });
      out.push({
        label: `hard [${units}] lr ${learningRate}`,
        plan: { strategy: 'hard', trunk },
        learningRate,
      });
      for (const strength of [0.01, 0.1, 1]) {
        out.push({
          label: `soft [${units}] lr ${learningRate} strength ${strength}`,
          plan: { strategy: 'soft', trunk, soft: { strength } },
          learningRate,
        });
      }
    }
  }
  return out;
}
const TUNE = process.argv.includes('--tune');
const TUNE_BUDGET = Number(argValue('tune-budget') ?? 0);
/** What --tune-budget counts: this process's CPU seconds (cpu, default: the same search whatever the machine's load) or wall seconds (wall). */
const TUNE_CLOCK = argValue('tune-clock') ?? 'cpu';
if (TUNE_CLOCK !== 'cpu' && TUNE_CLOCK !== 'wall')
  throw new Error(`--tune-clock must be cpu or wall (got ${TUNE_CLOCK})`);
const TUNED_ONLY = process.argv.includes('--tuned-only');

/** Settings per data set, chosen with --tune (validation parts of splits 0-2 only). */
const ENERGY: Setting[] = [
  { label: 'single', plan: { strategy: 'single', trunk: { units: [32, 16] } }, learningRate: 1e-2 },
  { label: 'hard', plan: { strategy: 'hard', trunk: { units: [32, 16] } }, learningRate: 1e-2 },
  {
    label: 'clustered',
    plan: { strategy: 'clustered', trunk: { units: [32, 16] } },
    learningRate: 1e-2,
  },
  {
    label: 'soft (strength 0.01)',
    plan: { strategy: 'soft', trunk: { units: [32, 16] }, soft: { strength: 0.01 } },
    learningRate: 1e-2,
  },
];
const STUDENT: Setting[] = [
  { label: 'single', plan: { strategy: 'single', trunk: { units: [32, 16] } }, learningRate: 1e-3 },
  { label: 'hard', plan: { strategy: 'hard', trunk: { units: [32, 16] } }, learningRate: 1e-2 },
  {
    label: 'clustered',
    plan: { strategy: 'clustered', trunk: { units: [32, 16] } },
    learningRate: 1e-2,
  },
  {
    label: 'soft (strength 1)',
    plan: { strategy: 'soft', trunk: { units: [32, 16] }, soft: { strength: 1 } },
    learningRate: 1e-2,
  },
];

function columnsOf(d: DataSet, fitRows: number[]): FeatureColumn[] {
  return d.inputs.flatMap((name) => {
    const text = d.table.text.get(name);
    if (text) return oneHot(name, text, fitRows);
    return [{ name, values: column(d.table, name) }];
  });
}

async function runDataSet(d: DataSet): Promise<void> {
  const per = new Map<string, number[][]>(); // label -> per split, RMSE per target
  const add = (label: string, values: number[]) => {
    if (!per.has(label)) per.set(label, []);
    per.get(label)!.push(values);
  };
  const correlations: number[] = [];
  for (let seed = 0; seed < SPLITS; seed++) {
    const [train, test] = splitIndices(d.table.rows, [0.75, 0.25], seed) as [number[], number[]];
    const [fitPart, valPart] = splitIndices(train.length, [0.8, 0.2], 1000 + seed) as [
      number[],
      number[],
    ];
    const fitRows = fitPart.map((i) => train[i]!);
    const valRows = valPart.map((i) => train[i]!);
    const features = featureMatrix(columnsOf(d, train), train);
    const D = features.names.length;
    const stats = Object.fromEntries(
      d.targets.map((t) => {
        const y = pick(column(d.table, t), train);
        return [t, meanStd(Array.from(y))];
      }),
    );
    const yOf = (rows: number[]) =>
      Object.fromEntries(
        d.targets.map((t) => [
          t,
          Float32Array.from(
            pick(column(d.table, t), rows),
            (v) => (v - stats[t]!.mean) / stats[t]!.std,
          ),
        ]),
      );
    const truth = (rows: number[]) => d.targets.map((t) => pick(column(d.table, t), rows));

    // References: the training mean; ridge per target with lambda chosen on the validation part.
    add(
      'training mean (reference)',
      d.targets.map((t, k) =>
        rmse(new Float64Array(test.length).fill(stats[t]!.mean), truth(test)[k]!),
      ),
    );
    const ridge = d.targets.map((t, k) => {
      const fitOn = (rows: number[], lambda: number) => {
        const x = features.take(rows).values;
        const { d: dd, moments } = taskMoments(
          x,
          D,
          pick(column(d.table, t), rows),
          new Int32Array(rows.length),
          1,
        );
        return independentRidge(moments, dd, lambda);
      };
      let best = { lambda: 1, err: Infinity };
      for (const lambda of [0.01, 0.1, 1, 10, 100, 1000]) {
        const w = fitOn(fitRows, lambda);
        const err = rmse(
          predictLinear(w, features.take(valRows).values, D, new Int32Array(valRows.length)),
          pick(column(d.table, t), valRows),
        );
        if (err < best.err) best = { lambda, err };
      }
      const w = fitOn(train, best.lambda);
      return rmse(
        predictLinear(w, features.take(test).values, D, new Int32Array(test.length)),
        truth(test)[k]!,
      );
    });
    add('ridge per target (reference)', ridge);

    // The task graph: two regression tasks joined by their label correlation on the training part.
    const bare = new TaskGraph({ name: d.name, input: { features: D } });
    for (const t of d.targets) bare.addTask(t, { kind: 'regression' });
    const trainData = { x: features.take(fitRows), y: yOf(fitRows) };
    const affinity = await measureAffinity(
      bare,
      { x: features.take(train), y: yOf(train) },
      { method: 'label-correlation' },
    );
    const graph = affinity.graph;
    correlations.push(affinity.matrix[0]![1]!);
    if (TUNE_BUDGET > 0) {
      const t0 = performance.now();
      const result = await tune(graph, trainData, {
        validationData: { x: features.take(valRows), y: yOf(valRows) },
        budget: TUNE_CLOCK === 'cpu' ? { cpuSeconds: TUNE_BUDGET } : { seconds: TUNE_BUDGET },
        seed,
        planOptions: { input: { features: D } },
      });
      const model = compile(graph, result.best.planOptions);
      try {
        await fit(
          model,
          { x: features.take(train), y: yOf(train) },
          { ...result.best.fitOptions, metrics: false },
        );
        const out = predict(model, features.take(test));
        add(
          `tune (${TUNE_BUDGET} s ${TUNE_CLOCK === 'cpu' ? 'CPU' : 'wall'} per split)`,
          d.targets.map((t, k) =>
            rmse(
              Float64Array.from(out[t]!.dataSync(), (v) => v * stats[t]!.std + stats[t]!.mean),
              truth(test)[k]!,
            ),
          ),
        );
        tf.dispose(Object.values(out));
      } finally {
        model.dispose();
      }
      console.error(
        `${d.name} split ${seed}: tune ${result.trials.length} trials (${result.trials.filter((t) => t.status === 'done').length} done) in ${((performance.now() - t0) / 1000).toFixed(0)} s wall, ${result.cpuSeconds.toFixed(0)} s CPU (stopped: ${result.stopped}; load ${loadavg()[0]!.toFixed(1)}); best ${result.best.space} ${JSON.stringify(result.best.planOptions)} ${JSON.stringify(result.best.fitOptions)}`,
      );
    }
    for (const s of TUNE ? grid() : TUNED_ONLY ? [] : d.strategies) {
      const model: MtgraphModel = compile(graph, { ...s.plan, seed, input: { features: D } });
      try {
        const history = await fit(model, trainData, {
          epochs: 500,
          batchSize: d.batchSize,
          seed,
          metrics: false,
          optimizer: { name: 'adam', learningRate: s.learningRate },
          validationData: { x: features.take(valRows), y: yOf(valRows) },
          earlyStopping: { patience: 20 },
        });
        if (TUNE) {
          // Validation MSE (standardised targets) at the best epoch, per target.
          add(
            s.label,
            d.targets.map((t) => history.valTaskLoss![t]![history.bestEpoch! - 1]!),
          );
          continue;
        }
        const out = predict(model, features.take(test));
        const values = d.targets.map((t, k) => {
          const p = Float64Array.from(
            out[t]!.dataSync(),
            (v) => v * stats[t]!.std + stats[t]!.mean,
          );
          return rmse(p, truth(test)[k]!);
        });
        tf.dispose(Object.values(out));
        add(s.label, values);
      } finally {
        model.dispose();
      }
    }
    console.error(
      `${d.name} split ${seed}: ${[...per]
        .map(
          ([l, v]) =>
            `${l.split(' ')[0]} ${v
              .at(-1)!
              .map((x) => x.toFixed(3))
              .join('/')}`,
        )
        .join(', ')} [${elapsed(started)}]`,
    );
  }
  if (TUNE) {
    console.log(
      `\n${d.name} --tune: validation MSE of the standardised targets at the best epoch, mean over ${SPLITS} split(s)\n`,
    );
    console.log(
      markdownTable(
        ['setting', ...d.targets, 'sum'],
        [...per]
          .filter(([l]) => !l.includes('reference'))
          .map(([label, runs]) => {
            const m = d.targets.map((_, k) => meanStd(runs.map((r) => r[k]!)).mean);
            return [label, ...m.map((v) => v.toFixed(4)), m.reduce((a, b) => a + b, 0).toFixed(4)];
          }),
      ),
    );
    return;
  }
  console.log(
    `\n${d.name}: test RMSE (mean ± std over ${SPLITS} split(s), seeds 0-${SPLITS - 1}; 75/25, early stopping on 20 % of the training part), batch ${d.batchSize}, adam, backend ${backend.backend}${QUICK ? ', --quick' : ''}; label correlation of the targets on the training parts ${meanStd(correlations).mean.toFixed(3)}\n`,
  );
  console.log(
    markdownTable(
      ['strategy', ...d.targets.map((t) => `RMSE ${t}`), "mean of the targets' RMSE / std"],
      [...per].map(([label, runs]) => {
        const cells = d.targets.map((_, k) => {
          const { mean, std } = meanStd(runs.map((r) => r[k]!));
          return `${mean.toFixed(3)} ± ${std.toFixed(3)}`;
        });
        // Scale-free summary: each target's RMSE divided by that target's std over all rows.
        const rel = meanStd(
          runs.map(
            (r) =>
              r.reduce(
                (a, v, k) => a + v / meanStd(Array.from(column(d.table, d.targets[k]!))).std,
                0,
              ) / r.length,
          ),
        ).mean;
        return [label, ...cells, rel.toFixed(3)];
      }),
    ),
  );
}

if (!only || only === 'energy') {
  const table = readTable(dataPath('energy-efficiency', 'energy_efficiency.csv'));
  await runDataSet({
    name: 'Energy efficiency',
    table,
    targets: ['heating_load', 'cooling_load'],
    inputs: table.header.filter((h) => h !== 'heating_load' && h !== 'cooling_load'),
    batchSize: 32,
    strategies: ENERGY,
  });
}
if (!only || only === 'student') {
  const table = readTable(dataPath('student-performance', 'student_merged_mat_por.csv'));
  await runDataSet({
    name: 'Student performance (382 students in both courses)',
    table,
    targets: ['G3_mat', 'G3_por'],
    inputs: table.header.filter((h) => !/^G[123]_/.test(h)),
    batchSize: 32,
    strategies: STUDENT,
  });
}
console.log(`\ncommand: ${commandLine('bench/quality/small.ts')}; total ${elapsed(started)}`);
