import { seededRandom } from '../graph/random.js';

export interface ClickPurchaseOptions {
  /** Training rows (default 20000); the test part has as many. */
  rows?: number;
  /** Input features (default 8). */
  features?: number;
  /** Share of rows with a click (default 0.05). */
  clickRate?: number;
  /** Share of clicks followed by a purchase (default 0.2). */
  conversion?: number;
  seed?: number;
}

export interface ClickPurchaseData {
  x: number[][];
  /** 0/1 per row; a purchase happens only after a click. */
  y: { click: number[]; purchase: number[] };
  /** The true probabilities p(click) and p(purchase) = p(click) p(purchase | click), per row. */
  truth: { click: number[]; purchase: number[] };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The bias b with mean(f(b)) = target, by bisection (f increasing in b). */
function solveBias(f: (b: number) => number, target: number): number {
  let lo = -20;
  let hi = 20;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * A click -> purchase family, as in ESMM's setting: p(click | x) and p(purchase | click, x) are
 * logistic in gaussian features (the purchase part shares half its direction with the click's),
 * biased so that `clickRate` of the rows click and `conversion` of the clicks buy. A purchase
 * happens only after a click. Deterministic for a seed; train and test drawn alike.
 */
export function generateClickPurchase(options: ClickPurchaseOptions = {}): {
  train: ClickPurchaseData;
  test: ClickPurchaseData;
} {
  const n = options.rows ?? 20000;
  const d = options.features ?? 8;
  const rand = seededRandom(options.seed ?? 0);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const wc = Array.from({ length: d }, () => gauss() / Math.sqrt(d));
  const other = Array.from({ length: d }, () => gauss() / Math.sqrt(d));
  const wp = wc.map((w, j) => 0.7 * w + 0.7 * other[j]!);
  const dot = (w: number[], x: number[]) => w.reduce((s, v, j) => s + v * x[j]!, 0);
  const xs = Array.from({ length: 2 * n }, () => Array.from({ length: d }, gauss));
  const sc = xs.map((x) => 1.5 * dot(wc, x));
  const sp = xs.map((x) => 1.5 * dot(wp, x));
  const bc = solveBias(
    (b) => sc.reduce((s, v) => s + sigmoid(v + b), 0) / sc.length,
    options.clickRate ?? 0.05,
  );
  const pc = sc.map((v) => sigmoid(v + bc));
  const clicks = pc.reduce((s, v) => s + v, 0);
  const bp = solveBias(
    (b) => sp.reduce((s, v, i) => s + pc[i]! * sigmoid(v + b), 0) / clicks,
    options.conversion ?? 0.2,
  );
  const pp = sp.map((v) => sigmoid(v + bp));
  const part = (from: number): ClickPurchaseData => {
    const x = xs.slice(from, from + n);
    const click: number[] = [];
    const purchase: number[] = [];
    const truth = { click: [] as number[], purchase: [] as number[] };
    for (let i = from; i < from + n; i++) {
      const c = rand() < pc[i]! ? 1 : 0;
      click.push(c);
      purchase.push(c === 1 && rand() < pp[i]! ? 1 : 0);
      truth.click.push(pc[i]!);
      truth.purchase.push(pc[i]! * pp[i]!);
    }
    return { x, y: { click, purchase }, truth };
  };
  return { train: part(0), test: part(n) };
}
