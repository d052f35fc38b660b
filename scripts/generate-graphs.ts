/**
 * Generates the example task graphs in graphs/ (run with `npm run graphs`). Two are declared by
 * hand; the others are measured from the datasets in ../shared/data (next to the checkout).
 * Deterministic: the same data gives byte-identical files.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskGraph, saveGraph, type AffinityAttributes } from '../src/index.js';
import { readCsv, requireDataDir, type CsvTable } from './csv.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const defaultDataDir = path.resolve(repoRoot, '../shared/data');
export const graphsDir = path.join(repoRoot, 'graphs');

/** Written as `$schema` in every file, relative to graphs/. */
const SCHEMA_REF = '../graph.schema.json';

/** Rounds a weight to 3 decimals (never -0). */
function round3(x: number): number {
  const r = Math.round(x * 1000) / 1000;
  return r === 0 ? 0 : r;
}

/** Adds an affinity with a readable, stable key (`a--b`): graphology's generated keys change from run to run. */
function link(graph: TaskGraph, a: string, b: string, attributes: AffinityAttributes): void {
  graph.addAffinity(a, b, attributes, `${a}--${b}`);
}

/** Checks a column holds only 0 and 1. */
function binaryColumn(table: CsvTable, column: string): Float64Array {
  const values = table.numbers(column);
  for (let r = 0; r < values.length; r++) {
    if (values[r] !== 0 && values[r] !== 1) {
      throw new Error(
        `${path.basename(table.file)}: column "${column}" line ${r + 2} is not 0/1 (got ${values[r]}).`,
      );
    }
  }
  return values;
}

/** Phi coefficient (Pearson correlation of two 0/1 columns) over the given rows; NaN when a column is constant there. */
export function phi(a: Float64Array, b: Float64Array, rows?: readonly number[]): number {
  let n = 0;
  let n1 = 0;
  let m1 = 0;
  let both = 0;
  const visit = (i: number): void => {
    n++;
    n1 += a[i]!;
    m1 += b[i]!;
    both += a[i]! * b[i]!;
  };
  if (rows) for (const i of rows) visit(i);
  else for (let i = 0; i < a.length; i++) visit(i);
  // phi = (n*n11 - n1.*n.1) / sqrt(n1. n0. n.1 n.0), in counts so that it is exact up to the last division.
  const denominator = Math.sqrt(n1 * (n - n1) * m1 * (n - m1));
  return denominator === 0 ? Number.NaN : (n * both - n1 * m1) / denominator;
}

/** Pearson correlation of two columns. */
function pearson(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    cov += x * y;
    va += x * x;
    vb += y * y;
  }
  return cov / Math.sqrt(va * vb);
}

// ---------------------------------------------------------------------------------------------
// Declared graphs (no data)

/** The two-head model of the Keras functional-API guide: 10 features, a binary and a 3-class head. */
function kerasTwoTask(): TaskGraph {
  const g = new TaskGraph({
    name: 'keras-two-task',
    description:
      'The classic two-output model of the Keras functional API: 10 numeric features feed a binary head ' +
      '(click, sigmoid) and a 3-class softmax head (segment). The one affinity (0.7) is declared, not measured: ' +
      'the two tasks describe the same users, so they share a trunk.',
    input: { features: 10 },
  });
  g.addTask('click', { kind: 'binary', description: 'Did the user click (0/1).' });
  g.addTask('segment', {
    kind: 'multiclass',
    classes: 3,
    description: 'Which of 3 user segments.',
  });
  link(g, 'click', 'segment', { weight: 0.7, source: 'declared' });
  return g;
}

