/**
 * Multi-label benchmarks (issue 7, "Quality"): Scene (6 labels, MULAN split) and SUN09 (111
 * object-presence labels, the original split). Mean test AUC over the labels, per strategy.
 *
 *   npx tsx bench/quality/multilabel.ts [--quick] [--only scene|sun09] [--strategies hard,single] [--seeds N]
 *
 * Protocol (both): the given train/test split; features standardised with the training part's
 * mean and std; 20 % of the training rows (seeded) held out as validation data for early stopping
 * (patience 6, best weights restored); adam; the test part is only scored. Mean AUC = the mean
 * over labels of each label's test ROC AUC (every label has positives in both test sets).
 * --seeds N (Scene only; default 1): repeat with seeds 0..N-1, each drawing its own fit/validation
 * split of the training part and its own initial weights and batch order (the test part is fixed);
 * the table then gives the mean ± std over seeds. SUN09 always runs seed 0.
 *
 * Scene: the labels are nearly exclusive (every train phi between -0.25 and -0.10), so the
 * co-occurrence graph has only negative edges: graph-aware strategies cannot share and fall back
 * to `single`. Compared: an exact L2 logistic regression per label (Newton's method, no tfjs;
 * lambda per label chosen on the validation rows' AUC, trained on the fit rows like the
 * networks), logistic regression per label trained by mtgraph (single, no hidden layer, no weight
 * penalty: early stopping is its only regularisation), single, hard over 6 binary tasks, the
 * graph of graphs/scene.json (one multilabel task: one shared network, 6 sigmoid outputs),
 * clustered on the co-occurrence graph, and mmoe.
 *
 * SUN09: the many-task case. Inputs are the 111 detector scores. Compared: the detector score
 * alone (no training: AUC of score_<object> for present_<object>), the exact L2 logistic
 * regression per label (as for Scene), logistic regression per label trained by mtgraph,
 * hard (no graph), and graph-aware strategies on two graphs: label co-occurrence on the train
 * split (graphs/sun09.json: phi with |phi| >= 0.15, negative edges included) and an affinity
 * learned from the fit rows with measureAffinity('lookahead') on a hard model (edges with
 * |weight| >= 0.1 kept); clustered and soft on each. --quick: 40 epochs at most, and for SUN09
 * the 30 most frequent objects as tasks (all 111 detector scores stay inputs).
 */
import * as tf from '@tensorflow/tfjs';
import {
  initBackend,
  loadGraph,
  compile,
  fit,
  predict,
  measureAffinity,
  TaskGraph,
  type MtgraphModel,
  type PlanOptions,
} from '../../src/index.js';
import {
  QUICK,
  argValue,
  commandLine,
  auc,
  column,
  dataPath,
  elapsed,
  featureMatrix,
  markdownTable,
  meanStd,
  pick,
  readTable,
  splitIndices,
} from './load.js';
import { logisticRegression, predictLinear } from './linear.js';

const started = performance.now();
const backend = await initBackend();
const only = argValue('only');
const strategyFilter = argValue('strategies')?.split(',');
/** --seeds N: Scene is repeated with seeds 0..N-1 (validation split, initial weights, batch order). */
const SEEDS = Number(argValue('seeds') ?? 1);
/** Most epochs (early stopping ends most runs sooner); --quick: 40. */
const maxEpochs = (_data: 'scene' | 'sun09') => (QUICK ? 40 : 150);

interface Setting {
  label: string;
  graph: unknown;
  plan: PlanOptions;
  /** Per task id: the label columns it is trained on (one for binary, several for multilabel). */
  targets: Record<string, string[]>;
  /** Overrides the data set's learning rate (logistic regression converges slowly at 1e-3). */
  learningRate?: number;
}

interface Prepared {
  table: ReturnType<typeof readTable>;
  features: string[];
  labels: string[];
  fitRows: number[];
  valRows: number[];
  testRows: number[];
  take: ReturnType<typeof featureMatrix>['take'];
}

function prepare(path: string, features: string[], labels: string[], seed = 0): Prepared {
  const table = readTable(path);
  const split = table.text.get('split')!;
  const train: number[] = [];
  const testRows: number[] = [];
  split.forEach((s, r) => (s === 'train' ? train : testRows).push(r));
  const [fitPart, valPart] = splitIndices(train.length, [0.8, 0.2], seed) as [number[], number[]];
  const fitRows = fitPart.map((i) => train[i]!);
  const valRows = valPart.map((i) => train[i]!);
  const matrix = featureMatrix(
    features.map((name) => ({ name, values: column(table, name) })),
    train,
  );
  return { table, features, labels, fitRows, valRows, testRows, take: matrix.take };
}

