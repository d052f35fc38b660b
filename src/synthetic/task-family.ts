import { TaskGraph } from '../graph/task-graph.js';
import { seededRandom } from '../graph/random.js';
import { OptionsError } from '../errors.js';

export interface TaskFamilyOptions {
  /** Number of groups of related tasks (default 3). */
  groups?: number;
  /** Tasks per group (default 4). */
  tasksPerGroup?: number;
  /** Input features (default 12). */
  features?: number;
  /** Hidden ReLU units of each group's true function (default 4). */
  hidden?: number;
  /** Training rows (default 80): little data per task. */
  trainRows?: number;
  /** Test rows (default 1000). */
  testRows?: number;
  /** How far each task departs from its group's function (default 0.15). */
  taskSpread?: number;
  /** Label noise standard deviation (default 0.3). */
  noise?: number;
  /** Fraction of training labels missing (NaN), per task (default 0.2). */
  missing?: number;
  seed?: number;
}

export interface TaskFamilyData {
  x: number[][];
  y: Record<string, number[]>;
}

export interface TaskFamily {
  /** The declared graph: positive affinities inside groups, one conflicting pair across two groups. */
  graph: TaskGraph;
  train: TaskFamilyData;
  test: TaskFamilyData;
  /** The true groups, and the conflicting pair. */
  truth: { groups: string[][]; conflict: [string, string] };
}

function gaussian(rand: () => number): () => number {
  return () => {
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/**
 * A family of regression tasks with a known structure, for demos and tests: tasks in a group
 * are noisy variations of one nonlinear function (a random ReLU network) of the shared inputs;
 * different groups have unrelated functions (each reads its own share of the features). The graph declares affinities inside groups
 * (weights 0.6-0.9) and one conflicting pair between the first two groups (weight -0.5).
 * Deterministic for a seed.
 */
export function generateTaskFamily(options: TaskFamilyOptions = {}): TaskFamily {
  const G = options.groups ?? 3;
  const K = options.tasksPerGroup ?? 4;
  const d = options.features ?? 12;
  const h = options.hidden ?? 4;
  const nTrain = options.trainRows ?? 80;
  const nTest = options.testRows ?? 1000;
  const spread = options.taskSpread ?? 0.15;
  const noise = options.noise ?? 0.3;
  const missing = options.missing ?? 0.2;
  if (G < 2 || K < 2)
    throw new OptionsError(
      'mtgraph/synthetic: a task family needs at least 2 groups of 2 tasks (got groups ' +
        G +
        ', tasksPerGroup ' +
        K +
        ').',
      { path: 'options.groups' },
    );
  if (!(missing >= 0 && missing < 1))
    throw new OptionsError(`mtgraph/synthetic: missing must be in [0, 1) (got ${missing}).`, {
      path: 'options.missing',
      got: missing,
    });
  const rand = seededRandom(options.seed ?? 0);
  const normal = gaussian(rand);
  // One random one-hidden-layer ReLU network per group, f_g(x) = v . relu(W x), reading its own
  // share of the features (i % G === g) so that groups are unrelated; scaled to mean 0, variance 1.
  const nets = Array.from({ length: G }, (_, g) => ({
    W: Array.from({ length: h }, () =>
      Array.from({ length: d }, (_, i) => (i % G === g ? normal() : 0)),
    ),
    v: Array.from({ length: h }, () => normal()),
    shift: 0,
    scale: 1,
  }));
  const raw = (g: number, x: number[]) => {
    const { W, v } = nets[g]!;
    let s = 0;
    for (let j = 0; j < h; j++) {
      let z = 0;
      for (let i = 0; i < d; i++) z += W[j]![i]! * x[i]!;
      s += v[j]! * Math.max(0, z);
    }
    return s;
  };
  const calibration = Array.from({ length: 2000 }, () => Array.from({ length: d }, () => normal()));
  nets.forEach((net, g) => {
    const values = calibration.map((x) => raw(g, x));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) || 1;
    net.shift = mean;
    net.scale = 1 / sd;
  });
  const f = (g: number, x: number[]) => (raw(g, x) - nets[g]!.shift) * nets[g]!.scale;
  const tasks: Array<{ id: string; group: number; scale: number; linear: number[] }> = [];
  for (let g = 0; g < G; g++) {
    for (let k = 0; k < K; k++) {
      tasks.push({
        id: `g${g}_t${k}`,
        group: g,
        scale: 1 + spread * normal(),
        linear: Array.from({ length: d }, () => (spread * normal()) / Math.sqrt(d)),
      });
    }
  }
  const sample = (n: number, drop: number): TaskFamilyData => {
    const x = Array.from({ length: n }, () => Array.from({ length: d }, () => normal()));
    const y: Record<string, number[]> = {};
    const groupValues = x.map((row) => Array.from({ length: G }, (_, g) => f(g, row)));
    for (const t of tasks) {
      y[t.id] = x.map((row, r) => {
        let lin = 0;
        for (let i = 0; i < d; i++) lin += t.linear[i]! * row[i]!;
        const value = t.scale * groupValues[r]![t.group]! + lin + noise * normal();
        return rand() < drop ? Number.NaN : value;
      });
    }
    return { x, y };
  };
  const train = sample(nTrain, missing);
  const test = sample(nTest, 0);

  const graph = new TaskGraph({
    input: { features: d },
    name: 'synthetic task family',
    description: `${G} groups of ${K} related regression tasks (noisy variations of one nonlinear function per group), unrelated across groups, one conflicting pair; ${nTrain} training rows with ${Math.round(missing * 100)}% of labels missing.`,
  });
  for (const t of tasks) graph.addTask(t.id, { kind: 'regression' });
  for (let g = 0; g < G; g++) {
    for (let a = 0; a < K; a++) {
      for (let b = a + 1; b < K; b++)
        graph.addAffinity(`g${g}_t${a}`, `g${g}_t${b}`, {
          weight: Math.round((0.6 + 0.3 * rand()) * 100) / 100,
        });
    }
  }
  const conflict: [string, string] = ['g0_t0', 'g1_t0'];
  graph.addAffinity(conflict[0], conflict[1], { weight: -0.5 });
  const groups = Array.from({ length: G }, (_, g) =>
    tasks.filter((t) => t.group === g).map((t) => t.id),
  );
  return { graph, train, test, truth: { groups, conflict } };
}
