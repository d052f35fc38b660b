/**
 * Census-Income (KDD): the high-cardinality categorical columns embedded against the one-hot
 * encoding of bench/quality/census.ts (issue 17, "What this issue must show").
 *
 *   nice -n 10 npx tsx bench/quality/census-embed.ts [--quick] [--train-rows N] [--epochs E]
 *     [--strategy hard|mmoe] [--min-codes 20] [--only onehot|embed] [--seed S] [--plain-onehot]
 *
 * Data and split as census.ts: the KDD test file (99,762 rows; --quick: every 20th row) split by a
 * seeded shuffle (--seed, default 0; also the seed of the initial weights and batch order) into
 * 50 % train / 25 % validation / 25 % test; --train-rows N trains on the first N rows of the
 * (shuffled) training part (validation and test stay whole). Inputs: the 38 columns of
 * graphs/census-income.json; tasks income > 50k and never married.
 *
 * Two encodings of the same columns:
 * - one-hot: every categorical column one-hot with the categories of the training part, every
 *   column standardised with the training part's mean and std (census.ts's encoding);
 * - embed: the categorical columns with at least --min-codes codes in the training part (20:
 *   det_ind_code 52, state_prev_res 51, det_occ_code 47, country_father/mother/self 43,
 *   det_hh_fam_stat 37, major_ind_code 24) enter as raw codes and are embedded
 *   (graph `input.embed`, vocabularies fitted on the training part with `fitVocabularies`; a code
 *   the training part never saw reads the out-of-vocabulary row); the other columns as one-hot.
 * --plain-onehot keeps the one-hot columns 0/1 in both encodings instead of standardising them
 *   (census.ts standardises every column: a category seen once in 50,000 rows takes ~220).
 *
 * Network: census.ts's hard (trunk 64-32, towers 8) or mmoe (8 experts of 32, towers 8); adam,
 * batch 512, at most --epochs (default 20) epochs with early stopping on the sum of the validation
 * task losses (patience 3, best weights restored).
 *
 * Tuning, on the validation part only: both encodings train on the grid learning rate {1e-3, 3e-3}
 * × trunk dropout {0, 0.3}; the embedded one on each embedding dimension {4, 8, 16} as well. Each
 * encoding keeps the run with the best mean validation AUC of the two tasks; only that run is
 * scored on the test part. Epoch times: afterwards the two chosen settings train again from the
 * same seed for 1 + 3 epochs each, alternating (A B A B ...), and the median of the 3 timed epochs
 * is reported (the machine is shared; the load average is printed).
 */
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import {
  compile,
  evaluate,
  fit,
  initBackend,
  loadGraph,
  TaskGraph,
  type FitOptions,
  type MtgraphModel,
  type PlanOptions,
  type TaskData,
} from '../../src/index.js';
import { fitVocabularies } from '../../src/data/embed.js';
import {
  QUICK,
  argValue,
  column,
  commandLine,
  dataPath,
  elapsed,
  featureMatrix,
  markdownTable,
  oneHot,
  pick,
  readTable,
  splitIndices,
  type FeatureColumn,
} from './load.js';

const started = performance.now();
const backend = await initBackend();
const file = QUICK ? 'census_kdd_test_coded_every20th.csv' : 'census_kdd_test_coded.csv';
const table = readTable(dataPath('census-income-kdd', file));
const census = await loadGraph(
  new URL('../../graphs/census-income.json', import.meta.url).pathname,
);
census.dropNode('task_education_college');
const TASKS = census.nodes();
const input = census.getAttribute('input') as { columns: string[]; categorical: string[] };
const categorical = new Set(input.categorical);

const MIN_CODES = Number(argValue('min-codes') ?? 20);
const MAX_EPOCHS = Number(argValue('epochs') ?? (QUICK ? 12 : 20));
const STRATEGY = argValue('strategy') ?? 'hard';
const ONLY = argValue('only');
const TRAIN_ROWS = argValue('train-rows') ? Number(argValue('train-rows')) : undefined;
const SEED = Number(argValue('seed') ?? 0);
const PATIENCE = 3;
const PLAIN = process.argv.includes('--plain-onehot');

