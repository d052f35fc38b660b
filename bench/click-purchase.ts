/**
 * Task chains on a generated click -> purchase family (ESMM's setting): 5 % of the rows click,
 * 20 % of the clicks buy, a purchase happens only after a click. Compares, on the same test rows:
 * - `condition`: click and purchase with `purchase: { condition: 'click' }` (the model outputs
 *   p(click) × p(purchase | click) and trains it on all rows);
 * - `independent`: a purchase model alone (hard trunk, same size);
 * - `joint`: click and purchase on one trunk without the condition.
 * Reports the purchase AUC over all test rows (and the click AUC), the rows where p(purchase) >
 * p(click), and seconds per epoch; the median over seeds.
 *
 *   npx tsx bench/click-purchase.ts [--quick]     (--quick: 2 seeds)
 */
import { compile, fit, initBackend, predict, TaskGraph } from '../src/index.js';
import { generateClickPurchase } from '../src/synthetic/click-purchase.js';
import { rocAuc } from '../src/train/metrics/functions.js';
import { median } from './timing.js';

const QUICK = process.argv.includes('--quick');
const SEEDS = QUICK ? [1, 2] : [1, 2, 3, 4, 5];
const ROWS = 20000;
const EPOCHS = 8;
const report = await initBackend();

type Variant = 'condition' | 'independent' | 'joint';
const VARIANTS: Variant[] = ['condition', 'independent', 'joint'];

function graphOf(variant: Variant): TaskGraph {
  const g = new TaskGraph({ input: { features: 8 } });
  if (variant !== 'independent') g.addTask('click', { kind: 'binary' });
  g.addTask('purchase', {
    kind: 'binary',
    ...(variant === 'condition' ? { condition: 'click' } : {}),
  } as never);
  return g;
}

const results = new Map<
  Variant,
  { purchase: number[]; click: number[]; above: number[]; epoch: number[] }
>(VARIANTS.map((v) => [v, { purchase: [], click: [], above: [], epoch: [] }]));
for (const seed of SEEDS) {
  const { train, test } = generateClickPurchase({ rows: ROWS, seed });
  for (const variant of VARIANTS) {
    const model = compile(graphOf(variant), { strategy: 'hard', trunk: { units: [32, 16] }, seed });
    const y = variant === 'independent' ? { purchase: train.y.purchase } : train.y;
    const history = await fit(
      model,
      { x: train.x, y },
      {
        epochs: EPOCHS,
        batchSize: 256,
        seed,
        metrics: false,
        optimizer: { name: 'adam', learningRate: 0.003 },
      },
    );
    const out = predict(model, test.x, { as: 'arrays' });
    const buy = out.purchase!.values.map((r) => r[0]!);
    const r = results.get(variant)!;
    r.purchase.push(rocAuc(test.y.purchase, buy));
    if (out.click) {
      const click = out.click.values.map((row) => row[0]!);
      r.click.push(rocAuc(test.y.click, click));
      r.above.push(buy.filter((p, i) => p > click[i]!).length);
    }
    r.epoch.push(median(history.timing.epochMs) / 1000);
    model.dispose();
  }
}
const purchases = generateClickPurchase({ rows: ROWS, seed: SEEDS[0] }).test.y.purchase;
console.log(
  `backend ${report.backend}; ${ROWS} training and ${ROWS} test rows, ${(100 * purchases.reduce((a, b) => a + b, 0)) / ROWS} % purchases in the first seed's test rows; ${SEEDS.length} seeds; trunk [32, 16], adam 0.003, batch 256, ${EPOCHS} epochs`,
);
console.log(
  '| model | purchase AUC (all rows) | click AUC | rows with p(purchase) > p(click) | s / epoch |',
);
console.log('|---|---|---|---|---|');
for (const v of VARIANTS) {
  const r = results.get(v)!;
  const f = (xs: number[]) => (xs.length ? median(xs).toFixed(4) : '–');
  console.log(
    `| ${v} | ${f(r.purchase)} (${r.purchase.map((a) => a.toFixed(4)).join(', ')}) | ${f(r.click)} | ${r.above.length ? median(r.above) : '–'} | ${median(r.epoch).toFixed(2)} |`,
  );
}