function dataOf(p: Prepared, s: Setting, rows: number[]) {
  const y: Record<string, Float32Array | number[][]> = {};
  for (const [task, cols] of Object.entries(s.targets)) {
    if (cols.length === 1) y[task] = Float32Array.from(pick(column(p.table, cols[0]!), rows));
    else y[task] = rows.map((r) => cols.map((c) => column(p.table, c)[r]!));
  }
  return { x: p.take(rows), y };
}

/** Test AUC of every label, from the model's outputs. */
function labelAucs(p: Prepared, s: Setting, model: MtgraphModel): number[] {
  const out = predict(model, p.take(p.testRows));
  const result: number[] = [];
  for (const [task, cols] of Object.entries(s.targets)) {
    const values = out[task]!.dataSync();
    cols.forEach((c, k) => {
      const scores = Float32Array.from(
        { length: p.testRows.length },
        (_, i) => values[i * cols.length + k]!,
      );
      result.push(auc(scores, pick(column(p.table, c), p.testRows)));
    });
  }
  tf.dispose(Object.values(out));
  return result;
}

interface Row {
  label: string;
  meanAuc: number;
  aucs: number[];
  params: number | string;
  epochs: number | string;
  seconds: number;
}

async function train(
  p: Prepared,
  s: Setting,
  batchSize: number,
  learningRate: number,
  epochs: number,
  seed = 0,
): Promise<Row> {
  const t0 = performance.now();
  const model = compile(s.graph, { ...s.plan, seed, input: { features: p.features.length } });
  try {
    const history = await fit(model, dataOf(p, s, p.fitRows), {
      epochs,
      batchSize,
      seed,
      metrics: false,
      optimizer: { name: 'adam', learningRate: s.learningRate ?? learningRate },
      validationData: dataOf(p, s, p.valRows),
      earlyStopping: { patience: 6 },
    });
    const aucs = labelAucs(p, s, model);
    const row = {
      label: s.label,
      meanAuc: aucs.reduce((a, b) => a + b, 0) / aucs.length,
      aucs,
      params: model.plan.params.total,
      epochs: history.bestEpoch ?? history.epochs,
      seconds: (performance.now() - t0) / 1000,
    };
    console.error(
      `${SEEDS > 1 ? `seed ${seed} ` : ''}${s.label}: mean AUC ${row.meanAuc.toFixed(4)} (best epoch ${row.epochs} of ${history.epochs}, ${row.seconds.toFixed(0)} s) [${elapsed(started)}]`,
    );
    return row;
  } finally {
    model.dispose();
  }
}

const wanted = (s: Setting) => !strategyFilter || strategyFilter.some((f) => s.label.startsWith(f));
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
/** The table; with `groups`, also the mean AUC over each group of label positions (e.g. frequent and rare labels). */
const printRows = (rows: Row[], groups: { name: string; labels: number[] }[] = []) =>
  markdownTable(
    ['strategy', 'mean test AUC', ...groups.map((g) => g.name), 'parameters', 'best epoch', 's'],
    rows.map((r) => [
      r.label,
      r.meanAuc.toFixed(4),
      ...groups.map((g) => mean(g.labels.map((i) => r.aucs[i]!)).toFixed(4)),
      r.params,
      r.epochs,
      r.seconds.toFixed(0),
    ]),
  );

/**
 * The exact reference: per label, L2 logistic regression (Newton) on the fit rows for each lambda
 * of a grid (largest first, warm-started), the lambda with the best validation AUC kept; test AUC
 * of that model. `epochs` carries the chosen lambdas (there are no epochs).
 */
