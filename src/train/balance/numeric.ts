/**
 * Small numeric helpers of the balancing methods, on plain numbers (the per-step problems are
 * `tasks × tasks`, solved on the host after one read-back of the Gram matrix).
 */

/** A square matrix as rows. */
export type Matrix = readonly (readonly number[])[];

/** `softmax(values)`, computed stably. */
export function softmax(values: readonly number[]): number[] {
  const top = Math.max(...values);
  const e = values.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** A standard normal number from a uniform source in [0, 1) (Box-Muller). */
export function standardNormal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log stays finite
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A seeded in-place Fisher-Yates shuffle of `values`; returns them. */
export function shuffled<T>(values: T[], random: () => number): T[] {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i]!;
    values[i] = values[j]!;
    values[j] = tmp;
  }
  return values;
}

/** `G · w`. */
export function matVec(g: Matrix, w: readonly number[]): number[] {
  return g.map((row) => row.reduce((s, x, j) => s + x * w[j]!, 0));
}

export function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, x, i) => s + x * b[i]!, 0);
}

/** Rows of a flat row-major `n × n` array. */
export function toMatrix(flat: ArrayLike<number>, n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => flat[i * n + j]!));
}

/**
 * The Euclidean projection of `v` onto the probability simplex `{w >= 0, sum w = 1}`
 * (the sort-based algorithm of Duchi et al. 2008).
 */
export function projectOntoSimplex(v: readonly number[]): number[] {
  const u = [...v].sort((a, b) => b - a);
  let cumulative = 0;
  let theta = 0;
  for (let k = 0; k < u.length; k++) {
    cumulative += u[k]!;
    const t = (cumulative - 1) / (k + 1);
    if (u[k]! - t > 0) theta = t;
  }
  return v.map((x) => Math.max(x - theta, 0));
}

/**
 * The point of the segment between two vectors closest to the origin, from their dot products:
 * `gamma` minimises `||gamma * a + (1 - gamma) * b||^2` over [0, 1] (exact).
 * `aa = a·a`, `ab = a·b`, `bb = b·b`; returns gamma and the squared norm there.
 */
export function minNormOnSegment(
  aa: number,
  ab: number,
  bb: number,
): { gamma: number; norm2: number } {
  const denominator = aa + bb - 2 * ab;
  let gamma: number;
  if (!(denominator > 0))
    gamma = aa <= bb ? 1 : 0; // a == b (or both zero): either end
  else gamma = Math.min(1, Math.max(0, (bb - ab) / denominator));
  const norm2 = gamma * gamma * aa + 2 * gamma * (1 - gamma) * ab + (1 - gamma) * (1 - gamma) * bb;
  return { gamma, norm2: Math.max(0, norm2) };
}
