/**
 * Exact linear multi-task references for the School benchmark (closed form, no tfjs): independent
 * ridge per task, one pooled ridge, and mean-regularised MTL (Evgeniou & Pontil 2004:
 * w_t = w0 + v_t, penalty lambda * sum_t ||v_t||^2). They run on the same splits as the
 * networks, so the published figures can be checked against this protocol.
 *
 * Every model has an intercept: a constant column appended to the (standardised) features. The
 * pooled / common part's intercept is not penalised.
 */

type Matrix = Float64Array; // d x d, row-major

/** Solves (M) x = b for a symmetric positive definite M (Cholesky); M and b are not modified. */
export function solve(M: Matrix, b: Float64Array, d: number): Float64Array {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i * d + j]!;
      for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!;
      if (i === j) L[i * d + i] = Math.sqrt(Math.max(s, 1e-12));
      else L[i * d + j] = s / L[j * d + j]!;
    }
  }
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * d + k]! * y[k]!;
    y[i] = s / L[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * x[k]!;
    x[i] = s / L[i * d + i]!;
  }
  return x;
}

/** Per task: Gram matrix A_t = X_t' X_t and c_t = X_t' y_t over the task's rows (features with a trailing 1). */
export interface TaskMoments {
  A: Matrix;
  c: Float64Array;
  n: number;
}

export function taskMoments(
  x: Float32Array,
  features: number,
  y: ArrayLike<number>,
  taskOfRow: ArrayLike<number>,
  tasks: number,
): { d: number; moments: TaskMoments[] } {
  const d = features + 1;
  const moments = Array.from({ length: tasks }, () => ({
    A: new Float64Array(d * d),
    c: new Float64Array(d),
    n: 0,
  }));
  const row = new Float64Array(d);
  for (let r = 0; r < y.length; r++) {
    for (let j = 0; j < features; j++) row[j] = x[r * features + j]!;
    row[features] = 1;
    const m = moments[taskOfRow[r]!]!;
    m.n++;
    for (let i = 0; i < d; i++) {
      m.c[i] = m.c[i]! + row[i]! * y[r]!;
      for (let j = 0; j < d; j++) m.A[i * d + j] = m.A[i * d + j]! + row[i]! * row[j]!;
    }
  }
  return { d, moments };
}

const withRidge = (A: Matrix, d: number, lambda: number, intercept: boolean): Matrix => {
  const M = Float64Array.from(A);
  for (let i = 0; i < d; i++) if (intercept || i < d - 1) M[i * d + i] = M[i * d + i]! + lambda;
  return M;
};

/** Independent ridge per task (the intercept is penalised lightly, 1e-6, so tiny tasks stay solvable). */
export function independentRidge(m: TaskMoments[], d: number, lambda: number): Float64Array[] {
  return m.map((t) => {
    const M = withRidge(t.A, d, lambda, false);
    M[d * d - 1] = M[d * d - 1]! + 1e-6;
    return solve(M, t.c, d);
  });
}

/** One ridge over all tasks' rows; the same weights for every task. */
export function pooledRidge(m: TaskMoments[], d: number, lambda: number): Float64Array[] {
  const A = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (const t of m) {
    t.A.forEach((v, i) => {
      A[i] = A[i]! + v;
    });
    t.c.forEach((v, i) => {
      c[i] = c[i]! + v;
    });
  }
  const w = solve(withRidge(A, d, lambda, false), c, d);
  return m.map(() => w);
}

/**
 * Mean-regularised MTL: min sum_t ||y_t - X_t (w0 + v_t)||^2 + lambda sum_t ||v_t||^2 + lambda0 ||w0||^2
 * (w0's intercept unpenalised). With B_t = (A_t + lambda I)^-1: v_t = B_t (c_t - A_t w0), and
 * [sum_t (A_t - A_t B_t A_t) + lambda0 I] w0 = sum_t (c_t - A_t B_t c_t).
 */