/** A feed-ranking model with engagement and satisfaction objectives, affinities from the literature. */
function recommender(): TaskGraph {
  const g = new TaskGraph({
    name: 'recommender',
    description:
      'Multi-objective feed ranking: click, like, share and conversion (binary) and watch_time ' +
      '(regression, huber loss for its heavy tail) from user, item and context features. Affinities are declared ' +
      'from the literature: click and conversion are strongly related (conversion happens only after a click, ' +
      'ESMM, Ma et al. 2018), like and share are both explicit satisfaction signals (MMoE for YouTube, Zhao et ' +
      'al. 2019), like and watch_time are weakly related. click and watch_time conflict (-0.3): optimising ' +
      'clicks promotes clickbait that is abandoned early, the reason YouTube ranks by expected watch time ' +
      'rather than click-through rate (Covington et al. 2016).',
    input: {
      columns: [
        'user_age',
        'user_tenure_days',
        'user_country',
        'device_type',
        'hour_of_day',
        'day_of_week',
        'item_category',
        'item_age_hours',
        'item_duration_s',
        'creator_followers',
        'user_item_similarity',
        'user_past_ctr',
      ],
      categorical: ['user_country', 'device_type', 'item_category'],
    },
  });
  g.addTask('click', { kind: 'binary', description: 'The user opened the item.' });
  g.addTask('like', { kind: 'binary', description: 'The user liked the item.' });
  g.addTask('share', { kind: 'binary', description: 'The user shared the item.' });
  g.addTask('conversion', {
    kind: 'binary',
    description: 'The user bought or subscribed after the item.',
  });
  g.addTask('watch_time', {
    kind: 'regression',
    loss: 'huber',
    description: 'Seconds watched (log-scaled).',
  });
  link(g, 'click', 'conversion', { weight: 0.8, source: 'declared' });
  link(g, 'like', 'share', { weight: 0.8, source: 'declared' });
  link(g, 'click', 'like', { weight: 0.4, source: 'declared' });
  link(g, 'like', 'watch_time', { weight: 0.4, source: 'declared' });
  link(g, 'click', 'watch_time', { weight: -0.3, source: 'declared' });
  return g;
}

// ---------------------------------------------------------------------------------------------
// Measured graphs (../shared/data)

/** Census-Income KDD: three binary tasks (the MMoE benchmark), affinities = phi of the labels. */
function censusIncome(dataDir: string): TaskGraph {
  const dir = path.join(dataDir, 'census-income-kdd');
  const table = readCsv(path.join(dir, 'census_kdd_test_coded.csv'));
  const tasks = ['task_income_50k', 'task_never_married', 'task_education_college'];
  const sources = ['income_50k', 'marital_stat', 'education'];
  const dropped = new Set([...tasks, ...sources, 'instance_weight']);
  const columns = table.header.filter((c) => !dropped.has(c));
  // The codebook lists the 29 integer-coded string columns; the README names 5 numeric columns that are codes too.
  const codebook = JSON.parse(readFileSync(path.join(dir, 'codebook.json'), 'utf8')) as {
    categorical_codebook: Record<string, unknown>;
  };
  const coded = new Set([
    ...Object.keys(codebook.categorical_codebook),
    'det_ind_code',
    'det_occ_code',
    'own_or_self',
    'vet_benefits',
    'year',
  ]);
  const categorical = columns.filter((c) => coded.has(c));

  const g = new TaskGraph({
    name: 'census-income',
    description:
      'UCI Census-Income (KDD), the MMoE benchmark (Ma et al. 2018): three binary tasks, income over 50k, ' +
      `never married and college education, from the ${columns.length} census columns left without the tasks' ` +
      'source columns (income_50k, marital_stat, education) and the survey weight (instance_weight). Affinities ' +
      `are the phi correlation of the task labels over all ${table.rows.toLocaleString('en-US')} rows of the KDD ` +
      'test file.',
    input: { columns, categorical },
  });
  const labels = new Map<string, Float64Array>();
  const description: Record<string, string> = {
    task_income_50k: 'Income over $50,000 (income_50k = "50000+.").',
    task_never_married: 'Never married (marital_stat = "Never married").',
    task_education_college: 'Education at least an associate degree (see the dataset README).',
  };
  for (const task of tasks) {
    g.addTask(task, { kind: 'binary', target: task, description: description[task]! });
    labels.set(task, binaryColumn(table, task));
  }
  for (let i = 0; i < tasks.length; i++) {
    for (let j = i + 1; j < tasks.length; j++) {
      const w = round3(phi(labels.get(tasks[i]!)!, labels.get(tasks[j]!)!));
      if (w !== 0) link(g, tasks[i]!, tasks[j]!, { weight: w, source: 'label-correlation' });
    }
  }
  return g;
}

