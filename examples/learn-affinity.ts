/**
 * Learning task affinities from a real dataset: the SARCOS robot arm, whose 7 joint torques
 * (tau1..tau7) are predicted from the 21 joint positions, velocities and accelerations.
 *
 * 1. a cheap prior without training: the correlation of the targets ('label-correlation');
 * 2. what training says: how a step on one torque's gradient changes the others' losses through a
 *    shared trunk ('lookahead', task affinity grouping);
 * 3. the learned graph's edges, the groups `groupTasks` chooses for a budget of 3, and what
 *    `plan(..., { strategy: 'auto' })` makes of each graph.
 *
 * graphs/sarcos.json groups the torques by arm segment (shoulder tau1-3, elbow tau4, wrist
 * tau5-7); here each torque is its own task, so the data can say which ones belong together.
 *
 * Reads ../shared/data/sarcos/sarcos_test.csv (4,449 rows) next to the checkout; without it the
 * example says so and exits. Run: npx tsx examples/learn-affinity.ts   (about 10 s)
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  initBackend,
  TaskGraph,
  readCsv,
  measureAffinity,
  groupTasks,
  plan,
  explain,
  type AffinityResult,
} from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.resolve(here, '../../shared/data/sarcos/sarcos_test.csv');
if (!existsSync(file)) {
  console.log(`learn-affinity: skipped — the SARCOS data is not here (${file}).`);
  console.log(
    'It lives in ../shared/data next to the checkout; see examples/demo.ts for an example on generated data.',
  );
  process.exit(0);
}

const started = performance.now();
const backend = await initBackend();
const joints = [1, 2, 3, 4, 5, 6, 7];
const torques = joints.map((j) => `tau${j}`);
const graph = new TaskGraph({
  name: 'sarcos-7',
  description: 'SARCOS inverse dynamics: the 7 joint torques, one regression task each.',
  input: { columns: ['q', 'dq', 'ddq'].flatMap((p) => joints.map((j) => `${p}${j}`)) },
});
for (const t of torques) graph.addTask(t, { kind: 'regression' }); // target column = the task id

// Features are standardised by readCsv. The torques' scales differ 20-fold (std 0.97 to 20.4):
// standardise them too, or the largest torque's gradient dominates the shared trunk and a
// lookahead step on it overshoots.
const csv = await readCsv(file, graph);
for (const t of torques) {
  const y = csv.data.y[t] as Float32Array;
  let mean = 0;
  for (const v of y) mean += v / y.length;
  let sd = 0;
  for (const v of y) sd += (v - mean) ** 2 / y.length;
  sd = Math.sqrt(sd) || 1;
  for (let r = 0; r < y.length; r++) y[r] = (y[r]! - mean) / sd;
}
console.log(
  `SARCOS: ${csv.rows} rows, ${csv.columns.length} inputs, ${torques.length} tasks (${torques.join(', ')}); backend ${backend.backend}`,
);

const f = (v: number) => (Number.isFinite(v) ? (v >= 0 ? ' ' : '') + v.toFixed(2) : '  — ');

function show(r: AffinityResult): void {
  console.log(
    `\n== ${r.method}${r.steps ? ` (${r.steps} measured steps of ${r.trainingSteps})` : ''}`,
  );
  for (const note of r.notes) console.log(`   ${note}`);
  console.log(
    `\n   directed matrix (row i -> column j):\n        ${r.tasks.map((t) => t.padStart(6)).join('')}`,
  );
  r.matrix.forEach((row, i) =>
    console.log(`   ${r.tasks[i]!.padEnd(5)}${row.map((v) => f(v).padStart(6)).join('')}`),
  );
  const edges = r.graph
    .mapEdges((_e, a, s, t) => ({ s, t, w: a.weight as number }))
    .sort((a, b) => b.w - a.w);
  console.log(`\n   affinity graph: ${edges.length} edges (symmetric weight), strongest first:`);
  console.log(`   ${edges.map((e) => `${e.s}-${e.t} ${f(e.w).trim()}`).join(', ')}`);
  const grouped = groupTasks(r, { groups: 3 });
  console.log(
    `\n   groupTasks, at most 3 groups (${grouped.method}, score ${grouped.score.toFixed(3)}): ${grouped.groups.map((g) => `{${g.join(', ')}}`).join(' ')}`,
  );
  for (const note of grouped.notes.slice(1)) console.log(`   ${note}`);
  const p = plan(r.graph, { strategy: 'auto', trunk: { units: [64, 32] } });
  console.log(`\n   plan(this graph, { strategy: 'auto' }):`);
  console.log(
    explain(p)
      .split('\n')
      .map((l) => `     ${l}`)
      .join('\n'),
  );
}

// 1. The prior: no training, a few milliseconds.
const prior = await measureAffinity(graph, csv.data, { method: 'label-correlation' });
show(prior);
console.log(
  "\n   (a joint's sign convention is arbitrary, so a negative correlation is as strong a relation as a positive one;",
);
console.log(
  "    label-correlation is not a learned source, so 'auto' plans from the graph's shape, not by task grouping)",
);

// 2. What joint training measures: 50 steps on a hard-shared model, 40 of them measured.
const learned = await measureAffinity(graph, csv.data, { method: 'lookahead', seed: 1 });
show(learned);

console.log(
  `\n(graphs/sarcos.json groups by segment: {tau1, tau2, tau3} shoulder, {tau4} elbow, {tau5, tau6, tau7} wrist.)`,
);
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
