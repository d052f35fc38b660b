/**
 * The main job (`npm run demo`): what the task graph buys.
 *
 * A family of 12 regression tasks in 3 groups is generated with a known structure (tasks in a
 * group are noisy variations of one function; groups are unrelated; one conflicting pair;
 * little data per task and 20 % of the labels missing). The same task graph is compiled with
 * four strategies — `single` (no sharing), `hard` (everything shared), and the graph-aware
 * `clustered` and `soft` — trained jointly with the same budget, and compared on a test set.
 * The best model is saved to out/demo-model and loaded back.
 *
 * Run: npm run demo   (or: npx tsx examples/demo.ts [--seed 2] [--epochs 100] [--out dir])
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  initBackend, generateTaskFamily, compile, fit, evaluate, predict, saveModel, loadModel,
  type MtgraphModel,
} from '../src/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const seed = Number(arg('seed', '2'));
const epochs = Number(arg('epochs', '100'));
const outDir = path.resolve(arg('out', 'out/demo-model'));
const strategies = ['single', 'hard', 'clustered', 'soft'] as const;
const started = performance.now();

const backend = await initBackend();
console.log(`mtgraph demo — backend: ${backend.backend} (${backend.tried.filter((t) => !t.ok).map((t) => `${t.name} skipped: ${t.reason}`).join('; ') || 'first choice'})`);

const family = generateTaskFamily({ seed, trainRows: 150 });
const tasks = family.graph.nodes();
console.log(`\n${family.graph.getAttribute('description')}`);
console.log(`true groups: ${family.truth.groups.map((g) => `{${g.join(', ')}}`).join(' ')}; conflicting pair: ${family.truth.conflict.join(' / ')}`);

// The same network budget for every strategy: a 4-unit trunk (copied per task where nothing is shared).
const options = { trunk: { units: [4] }, seed, soft: { strength: 0.01 } };
const fitOptions = { epochs, batchSize: 16, seed, optimizer: { name: 'adam', learningRate: 0.01 } };

const results: Record<string, { mse: Record<string, number>; mean: number; seconds: number; model: MtgraphModel }> = {};
for (const strategy of strategies) {
  const t0 = performance.now();
  const model = compile(family.graph, { ...options, strategy });
  const history = await fit(model, family.train, fitOptions);
  const scores = await evaluate(model, family.test);
  const mse = Object.fromEntries(tasks.map((t) => [t, scores[t]!.mse!]));
  const mean = tasks.reduce((s, t) => s + mse[t]!, 0) / tasks.length;
  const seconds = (performance.now() - t0) / 1000;
  results[strategy] = { mse, mean, seconds, model };
  const first = history.loss[0]!;
  const last = history.loss.at(-1)!;
  console.log(`trained ${strategy.padEnd(9)} ${model.plan.params.total.toLocaleString('en-US').padStart(6)} params, joint train loss (sum over tasks) ${first.toFixed(2)} -> ${last.toFixed(2)}, ${seconds.toFixed(1)} s`);
}

const groups = results.clustered!.model.plan.groups ?? [];
console.log(`\nclustered found ${groups.length} groups: ${groups.map((g) => `{${g.join(', ')}}`).join(' ')}`);

// Per-task test MSE table.
const w = 10;
console.log(`\ntest MSE per task (lower is better; noise floor 0.09)\n`);
console.log(`${'task'.padEnd(8)}${strategies.map((s) => s.padStart(w)).join('')}`);
for (const t of tasks) {
  const row = strategies.map((s) => results[s]!.mse[t]!);
  const best = Math.min(...row);
  console.log(`${t.padEnd(8)}${row.map((v) => `${v === best ? '*' : ' '}${v.toFixed(3)}`.padStart(w)).join('')}`);
}
console.log(`${'mean'.padEnd(8)}${strategies.map((s) => results[s]!.mean.toFixed(3).padStart(w)).join('')}`);

const ranked = [...strategies].sort((a, b) => results[a]!.mean - results[b]!.mean);
const best = ranked[0]!;
const graphAware = ['clustered', 'soft'] as const;
const baselines = Math.min(results.single!.mean, results.hard!.mean);
const beats = graphAware.filter((s) => results[s]!.mean < baselines);
console.log(`\nbest: ${best} (mean test MSE ${results[best]!.mean.toFixed(3)}); ` +
  `graph-aware strategies beating both single and hard: ${beats.length ? beats.join(' and ') : 'none'} ` +
  `(${graphAware.map((s) => `${s} ${(100 * (1 - results[s]!.mean / baselines)).toFixed(0)}% lower`).join(', ')} than the better baseline)`);

// Save the best model, load it back, check the predictions agree.
const winner = results[best]!.model;
await saveModel(winner, outDir);
const again = await loadModel(outDir);
const x = tf.tensor2d(family.test.x.slice(0, 64));
const a = predict(winner, x);
const b = predict(again, x);
const diff = Math.max(...tasks.map((t) => tf.tidy(() => tf.max(tf.abs(tf.sub(a[t]!, b[t]!))).dataSync()[0]!)));
console.log(`saved ${best} to ${path.relative(process.cwd(), outDir) || outDir}; reloaded, max |difference| of predictions ${diff.toExponential(1)}`);
console.log(`see why each task went where: npx tsx examples/plan-graphs.ts, or explain(model.plan)`);

tf.dispose([x, ...Object.values(a), ...Object.values(b)]);
again.dispose();
for (const s of strategies) results[s]!.model.dispose();
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