/** School: one regression task per school; a symmetric 5-nearest-neighbour graph on school covariates. */
function school(dataDir: string, k = 5): TaskGraph {
  const table = readCsv(path.join(dataDir, 'school', 'school.csv'));
  const features = table.header.filter((c) => c !== 'task' && c !== 'exam_score');
  const task = table.numbers('task');
  const count = Math.max(...task) + 1;
  const id = (s: number) => `school_${String(s).padStart(3, '0')}`;
  const years = ['year_1985', 'year_1986', 'year_1987'].map((c) => table.numbers(c));
  const genders = ['school_mixed', 'school_boys', 'school_girls'];
  const denominations = ['denom_maintained', 'denom_church_of_england', 'denom_roman_catholic'];

  // pct_fsm and pct_vr1_band are constant within a school and year, not across years: average the yearly values.
  // Gender type and denomination are constant within a school (checked).
  const yearly = Array.from(
    { length: count },
    () => new Map<number, { fsm: number; vr1: number }>(),
  );
  const fsm = table.numbers('pct_fsm');
  const vr1 = table.numbers('pct_vr1_band');
  const category = (names: string[]) => {
    const cols = names.map((c) => table.numbers(c));
    const out = new Array<number>(count).fill(-1);
    for (let r = 0; r < table.rows; r++) {
      const value = cols.findIndex((col) => col[r] === 1);
      const s = task[r]!;
      if (value < 0 || (out[s] !== -1 && out[s] !== value)) {
        throw new Error(
          `school.csv line ${r + 2}: ${names.join('/')} is not one constant category within school ${s}.`,
        );
      }
      out[s] = value;
    }
    return out;
  };
  for (let r = 0; r < table.rows; r++) {
    const s = task[r]!;
    if (!Number.isInteger(s) || s < 0)
      throw new Error(`school.csv line ${r + 2}: task must be a school index (got ${s}).`);
    const year = years.findIndex((col) => col[r] === 1);
    const seen = yearly[s]!.get(year);
    if (seen && (seen.fsm !== fsm[r] || seen.vr1 !== vr1[r])) {
      throw new Error(
        `school.csv line ${r + 2}: pct_fsm / pct_vr1_band differ within school ${s} and year index ${year}.`,
      );
    }
    yearly[s]!.set(year, { fsm: fsm[r]!, vr1: vr1[r]! });
  }
  const gender = category(genders);
  const denomination = category(denominations);
  const mean = (s: number, key: 'fsm' | 'vr1') => {
    const values = [...yearly[s]!.values()].map((v) => v[key]);
    if (values.length === 0) throw new Error(`school.csv: school ${s} has no students.`);
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  const schoolFsm = Array.from({ length: count }, (_, s) => mean(s, 'fsm'));
  const schoolVr1 = Array.from({ length: count }, (_, s) => mean(s, 'vr1'));
  const range = (xs: number[]) => Math.max(...xs) - Math.min(...xs) || 1;
  const fsmRange = range(schoolFsm);
  const vr1Range = range(schoolVr1);
  // Gower similarity: 1 - the mean of the per-covariate distances (range-scaled numbers, 0/1 mismatch for categories).
  const similarity = (a: number, b: number) =>
    1 -
    (Math.abs(schoolFsm[a]! - schoolFsm[b]!) / fsmRange +
      Math.abs(schoolVr1[a]! - schoolVr1[b]!) / vr1Range +
      (gender[a] === gender[b] ? 0 : 1) +
      (denomination[a] === denomination[b] ? 0 : 1)) /
      4;

  const g = new TaskGraph({
    name: 'school',
    description:
      `Inner London Education Authority exam scores (the School benchmark of Evgeniou & Pontil): ${count} ` +
      "regression tasks, one per school, each predicting a pupil's exam_score from 27 pupil and school features. " +
      `Affinities form a symmetric ${k}-nearest-neighbour graph between schools on their school-level covariates ` +
      "(pct_fsm and pct_vr1_band averaged over the school's years, gender type, denomination); the weight is " +
      'the Gower similarity (1 - mean range-scaled distance), in (0, 1].',
    input: { columns: features },
  });
  for (let s = 0; s < count; s++) g.addTask(id(s), { kind: 'regression', target: 'exam_score' });
  const pairs = new Map<string, [number, number]>();
  for (let a = 0; a < count; a++) {
    const nearest = Array.from({ length: count }, (_, b) => b)
      .filter((b) => b !== a)
      .map((b) => ({ b, sim: similarity(a, b) }))
      .sort((x, y) => y.sim - x.sim || x.b - y.b)
      .slice(0, k);
    for (const { b } of nearest) {
      const pair: [number, number] = a < b ? [a, b] : [b, a];
      pairs.set(`${pair[0]}:${pair[1]}`, pair);
    }
  }
  const ordered = [...pairs.values()].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  for (const [a, b] of ordered) {
    const w = round3(similarity(a, b));
    if (!(w > 0))
      throw new Error(
        `school: the similarity of schools ${a} and ${b} rounds to ${w}; expected a weight in (0, 1].`,
      );
    link(g, id(a), id(b), { weight: w, source: 'covariate-knn' });
  }
  return g;
}

/** SUN09: 111 binary object-presence tasks; affinities = label co-occurrence (phi) on the train split. */
function sun09(dataDir: string, threshold = 0.15): TaskGraph {
  const table = readCsv(path.join(dataDir, 'multilabel-sun09', 'sun09.csv'));
  const objects = table.header
    .filter((c) => c.startsWith('present_'))
    .map((c) => c.slice('present_'.length));
  const scores = table.header.filter((c) => c.startsWith('score_'));
  const train = table.text('split').flatMap((split, r) => (split === 'train' ? [r] : []));
  if (train.length === 0) throw new Error('sun09.csv: no rows with split = "train".');
  const g = new TaskGraph({
    name: 'sun09',
    description:
      `SUN09 object presence (Choi et al. 2010): ${objects.length} binary tasks, one per object class, ` +
      `predicted from the ${scores.length} detector scores. Affinities are label co-occurrence on the train split ` +
      `(${train.length.toLocaleString('en-US')} images): the phi correlation of two presence columns, kept where ` +
      `|phi| >= ${threshold}; negative edges are objects that rarely appear together (indoor vs outdoor scenes).`,
    input: { columns: scores },
  });
  const labels = objects.map((o) => binaryColumn(table, `present_${o}`));
  for (const o of objects) g.addTask(o, { kind: 'binary', target: `present_${o}` });
  for (let i = 0; i < objects.length; i++) {
    for (let j = i + 1; j < objects.length; j++) {
      const p = phi(labels[i]!, labels[j]!, train);
      if (Number.isFinite(p) && Math.abs(p) >= threshold)
        link(g, objects[i]!, objects[j]!, { weight: round3(p), source: 'label-correlation' });
    }
  }
  return g;
}

/** SARCOS: the 7 joint torques as three multi-output tasks (shoulder, elbow, wrist). */
function sarcos(dataDir: string): TaskGraph {
  const table = readCsv(path.join(dataDir, 'sarcos', 'sarcos_test.csv'));
  const inputs = table.header.filter((c) => /^d{0,2}q\d$/.test(c));
  const groups: Record<string, string[]> = {
    shoulder: ['tau1', 'tau2', 'tau3'],
    elbow: ['tau4'],
    wrist: ['tau5', 'tau6', 'tau7'],
  };
  const g = new TaskGraph({
    name: 'sarcos',
    description:
      'SARCOS inverse dynamics (Vijayakumar & Schaal 2000), 7-DOF anthropomorphic arm: the joint torques ' +
      `from the ${inputs.length} joint positions, velocities and accelerations, as three regression tasks by arm segment: ` +
      'shoulder (tau1-tau3), elbow (tau4), wrist (tau5-tau7). An affinity is the mean absolute Pearson ' +
      `correlation between the two segments' torques over the ${table.rows.toLocaleString('en-US')} rows of the ` +
      'test split (joint sign conventions are arbitrary, so only the strength counts).',
    input: { columns: inputs },
  });
  const torque = new Map<string, Float64Array>();
  for (const [task, cols] of Object.entries(groups)) {
    for (const c of cols) torque.set(c, table.numbers(c));
    g.addTask(
      task,
      cols.length === 1
        ? { kind: 'regression', target: cols[0]! }
        : { kind: 'regression', outputs: cols, target: cols },
    );
  }
  const names = Object.keys(groups);
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      let sum = 0;
      let n = 0;
      for (const a of groups[names[i]!]!) {
        for (const b of groups[names[j]!]!) {
          sum += Math.abs(pearson(torque.get(a)!, torque.get(b)!));
          n++;
        }
      }
      const w = round3(sum / n);
      if (w !== 0) link(g, names[i]!, names[j]!, { weight: w, source: 'target-correlation' });
    }
  }
  return g;
}