const [trainAll, valid, test] = splitIndices(table.rows, [0.5, 0.25, 0.25], SEED) as [
  number[],
  number[],
  number[],
];
const train = TRAIN_ROWS ? trainAll.slice(0, TRAIN_ROWS) : trainAll;
const codesIn = (name: string, rows: number[]) =>
  new Set(Array.from(pick(column(table, name), rows))).size;
const HIGH = input.columns.filter((c) => categorical.has(c) && codesIn(c, train) >= MIN_CODES);

/** One encoding: the model's input columns for the rows of each part, and the graph it reads. */
interface Encoding {
  name: 'onehot' | 'embed';
  columns: string[];
  data(rows: number[]): TaskData;
}

function encoding(embedded: readonly string[]): Encoding {
  const columns: FeatureColumn[] = input.columns.flatMap((name) =>
    embedded.includes(name)
      ? []
      : categorical.has(name)
        ? oneHot(name, column(table, name), train)
        : [{ name, values: column(table, name) }],
  );
  const standardised = featureMatrix(columns, train);
  const names = [...standardised.names, ...embedded];
  const codes = embedded.map((c) => column(table, c));
  // --plain-onehot: one-hot columns stay 0/1 (standardised, a rare category's column takes large values).
  const raw = new Map(columns.map((c) => [c.name, c.values]));
  const plain = PLAIN
    ? standardised.names.flatMap((n, j) => (n.includes('=') ? [[j, raw.get(n)!] as const] : []))
    : [];
  return {
    name: embedded.length > 0 ? 'embed' : 'onehot',
    columns: names,
    data(rows) {
      const { values: base } = standardised.take(rows);
      const d = standardised.names.length;
      const width = names.length;
      const x = new Float32Array(rows.length * width);
      for (let i = 0; i < rows.length; i++) {
        x.set(base.subarray(i * d, (i + 1) * d), i * width);
        for (const [j, values] of plain) x[i * width + j] = values[rows[i]!]!;
        codes.forEach((c, j) => {
          x[i * width + d + j] = c[rows[i]!]!;
        });
      }
      return {
        x: { values: x, shape: [rows.length, width] },
        y: Object.fromEntries(
          TASKS.map((t) => [t, Float32Array.from(pick(column(table, t), rows))]),
        ),
      } as TaskData;
    },
  };
}

/** The census graph's tasks over an input of `columns`, with `embed` dimensions when given. */
function graphOf(columns: string[], embed?: Record<string, number>): TaskGraph {
  const g = new TaskGraph({
    name: 'census-income',
    input: { features: columns.length, columns, ...(embed ? { embed } : {}) },
  } as never);
  for (const t of TASKS) g.addTask(t, census.getNodeAttributes(t) as never);
  census.forEachEdge((_, attrs, a, b) => g.addAffinity(a, b, attrs as never));
  return g;
}

interface Config {
  lr: number;
  dropout: number;
  dim?: number;
}
const label = (c: Config) =>
  `lr ${c.lr}, dropout ${c.dropout}${c.dim !== undefined ? `, dim ${c.dim}` : ''}`;

function planOptions(c: Config): PlanOptions {
  const trunk = STRATEGY === 'mmoe' ? [32] : [64, 32];
  return {
    strategy: STRATEGY,
    trunk: { units: trunk, dropout: c.dropout },
    tower: { units: [8] },
    ...(STRATEGY === 'mmoe' ? { mmoe: { experts: 8 } } : {}),
    seed: SEED,
  };
}

const fitOptions = (c: Config): FitOptions => ({
  batchSize: 512,
  seed: SEED,
  metrics: false,
  optimizer: { name: 'adam', learningRate: c.lr },
});

