import type { GraphSpec } from '../schema/validate.js';

export interface LaplacianOptions {
  /** Keep only positive affinities (default true: a negative weight makes the penalty unbounded). */
  positiveOnly?: boolean;
  /** Symmetric normalisation I - D^-1/2 A D^-1/2 (default false). */
  normalized?: boolean;
}

/** The graph Laplacian L = D - A of the affinities, as a dense matrix in task order. */
export function laplacian(
  spec: GraphSpec,
  options: LaplacianOptions = {},
): { tasks: string[]; matrix: number[][] } {
  const n = spec.tasks.length;
  const positiveOnly = options.positiveOnly ?? true;
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (const e of spec.affinities) {
    if (positiveOnly && e.weight <= 0) continue;
    const i = spec.index.get(e.source)!;
    const j = spec.index.get(e.target)!;
    a[i]![j] = a[j]![i] = e.weight;
  }
  const degree = a.map((row) => row.reduce((s, w) => s + w, 0));
  const matrix = a.map((row, i) =>
    row.map((w, j) => {
      if (!options.normalized) return (i === j ? degree[i]! : 0) - w;
      const di = degree[i]!;
      const dj = degree[j]!;
      if (i === j) return di > 0 ? 1 : 0;
      return di > 0 && dj > 0 ? -w / Math.sqrt(di * dj) : 0;
    }),
  );
  return { tasks: spec.tasks.map((t) => t.id), matrix };
}
