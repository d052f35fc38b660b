/**
 * How strong should soft sharing's Laplacian coupling be? `plan(graph, { strategy: 'soft' })`
 * ties corresponding tower layers of related tasks by `strength * sum w_ab ||W_a - W_b||^2`,
 * strength 0.01 by default. This sweeps the strength on generated task families (the demo's
 * generator: three groups of four related tasks, one conflicting pair) with little to more data
 * per task, next to `single` (no sharing: strength 0 is the same towers uncoupled) and `hard`.
 *
 *   npx tsx bench/soft-strength.ts [--quick]     (--quick: 2 seeds, 150 rows per task only)
 *
 * Protocol: the demo's settings (trunk [4] per tower, adam 0.01, batch 16, 100 epochs), the
 * family's own test rows; mean test MSE over the 12 tasks, then the median over seeds. The noise
 * floor (label noise variance) is 0.09.
 */
import {
  initBackend,
  generateTaskFamily,
  compile,
  fit,
  evaluate,
  type PlanOptions,
} from '../src/index.js';
import { median } from './timing.js';

const QUICK = process.argv.includes('--quick');
const SEEDS = QUICK ? [1, 2] : [1, 2, 3, 4, 5];
const ROWS = QUICK ? [150] : [50, 150, 500];
const STRENGTHS = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const started = performance.now();
const report = await initBackend();

async function meanTestMse(rows: number, seed: number, options: PlanOptions): Promise<number> {
  const family = generateTaskFamily({ seed, trainRows: rows });
  const model = compile(family.graph, { trunk: { units: [4] }, seed, ...options });
  try {
    await fit(model, family.train, {
      epochs: 100,
      batchSize: 16,
      seed,
      metrics: false,
      optimizer: { name: 'adam', learningRate: 0.01 },
    });
    const scores = await evaluate(model, family.test);
    const tasks = family.graph.nodes();
    return tasks.reduce((s, t) => s + scores[t]!.mse!, 0) / tasks.length;
  } finally {
    model.dispose();
  }
}

const columns: Array<[string, PlanOptions]> = [
  ['single', { strategy: 'single' }],
  ['hard', { strategy: 'hard' }],
  ...STRENGTHS.map((s): [string, PlanOptions] => [
    `soft ${s}`,
    { strategy: 'soft', soft: { strength: s } },
  ]),
];
const lines: string[] = [];
lines.push(`| rows per task | ${columns.map(([name]) => name).join(' | ')} | best soft |`);
lines.push(`|---:|${columns.map(() => '---:').join('|')}|---|`);
for (const rows of ROWS) {
  const medians: number[] = [];
  for (const [name, options] of columns) {
    const values: number[] = [];
    for (const seed of SEEDS) values.push(await meanTestMse(rows, seed, options));
    medians.push(median(values));
    console.error(
      `[${((performance.now() - started) / 1000).toFixed(0)} s] rows ${rows}, ${name}: ${values.map((v) => v.toFixed(3)).join(' ')}`,
    );
  }
  const soft = medians.slice(2);
  const best = soft.indexOf(Math.min(...soft));
  lines.push(
    `| ${rows} | ${medians.map((m, i) => (i === best + 2 ? `**${m.toFixed(3)}**` : m.toFixed(3))).join(' | ')} | ${STRENGTHS[best]} |`,
  );
}
console.log(
  `soft strength sweep: median over seeds ${SEEDS.join(', ')} of the mean test MSE of 12 tasks (noise floor 0.09); backend ${report.backend}, ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
console.log(lines.join('\n'));
console.log(`command: npx tsx bench/soft-strength.ts${QUICK ? ' --quick' : ''}`);