/** Scene: one multilabel task with the 6 scene labels (the multi-label formulation: one sigmoid per label). */
function scene(dataDir: string): TaskGraph {
  const table = readCsv(path.join(dataDir, 'multilabel-scene', 'scene.csv'));
  const labels = ['Beach', 'Sunset', 'FallFoliage', 'Field', 'Mountain', 'Urban'];
  const features = table.header.filter((c) => /^Att\d+$/.test(c));
  const train = table.text('split').flatMap((split, r) => (split === 'train' ? [r] : []));
  const columns = labels.map((l) => binaryColumn(table, l));
  const phis: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) phis.push(phi(columns[i]!, columns[j]!, train));
  }
  const g = new TaskGraph({
    name: 'scene',
    description:
      `Scene classification (Boutell et al. 2004): one multilabel task with ${labels.length} labels ` +
      `(one sigmoid each) from ${features.length} colour features. No affinities: a single task. The labels are ` +
      `nearly exclusive (train-split phi of every pair between ${round3(Math.min(...phis))} and ` +
      `${round3(Math.max(...phis))}), so declaring them as six binary tasks would give only negative edges.`,
    input: { columns: features },
  });
  g.addTask('scene', { kind: 'multilabel', labels, target: labels });
  return g;
}

/**
 * UCI wine quality (Cortez et al. 2009): the quality score of 6,497 vinho verde wines (regression)
 * and their colour (binary, red or white) from 11 physico-chemical measurements. The affinity is
 * the absolute Pearson correlation between quality and colour over all rows.
 */