/** fit with early stopping on the sum of the validation task losses (best weights restored), timing each epoch. */
async function fitStopped(
  model: MtgraphModel,
  trainData: TaskData,
  validData: TaskData,
  options: FitOptions,
): Promise<{ best: number; ran: number; epochSeconds: number[] }> {
  class Stop extends Error {}
  let best = Infinity;
  let bestEpoch = -1;
  let ran = 0;
  let wait = 0;
  let kept: tf.Tensor[] | undefined;
  const epochSeconds: number[] = [];
  let t = performance.now();
  try {
    await fit(model, trainData, {
      ...options,
      epochs: MAX_EPOCHS,
      validationData: validData,
      onEpochEnd: (epoch, logs) => {
        const now = performance.now();
        epochSeconds.push((now - t) / 1000);
        ran = epoch + 1;
        const value = Object.values(logs.valTaskLoss!).reduce((a, b) => a + b, 0);
        if (value < best) {
          best = value;
          bestEpoch = epoch;
          wait = 0;
          tf.dispose(kept);
          kept = model.model.getWeights().map((w) => tf.clone(w));
        } else if (++wait >= PATIENCE) throw new Stop();
        t = performance.now();
      },
    });
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  if (kept) {
    model.model.setWeights(kept);
    tf.dispose(kept);
  }
  return { best: bestEpoch + 1, ran, epochSeconds };
}

const onehot = encoding([]);
const embedded = encoding(HIGH);
const parts = new Map(
  [onehot, embedded].map((e) => [
    e.name,
    { train: e.data(train), valid: e.data(valid), test: e.data(test) },
  ]),
);
const embeddedGraph = (dim: number) =>
  graphOf(embedded.columns, Object.fromEntries(HIGH.map((c) => [c, dim])));
const vocabularies = fitVocabularies(embeddedGraph(4), parts.get('embed')!.train);

function modelOf(e: Encoding, c: Config): MtgraphModel {
  return e.name === 'embed'
    ? compile(embeddedGraph(c.dim!), { ...planOptions(c), vocabularies })
    : compile(graphOf(e.columns), planOptions(c));
}

const GRID: Config[] = [1e-3, 3e-3].flatMap((lr) => [0, 0.3].map((dropout) => ({ lr, dropout })));
const grids: Array<[Encoding, Config[]]> = [
  [onehot, GRID],
  [embedded, GRID.flatMap((c) => [4, 8, 16].map((dim) => ({ ...c, dim })))],
];

interface Run {
  config: Config;
  validAuc: Record<string, number>;
  testAuc?: Record<string, number>;
  params: number;
  best: number;
  ran: number;
  epochSeconds: number[];
}
const runs = new Map<Encoding['name'], Run[]>();
const mean = (r: Record<string, number>) => TASKS.reduce((s, t) => s + r[t]!, 0) / TASKS.length;
const chosen = new Map<Encoding['name'], Run>();
console.error(
  `backend ${backend.backend}; ${file}: train ${train.length}, valid ${valid.length}, test ${test.length} rows; embedded (>= ${MIN_CODES} codes): ${HIGH.join(', ')}; one-hot width ${onehot.columns.length}, embed input columns ${embedded.columns.length}`,
);
for (const [e, grid] of grids) {
  if (ONLY && ONLY !== e.name) continue;
  const data = parts.get(e.name)!;
  const done: Run[] = [];
  let bestModel: MtgraphModel | undefined;
  for (const config of grid) {
    const model = modelOf(e, config);
    const stopped = await fitStopped(model, data.train, data.valid, fitOptions(config));
    const scores = await evaluate(model, data.valid);
    const run: Run = {
      config,
      validAuc: Object.fromEntries(TASKS.map((t) => [t, scores[t]!.auc!])),
      params: model.model.countParams(),
      ...stopped,
    };
    if (run.params !== model.plan.params.total)
      throw new Error(`plan counts ${model.plan.params.total} parameters, the model ${run.params}`);
    done.push(run);
    const best = done.reduce((a, b) => (mean(b.validAuc) > mean(a.validAuc) ? b : a));
    if (best === run) {
      bestModel?.dispose();
      bestModel = model;
    } else model.dispose();
    console.error(
      `${e.name} ${label(config)}: valid AUC ${TASKS.map((t) => run.validAuc[t]!.toFixed(4)).join(' / ')}, best epoch ${run.best} of ${run.ran}, ${(run.epochSeconds.reduce((a, b) => a + b, 0) / run.ran).toFixed(2)} s/epoch, ${run.params} params [${elapsed(started)}]`,
    );
  }
  // Only the run chosen on validation meets the test part.
  const best = done.reduce((a, b) => (mean(b.validAuc) > mean(a.validAuc) ? b : a));
  const scores = await evaluate(bestModel!, data.test);
  best.testAuc = Object.fromEntries(TASKS.map((t) => [t, scores[t]!.auc!]));
  bestModel!.dispose();
  runs.set(e.name, done);
  chosen.set(e.name, best);
}

// Epoch times of the two chosen settings, side by side: 1 warm-up + 3 timed epochs each, alternating.
const timed = new Map<string, number[]>();
if (chosen.size === 2) {
  const models = [...chosen].map(([name, r]) => ({
    name,
    config: r.config,
    model: modelOf(name === 'embed' ? embedded : onehot, r.config),
  }));
  for (let epoch = 0; epoch < 4; epoch++) {
    for (const m of models) {
      const t0 = performance.now();
      await fit(m.model, parts.get(m.name)!.train, { ...fitOptions(m.config), epochs: 1 });
      if (epoch > 0)
        timed.set(m.name, [...(timed.get(m.name) ?? []), (performance.now() - t0) / 1000]);
    }
  }
  for (const m of models) m.model.dispose();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const short: Record<string, string> = {
  task_income_50k: 'income > 50k',
  task_never_married: 'never married',
};
console.log(
  `\nCensus-Income KDD, ${STRATEGY}, seed ${SEED}${PLAIN ? ', one-hot columns 0/1 (--plain-onehot)' : ''}: one-hot against embedded high-cardinality columns (${HIGH.length}: ${HIGH.join(', ')}), ${file}, train ${train.length} / validation ${valid.length} / test ${test.length} rows, backend ${backend.backend}, load ${loadavg()[0]!.toFixed(1)}\n`,
);
console.log('Validation (the grid; the chosen row of each encoding is marked *):\n');
console.log(
  markdownTable(
    ['encoding', 'setting', ...TASKS.map((t) => `valid AUC ${short[t]}`), 'best epoch', 'params'],
    [...runs].flatMap(([name, rs]) =>
      rs.map((r) => [
        `${name}${r === chosen.get(name) ? ' *' : ''}`,
        label(r.config),
        ...TASKS.map((t) => r.validAuc[t]!.toFixed(4)),
        `${r.best} of ${r.ran}`,
        r.params,
      ]),
    ),
  ),
);
console.log('\nTest (the chosen settings only):\n');
console.log(
  markdownTable(
    [
      'encoding',
      'setting',
      ...TASKS.map((t) => `test AUC ${short[t]}`),
      'parameters',
      'input width',
      's/epoch (side by side)',
    ],
    [...chosen].map(([name, r]) => [
      name,
      label(r.config),
      ...TASKS.map((t) => r.testAuc![t]!.toFixed(4)),
      r.params,
      name === 'embed'
        ? `${embedded.columns.length - HIGH.length} + ${HIGH.length} × ${r.config.dim}`
        : String(onehot.columns.length),
      timed.has(name) ? median(timed.get(name)!).toFixed(2) : '-',
    ]),
  ),
);
console.log(
  `\ncommand: ${commandLine('bench/quality/census-embed.ts')}; total ${elapsed(started)}`,
);