function exactLogistic(p: Prepared, labels: string[], label: string): Row {
  const t0 = performance.now();
  const D = p.features.length;
  const xf = p.take(p.fitRows).values;
  const xv = p.take(p.valRows).values;
  const xt = p.take(p.testRows).values;
  const zeros = (n: number) => new Int32Array(n);
  const aucs: number[] = [];
  const lambdas: number[] = [];
  for (const l of labels) {
    const y = pick(column(p.table, l), p.fitRows);
    let best: { lambda: number; auc: number; w: Float64Array } = {
      lambda: NaN,
      auc: -1,
      w: new Float64Array(0),
    };
    let w: Float64Array | undefined;
    for (const lambda of [1000, 300, 100, 30, 10, 3, 1, 0.3, 0.1]) {
      w = logisticRegression(xf, D, y, lambda, w);
      const a = auc(
        predictLinear([w], xv, D, zeros(p.valRows.length)),
        pick(column(p.table, l), p.valRows),
      );
      if (a > best.auc) best = { lambda, auc: a, w };
    }
    lambdas.push(best.lambda);
    aucs.push(
      auc(
        predictLinear([best.w], xt, D, zeros(p.testRows.length)),
        pick(column(p.table, l), p.testRows),
      ),
    );
  }
  return {
    label,
    meanAuc: aucs.reduce((a, b) => a + b, 0) / aucs.length,
    aucs,
    params: (D + 1) * labels.length,
    epochs: lambdas.join('/'),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** A graph of binary tasks (one per label column) with the given affinities. */
function binaryGraph(
  name: string,
  features: string[],
  tasks: string[],
  targetOf: (t: string) => string,
  edges: [string, string, number][] = [],
): TaskGraph {
  const g = new TaskGraph({ name, input: { columns: features } });
  for (const t of tasks) g.addTask(t, { kind: 'binary', target: targetOf(t) });
  for (const [a, b, w] of edges) g.addAffinity(a, b, { weight: w });
  return g;
}

// ---------------------------------------------------------------------------------------------
if (!only || only === 'scene') {
  const sceneGraph = await loadGraph(new URL('../../graphs/scene.json', import.meta.url).pathname);
  const features = (sceneGraph.getAttribute('input') as { columns: string[] }).columns;
  const labels = ['Beach', 'Sunset', 'FallFoliage', 'Field', 'Mountain', 'Urban'];
  const path = dataPath('multilabel-scene', 'scene.csv');
  const p = prepare(path, features, labels);
  const binary = binaryGraph('scene-binary', features, labels, (t) => t);
  // Co-occurrence graph: label correlation on the training part (fit + validation rows, the same for every seed).
  const trainRows = [...p.fitRows, ...p.valRows];
  const cooc = await measureAffinity(
    binary,
    dataOf(
      p,
      {
        label: '',
        graph: binary,
        plan: {},
        targets: Object.fromEntries(labels.map((l) => [l, [l]])),
      },
      trainRows,
    ),
    { method: 'label-correlation' },
  );
  const weights = cooc.graph.edges().map((e) => cooc.graph.getEdgeAttribute(e, 'weight') as number);
  console.error(
    `scene co-occurrence (phi on train): ${weights.length} edges, weights ${Math.min(...weights).toFixed(3)} .. ${Math.max(...weights).toFixed(3)}`,
  );
  const perLabel = Object.fromEntries(labels.map((l) => [l, [l]]));
  const trunk = { units: [64] };
  const settings: Setting[] = [
    {
      label: 'logistic regression per label (single, trunk [])',
      graph: binary,
      plan: { strategy: 'single', trunk: { units: [] } },
      targets: perLabel,
      learningRate: 1e-2,
    },
    {
      label: 'single (6 binary tasks)',
      graph: binary,
      plan: { strategy: 'single', trunk },
      targets: perLabel,
    },
    {
      label: 'hard (6 binary tasks)',
      graph: binary,
      plan: { strategy: 'hard', trunk },
      targets: perLabel,
    },
    {
      label: 'graphs/scene.json (one multilabel task)',
      graph: sceneGraph,
      plan: { strategy: 'auto', trunk },
      targets: { scene: labels },
    },
    {
      label: 'clustered (co-occurrence graph: all negative)',
      graph: cooc.graph,
      plan: { strategy: 'clustered', trunk },
      targets: perLabel,
    },
    {
      label: 'mmoe (6 binary tasks, 4 experts)',
      graph: binary,
      plan: { strategy: 'mmoe', trunk, mmoe: { experts: 4 } },
      targets: perLabel,
    },
  ];
  const runs = new Map<string, Row[]>();
  const LOGREG = 'L2 logistic regression per label (exact: Newton, lambda on validation)';
  for (let seed = 0; seed < SEEDS; seed++) {
    const ps = seed === 0 ? p : prepare(path, features, labels, seed);
    if (wanted({ label: LOGREG } as Setting)) {
      const row = exactLogistic(ps, labels, LOGREG);
      console.error(
        `${SEEDS > 1 ? `seed ${seed} ` : ''}${LOGREG}: mean AUC ${row.meanAuc.toFixed(4)} (lambda per label ${row.epochs}, ${row.seconds.toFixed(0)} s) [${elapsed(started)}]`,
      );
      runs.set(LOGREG, [...(runs.get(LOGREG) ?? []), row]);
    }
    for (const s of settings.filter(wanted)) {
      const row = await train(ps, s, 64, 1e-3, maxEpochs('scene'), seed);
      runs.set(s.label, [...(runs.get(s.label) ?? []), row]);
    }
  }
  const fmt = (v: number[]) =>
    v.length > 1
      ? `${meanStd(v).mean.toFixed(4)} ± ${meanStd(v).std.toFixed(4)}`
      : v[0]!.toFixed(4);
  console.log(
    `\nScene: mean test AUC over 6 labels, MULAN split (train ${trainRows.length}: ${p.fitRows.length} fit + ${p.valRows.length} validation; test ${p.testRows.length}), ${SEEDS} seed(s)${SEEDS > 1 ? ` (0-${SEEDS - 1}: mean ± std)` : ''}, trunk [64], batch 64, adam 1e-3 (logistic regression 1e-2), backend ${backend.backend}${QUICK ? ', --quick' : ''}\n`,
  );
  console.log(
    markdownTable(
      ['strategy', 'mean test AUC', ...labels, 'parameters', 'best epoch', 's'],
      [...runs].map(([label, r]) => [
        label,
        fmt(r.map((x) => x.meanAuc)),
        ...labels.map((_, k) => mean(r.map((x) => x.aucs[k]!)).toFixed(3)),
        r[0]!.params,
        r.every((x) => typeof x.epochs === 'number')
          ? mean(r.map((x) => Number(x.epochs))).toFixed(0)
          : '-',
        mean(r.map((x) => x.seconds)).toFixed(0),
      ]),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
if (!only || only === 'sun09') {
  const coocGraph = await loadGraph(new URL('../../graphs/sun09.json', import.meta.url).pathname);
  const features = (coocGraph.getAttribute('input') as { columns: string[] }).columns;
  const targetOf = (t: string) => coocGraph.getNodeAttribute(t, 'target') as string;
  const p = prepare(
    dataPath('multilabel-sun09', 'sun09.csv'),
    features,
    coocGraph.nodes().map(targetOf),
  );
  if (QUICK) {
    // --quick: the 30 most frequent objects on the fit rows (every input is kept).
    const count = (t: string) =>
      pick(column(p.table, targetOf(t)), p.fitRows).reduce((a, b) => a + b, 0);
    const keep = new Set([...coocGraph.nodes()].sort((a, b) => count(b) - count(a)).slice(0, 30));
    for (const t of coocGraph.nodes()) if (!keep.has(t)) coocGraph.dropNode(t);
  }
  const tasks = coocGraph.nodes();
  const perTask = Object.fromEntries(tasks.map((t) => [t, [targetOf(t)]]));
  const none = binaryGraph('sun09-none', features, tasks, targetOf);
  const trunk = { units: [64] };
  const t0 = performance.now();
  const learned = await measureAffinity(
    none,
    dataOf(p, { label: '', graph: none, plan: {}, targets: perTask }, p.fitRows),
    {
      method: 'lookahead',
      seed: 0,
      threshold: 0.1,
      batchSize: 256,
      steps: 30,
      warmup: 10,
      plan: { strategy: 'hard', trunk },
    },
  );
  const lw = learned.graph
    .edges()
    .map((e) => learned.graph.getEdgeAttribute(e, 'weight') as number);
  const learnedNote = `lookahead on the fit rows (${learned.steps} measured of ${learned.trainingSteps} steps, ${((performance.now() - t0) / 1000).toFixed(0)} s): ${lw.length} edges with |w| >= 0.1 (${lw.filter((w) => w > 0).length} positive)`;
  console.error(`${learnedNote}\n  ${learned.notes.join('\n  ')}`);
  const cw = coocGraph.edges().map((e) => coocGraph.getEdgeAttribute(e, 'weight') as number);
  const coocNote = `co-occurrence (graphs/sun09.json): ${cw.length} edges (${cw.filter((w) => w > 0).length} positive)`;
  const settings: Setting[] = [
    {
      label: 'logistic regression per label (single, trunk [])',
      graph: none,
      plan: { strategy: 'single', trunk: { units: [] } },
      targets: perTask,
      learningRate: 1e-2,
    },
    { label: 'single', graph: none, plan: { strategy: 'single', trunk }, targets: perTask },
    { label: 'hard (no graph)', graph: none, plan: { strategy: 'hard', trunk }, targets: perTask },
    {
      label: 'clustered (co-occurrence)',
      graph: coocGraph,
      plan: { strategy: 'clustered', trunk },
      targets: perTask,
    },
    {
      label: 'clustered (learned: lookahead)',
      graph: learned.graph,
      plan: { strategy: 'clustered', trunk },
      targets: perTask,
    },
    {
      label: 'soft (co-occurrence)',
      graph: coocGraph,
      plan: { strategy: 'soft', trunk },
      targets: perTask,
    },
    {
      label: 'soft (learned: lookahead)',
      graph: learned.graph,
      plan: { strategy: 'soft', trunk },
      targets: perTask,
    },
    {
      label: 'tree (co-occurrence)',
      graph: coocGraph,
      plan: { strategy: 'tree', trunk: { units: [64, 64] }, tree: { thresholds: [0, 0.2] } },
      targets: perTask,
    },
  ];
  const rows: Row[] = [];
  // The detector alone: each object's score as its presence predictor, on the test rows.
  const detector = tasks.map((t) =>
    auc(
      pick(column(p.table, `score_${t}`), p.testRows),
      pick(column(p.table, targetOf(t)), p.testRows),
    ),
  );
  // The same on the training part: the detector scores are not distributed alike on the two sides of the split.
  const trainRows = [...p.fitRows, ...p.valRows];
  const detectorTrain = mean(
    tasks
      .map((t) =>
        auc(
          pick(column(p.table, `score_${t}`), trainRows),
          pick(column(p.table, targetOf(t)), trainRows),
        ),
      )
      .filter(Number.isFinite),
  );
  const meanScore = (rows: number[]) =>
    mean(rows.map((r) => mean(tasks.map((t) => column(p.table, `score_${t}`)[r]!))));
  const shiftNote = `detector score alone: mean AUC ${detectorTrain.toFixed(4)} on the training part, ${mean(detector).toFixed(4)} on the test part; mean detector score ${meanScore(trainRows).toFixed(3)} / ${meanScore(p.testRows).toFixed(3)}`;
  rows.push({
    label: 'detector score alone (no training)',
    meanAuc: mean(detector),
    aucs: detector,
    params: 0,
    epochs: '-',
    seconds: 0,
  });
  // The exact reference, as for Scene: L2 logistic regression per label (Newton, lambda on the validation AUC).
  const EXACT = 'L2 logistic regression per label (exact: Newton, lambda on validation)';
  if (wanted({ label: EXACT } as Setting)) {
    const row = exactLogistic(p, tasks.map(targetOf), EXACT);
    console.error(
      `${EXACT}: mean AUC ${row.meanAuc.toFixed(4)} (${row.seconds.toFixed(0)} s) [${elapsed(started)}]`,
    );
    rows.push({ ...row, epochs: '-' });
  }
  for (const s of settings.filter(wanted))
    rows.push(await train(p, s, 256, 3e-3, maxEpochs('sun09')));
  console.log(
    `\nSUN09: mean test AUC over ${tasks.length} labels${QUICK ? ' (--quick: the 30 most frequent)' : ''}, original split (fit ${p.fitRows.length} + validation ${p.valRows.length}; test ${p.testRows.length}), trunk [64] (tree [64, 64]), batch 256, adam 3e-3 (logistic regression 1e-2), backend ${backend.backend}${QUICK ? ', --quick' : ''}\n`,
  );
  // Frequent and rare objects: positives among the fit rows (the 30 most frequent vs the rest).
  const positives = tasks.map((t) =>
    pick(column(p.table, targetOf(t)), p.fitRows).reduce((a, b) => a + b, 0),
  );
  const byCount = tasks.map((_, i) => i).sort((a, b) => positives[b]! - positives[a]!);
  const groups =
    tasks.length > 30
      ? [
          {
            name: `30 most frequent (${positives[byCount[29]!]}+ positives)`,
            labels: byCount.slice(0, 30),
          },
          {
            name: `other ${tasks.length - 30} (${positives[byCount.at(-1)!]}-${positives[byCount[30]!]} positives)`,
            labels: byCount.slice(30),
          },
        ]
      : [];
  console.log(printRows(rows, groups));
  console.log(`\ngraphs: ${coocNote}; ${learnedNote}.\n${shiftNote}.`);
}
console.log(`\ncommand: ${commandLine('bench/quality/multilabel.ts')}; total ${elapsed(started)}`);