function wineQuality(dataDir: string): TaskGraph {
  const table = readCsv(path.join(dataDir, 'wine-quality', 'wine_quality.csv'));
  const inputs = table.header.filter((c) => c !== 'quality' && c !== 'is_red');
  const w = round3(Math.abs(pearson(table.numbers('quality'), table.numbers('is_red'))));
  const g = new TaskGraph({
    name: 'wine-quality',
    description:
      `UCI wine quality (Cortez et al. 2009): ${table.rows.toLocaleString('en-US')} red and white vinho verde wines, ` +
      `two tasks from ${inputs.length} physico-chemical measurements: the sensory quality score (regression, 0-10) and ` +
      'the colour (binary, 1 = red). The affinity is the absolute Pearson correlation between quality and colour over ' +
      `all rows (${w}): the two tasks are nearly unrelated, a case where sharing buys little.`,
    input: { columns: inputs },
  });
  g.addTask('quality', { kind: 'regression' });
  g.addTask('is_red', { kind: 'binary' });
  if (w !== 0) link(g, 'quality', 'is_red', { weight: w, source: 'target-correlation' });
  return g;
}

// ---------------------------------------------------------------------------------------------

/** Every graph file, in writing order. */
export const GRAPH_FILES = [
  'keras-two-task.json',
  'recommender.json',
  'census-income.json',
  'school.json',
  'sun09.json',
  'sarcos.json',
  'scene.json',
  'wine-quality.json',
] as const;

/** Builds every example graph; throws a clear error when the shared data folder is missing. */
export function buildGraphs(dataDir = defaultDataDir): Map<string, TaskGraph> {
  requireDataDir(dataDir);
  const graphs = new Map<string, TaskGraph>([
    ['keras-two-task.json', kerasTwoTask()],
    ['recommender.json', recommender()],
    ['census-income.json', censusIncome(dataDir)],
    ['school.json', school(dataDir)],
    ['sun09.json', sun09(dataDir)],
    ['sarcos.json', sarcos(dataDir)],
    ['scene.json', scene(dataDir)],
    ['wine-quality.json', wineQuality(dataDir)],
  ]);
  return graphs;
}

/** Writes every graph into `outDir` (graphs/ by default) and returns one summary line per file. */
export async function writeGraphs(outDir = graphsDir, dataDir = defaultDataDir): Promise<string[]> {
  const lines: string[] = [];
  for (const [file, graph] of buildGraphs(dataDir)) {
    await saveGraph(graph, path.join(outDir, file), { schema: SCHEMA_REF });
    let negative = 0;
    graph.forEachEdge((_e, attrs) => {
      if ((attrs.weight ?? 1) < 0) negative++;
    });
    lines.push(
      `${file.padEnd(20)} ${String(graph.order).padStart(4)} tasks ${String(graph.size).padStart(4)} affinities (${negative} negative)`,
    );
  }
  return lines;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : graphsDir;
  writeGraphs(outDir)
    .then((lines) => {
      process.stdout.write(
        `wrote ${path.relative(process.cwd(), outDir) || '.'}/\n${lines.map((l) => `  ${l}`).join('\n')}\n`,
      );
      if (!existsSync(path.join(repoRoot, 'graph.schema.json')))
        process.stdout.write('note: graph.schema.json is missing; run npm run schema.\n');
    })
    .catch((error: unknown) => {
      process.stderr.write(
        `generate-graphs: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    });
}
