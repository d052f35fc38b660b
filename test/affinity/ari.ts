/** Adjusted Rand index of two partitions of the same tasks (1 = identical, about 0 = chance). */
export function adjustedRand(a: string[][], b: string[][]): number {
  const la = new Map(a.flatMap((g, i) => g.map((t) => [t, i] as const)));
  const lb = new Map(b.flatMap((g, i) => g.map((t) => [t, i] as const)));
  const pairs = (k: number) => (k * (k - 1)) / 2;
  const cells = new Map<string, number>();
  for (const t of la.keys())
    cells.set(`${la.get(t)}/${lb.get(t)}`, (cells.get(`${la.get(t)}/${lb.get(t)}`) ?? 0) + 1);
  const index = [...cells.values()].reduce((s, v) => s + pairs(v), 0);
  const sa = a.reduce((s, g) => s + pairs(g.length), 0);
  const sb = b.reduce((s, g) => s + pairs(g.length), 0);
  const expected = (sa * sb) / pairs(la.size);
  return (index - expected) / ((sa + sb) / 2 - expected);
}