export function meanRegularised(
  m: TaskMoments[],
  d: number,
  lambda: number,
  lambda0 = 1e-3,
): Float64Array[] {
  const G = new Float64Array(d * d);
  const h = new Float64Array(d);
  const col = new Float64Array(d);
  const solved = m.map((t) => {
    const M = withRidge(t.A, d, lambda, true);
    // B A (d x d, column by column) and B c.
    const BA = new Float64Array(d * d);
    for (let j = 0; j < d; j++) {
      for (let i = 0; i < d; i++) col[i] = t.A[i * d + j]!;
      const s = solve(M, col, d);
      for (let i = 0; i < d; i++) BA[i * d + j] = s[i]!;
    }
    const Bc = solve(M, t.c, d);
    for (let i = 0; i < d; i++) {
      let hc = t.c[i]!;
      for (let k = 0; k < d; k++) hc -= t.A[i * d + k]! * Bc[k]!;
      h[i] = h[i]! + hc;
      for (let j = 0; j < d; j++) {
        let s = t.A[i * d + j]!;
        for (let k = 0; k < d; k++) s -= t.A[i * d + k]! * BA[k * d + j]!;
        G[i * d + j] = G[i * d + j]! + s;
      }
    }
    return { BA, Bc };
  });
  const w0 = solve(withRidge(G, d, lambda0, false), h, d);
  return solved.map(({ BA, Bc }) => {
    const w = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let v = Bc[i]!;
      for (let k = 0; k < d; k++) v -= BA[i * d + k]! * w0[k]!;
      w[i] = w0[i]! + v;
    }
    return w;
  });
}

/** Predictions of per-task linear weights for rows (features with the trailing 1 implied). */
export function predictLinear(
  weights: Float64Array[],
  x: Float32Array,
  features: number,
  taskOfRow: ArrayLike<number>,
): Float64Array {
  const out = new Float64Array(taskOfRow.length);
  for (let r = 0; r < taskOfRow.length; r++) {
    const w = weights[taskOfRow[r]!]!;
    let s = w[features]!;
    for (let j = 0; j < features; j++) s += w[j]! * x[r * features + j]!;
    out[r] = s;
  }
  return out;
}

/**
 * L2-regularised logistic regression by Newton's method (exact, no tfjs): minimises the summed
 * log-loss plus lambda/2 ||w||^2 over the weights (the intercept, last, unpenalised). Steps are
 * halved while the objective does not fall. `start` warm-starts the solver (e.g. along a lambda
 * path). Returns the weights with the intercept last (score rows with predictLinear).
 */
export function logisticRegression(
  x: Float32Array,
  features: number,
  y: ArrayLike<number>,
  lambda: number,
  start?: Float64Array,
  iterations = 50,
): Float64Array {
  const d = features + 1;
  const n = y.length;
  const row = new Float64Array(d);
  const objective = (w: Float64Array): number => {
    let loss = 0;
    for (let r = 0; r < n; r++) {
      let z = w[features]!;
      for (let j = 0; j < features; j++) z += w[j]! * x[r * features + j]!;
      // log(1 + e^z) - y z, computed stably.
      loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[r]! * z;
    }
    for (let j = 0; j < features; j++) loss += 0.5 * lambda * w[j]! ** 2;
    return loss;
  };
  let w = start ? Float64Array.from(start) : new Float64Array(d);
  let current = objective(w);
  for (let it = 0; it < iterations; it++) {
    const H = new Float64Array(d * d);
    const g = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < features; j++) row[j] = x[r * features + j]!;
      row[features] = 1;
      let z = 0;
      for (let j = 0; j < d; j++) z += w[j]! * row[j]!;
      const p = 1 / (1 + Math.exp(-z));
      const s = p * (1 - p);
      for (let i = 0; i < d; i++) {
        g[i] = g[i]! + (p - y[r]!) * row[i]!;
        const si = s * row[i]!;
        for (let j = 0; j <= i; j++) H[i * d + j] = H[i * d + j]! + si * row[j]!;
      }
    }
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) H[j * d + i] = H[i * d + j]!;
      if (i < features) {
        H[i * d + i] = H[i * d + i]! + lambda;
        g[i] = g[i]! + lambda * w[i]!;
      } else {
        H[i * d + i] = H[i * d + i]! + 1e-6;
      }
    }
    const step = solve(H, g, d);
    let scale = 1;
    let next = w.map((v, i) => v - step[i]!);
    let value = objective(next);
    for (let halvings = 0; value > current && halvings < 20; halvings++) {
      scale /= 2;
      next = w.map((v, i) => v - scale * step[i]!);
      value = objective(next);
    }
    if (value > current) break;
    const change = step.reduce((m, v) => Math.max(m, Math.abs(scale * v)), 0);
    w = next;
    const improved = current - value;
    current = value;
    if (change < 1e-6 || improved < 1e-9 * Math.max(1, Math.abs(current))) break;
  }
  return w;
}
