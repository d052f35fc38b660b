import { z } from 'zod';
import { OptionsError, show } from '../errors.js';
import { isPlainObject, says } from '../schema/common.js';
import { readGraph, zodError, type GraphSpec } from '../schema/validate.js';
import { EXHAUSTIVE_MAX_TASKS } from './defaults.js';

const SCOPE = 'mtgraph/groupTasks';

/** Options of `groupTasks`. */
export interface GroupTasksOptions {
  /** The budget: at most this many groups (a task alone counts as a group). */
  groups: number;
  /** 'auto' (default): exhaustive up to EXHAUSTIVE_MAX_TASKS tasks, greedy beyond; or force one. */
  method?: 'auto' | 'exhaustive' | 'greedy';
}

/** What `groupTasks` returns. */
export interface TaskGroups {
  /** Task groups (a partition: each task in exactly one), tasks in graph order, groups by their first task. */
  groups: string[][];
  /** The objective: the sum over tasks of their mean affinity to the other members of their group (0 alone). */
  score: number;
  method: 'exhaustive' | 'greedy';
  notes: string[];
}

const schema = z.strictObject({
  groups: z
    .int({
      error: says(
        'groups must be a whole number',
        'Use the number of groups you can afford, e.g. groups: 3.',
      ),
    })
    .min(1, { error: says('groups must be at least 1', 'Use e.g. groups: 3.') }),
  method: z
    .enum(['auto', 'exhaustive', 'greedy'], {
      error: says('unknown method', "Use 'auto', 'exhaustive' or 'greedy'."),
    })
    .optional(),
});

/** Symmetric affinity matrix of a graph (0 where there is no edge). */
function affinityMatrix(spec: GraphSpec): Float64Array[] {
  const n = spec.tasks.length;
  const w = Array.from({ length: n }, () => new Float64Array(n));
  for (const a of spec.affinities) {
    const i = spec.index.get(a.source)!;
    const j = spec.index.get(a.target)!;
    w[i]![j] = a.weight;
    w[j]![i] = a.weight;
  }
  return w;
}

/** Score of one group from its size and the sum of its pairwise weights: each member's mean affinity to the others, summed. */
function groupScore(size: number, pairSum: number): number {
  return size < 2 ? 0 : (2 * pairSum) / (size - 1);
}

const EPS = 1e-9;

/** Every partition of the tasks into at most k groups (restricted growth strings), scored incrementally; the best, fewer groups on ties. */
export function exhaustiveGroups(
  w: readonly Float64Array[],
  k: number,
): { labels: Int32Array; score: number; searched: number } {
  const n = w.length;
  const labels = new Int32Array(n);
  const best = { labels: new Int32Array(n), score: -Infinity, groups: Infinity };
  const size = new Int32Array(n);
  const pairSum = new Float64Array(n);
  const members: number[][] = Array.from({ length: n }, () => []);
  let searched = 0;
  const visit = (t: number, used: number) => {
    if (t === n) {
      searched++;
      let score = 0;
      for (let g = 0; g < used; g++) score += groupScore(size[g]!, pairSum[g]!);
      if (score > best.score + EPS || (score > best.score - EPS && used < best.groups)) {
        best.score = score;
        best.groups = used;
        best.labels.set(labels);
      }
      return;
    }
    const limit = Math.min(used + 1, k);
    for (let g = 0; g < limit; g++) {
      let add = 0;
      for (const s of members[g]!) add += w[t]![s]!;
      labels[t] = g;
      size[g]!++;
      pairSum[g]! += add;
      members[g]!.push(t);
      visit(t + 1, g === used ? used + 1 : used);
      members[g]!.pop();
      pairSum[g]! -= add;
      size[g]!--;
    }
  };
  visit(0, 0);
  return { labels: best.labels, score: best.score, searched };
}

/**
 * Greedy agglomerative grouping, then single-task moves. Starts from one group per task and
 * repeatedly merges the two groups whose merge raises the score most (while there are more
 * groups than the budget a merge is forced even when it lowers the score); then moves single
 * tasks to another group (or out on their own, within the budget) while that raises the score.
 * O(n³) merges, each pass of moves O(n²).
 */
export function greedyGroups(
  w: readonly Float64Array[],
  k: number,
): { labels: Int32Array; score: number; merges: number; moves: number } {
  const n = w.length;
  let groups: number[][] = Array.from({ length: n }, (_, i) => [i]);
  let sums: number[] = new Array(n).fill(0);
  // cross[a][b]: sum of weights between groups a and b.
  let cross: number[][] = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 0 : w[i]![j]!)),
  );
  let merges = 0;
  for (;;) {
    const m = groups.length;
    let bestGain = -Infinity;
    let ba = -1;
    let bb = -1;
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) {
        const gain =
          groupScore(groups[a]!.length + groups[b]!.length, sums[a]! + sums[b]! + cross[a]![b]!) -
          groupScore(groups[a]!.length, sums[a]!) -
          groupScore(groups[b]!.length, sums[b]!);
        if (gain > bestGain + EPS) {
          bestGain = gain;
          ba = a;
          bb = b;
        }
      }
    }
    if (ba < 0 || (m <= k && bestGain <= EPS)) break;
    merges++;
    const merged = [...groups[ba]!, ...groups[bb]!];
    const mergedSum = sums[ba]! + sums[bb]! + cross[ba]![bb]!;
    const keep = groups.map((_, g) => g).filter((g) => g !== ba && g !== bb);
    const nextCross = keep.map((g) => keep.map((h) => cross[g]![h]!));
    const toMerged = keep.map((g) => cross[g]![ba]! + cross[g]![bb]!);
    nextCross.forEach((row, r) => row.push(toMerged[r]!));
    nextCross.push([...toMerged, 0]);
    groups = [...keep.map((g) => groups[g]!), merged];
    sums = [...keep.map((g) => sums[g]!), mergedSum];
    cross = nextCross;
  }
  // Single-task moves, best improving move first, until none improves.
  const labels = new Int32Array(n);
  groups.forEach((g, gi) => g.forEach((t) => (labels[t] = gi)));
  let count = groups.length;
  const size = new Int32Array(n + 1);
  const pairSum = new Float64Array(n + 1);
  for (let g = 0; g < count; g++) {
    size[g] = groups[g]!.length;
    pairSum[g] = sums[g]!;
  }
  // toGroup[t][g]: sum of weights from task t to the members of g (t excluded).
  const toGroup = Array.from({ length: n }, () => new Float64Array(n + 1));
  for (let t = 0; t < n; t++)
    for (let s = 0; s < n; s++) if (s !== t) toGroup[t]![labels[s]!]! += w[t]![s]!;
  let moves = 0;
  for (let round = 0; round < 50 * n; round++) {
    let bestGain = EPS;
    let bt = -1;
    let bg = -1;
    for (let t = 0; t < n; t++) {
      const a = labels[t]!;
      const leave =
        groupScore(size[a]! - 1, pairSum[a]! - toGroup[t]![a]!) - groupScore(size[a]!, pairSum[a]!);
      // An empty slot (a new group) is a target only within the budget and when t is not alone already.
      const targets = count < k && size[a]! > 1 ? count + 1 : count;
      for (let g = 0; g < targets; g++) {
        if (g === a) continue;
        const gain =
          leave +
          groupScore(size[g]! + 1, pairSum[g]! + toGroup[t]![g]!) -
          groupScore(size[g]!, pairSum[g]!);
        if (gain > bestGain) {
          bestGain = gain;
          bt = t;
          bg = g;
        }
      }
    }
    if (bt < 0) break;
    moves++;
    const a = labels[bt]!;
    pairSum[a]! -= toGroup[bt]![a]!;
    size[a]!--;
    pairSum[bg]! += toGroup[bt]![bg]!;
    size[bg]!++;
    if (bg === count) count++;
    labels[bt] = bg;
    for (let s = 0; s < n; s++) {
      if (s === bt) continue;
      toGroup[s]![a]! -= w[s]![bt]!;
      toGroup[s]![bg]! += w[s]![bt]!;
    }
    if (size[a] === 0) {
      // Fill the emptied slot with the last group, so groups stay 0..count-1.
      const last = count - 1;
      if (a !== last) {
        for (let t = 0; t < n; t++) if (labels[t] === last) labels[t] = a;
        size[a] = size[last]!;
        pairSum[a] = pairSum[last]!;
        for (let t = 0; t < n; t++) toGroup[t]![a] = toGroup[t]![last]!;
      }
      size[last] = 0;
      pairSum[last] = 0;
      for (let t = 0; t < n; t++) toGroup[t]![last] = 0;
      count--;
    }
  }
  let score = 0;
  for (let g = 0; g < count; g++) score += groupScore(size[g]!, pairSum[g]!);
  return { labels, score, merges, moves };
}

/** Score of a partition given as labels (for checks and notes). */
export function partitionScore(w: readonly Float64Array[], labels: ArrayLike<number>): number {
  const size = new Map<number, number>();
  const sum = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    size.set(labels[i]!, (size.get(labels[i]!) ?? 0) + 1);
    for (let j = i + 1; j < labels.length; j++)
      if (labels[i] === labels[j]) sum.set(labels[i]!, (sum.get(labels[i]!) ?? 0) + w[i]![j]!);
  }
  let score = 0;
  for (const [g, s] of size) score += groupScore(s, sum.get(g) ?? 0);
  return score;
}

/** A TaskGraph (any graphology task graph), or what measureAffinity returns (its `graph` is used). */
function graphOf(affinity: unknown): unknown {
  if (isPlainObject(affinity) && 'graph' in affinity && 'matrix' in affinity) return affinity.graph;
  return affinity;
}

/**
 * Chooses task groups for a budget of `groups` groups, maximising the affinity each task gets
 * from its group: the score is the sum over tasks of their mean affinity to the other members
 * of their group (a task alone scores 0), i.e. `sum over groups of 2 * (sum of pairwise
 * weights) / (size - 1)`. This is task affinity grouping's "each task served by its group"
 * (Fifty et al. 2021) for a partition; their variant with overlapping groups (a task trained in
 * several, served by the best) is not implemented: each task is in exactly one group here.
 * Averaging, rather than summing every pair, keeps one big group from winning merely by having
 * more pairs; a negative pair lowers the score, so conflicting tasks are grouped only when the
 * budget forces it (a note says so). A task alone counts against the budget.
 *
 * Search: exhaustive over every partition into at most `groups` groups up to
 * EXHAUSTIVE_MAX_TASKS (12) tasks (ties: fewer groups, then the first found); beyond that a greedy
 * agglomerative merge followed by single-task moves (`greedyGroups`), which may miss the optimum.
 * Reads the edge weights only: declared `sharing` modes are the planner's to enforce.
 */
export function groupTasks(affinity: unknown, options: GroupTasksOptions): TaskGroups {
  if (!isPlainObject(options)) {
    throw new OptionsError(
      `${SCOPE}: options must be an object (got ${show(options)}) → at options. Write e.g. { groups: 3 }.`,
      { path: 'options', got: options },
    );
  }
  const parsed = schema.safeParse(options);
  if (!parsed.success) throw zodError(parsed.error, 'options', OptionsError, SCOPE);
  return partitionTasks(
    readGraph(graphOf(affinity)),
    parsed.data.groups,
    parsed.data.method ?? 'auto',
  );
}

/** `groupTasks` on an already validated graph (used by the `clustered` strategy's 'task-grouping'). */
export function partitionTasks(
  spec: GraphSpec,
  k: number,
  asked: 'auto' | 'exhaustive' | 'greedy' = 'auto',
): TaskGroups {
  const n = spec.tasks.length;
  if (asked === 'exhaustive' && n > EXHAUSTIVE_MAX_TASKS) {
    throw new OptionsError(
      `${SCOPE}: exhaustive search is limited to ${EXHAUSTIVE_MAX_TASKS} tasks (got ${n}) → at options.method. Use method 'auto' or 'greedy', which searches greedily beyond the limit.`,
      { path: 'options.method', got: asked },
    );
  }
  const method =
    asked === 'greedy' || (asked === 'auto' && n > EXHAUSTIVE_MAX_TASKS) ? 'greedy' : 'exhaustive';
  const w = affinityMatrix(spec);
  const notes: string[] = [];
  let labels: Int32Array;
  let score: number;
  if (method === 'exhaustive') {
    const r = exhaustiveGroups(w, k);
    ({ labels, score } = r);
    notes.push(
      `exhaustive: searched all ${r.searched} partitions of ${n} task(s) into at most ${k} group(s).`,
    );
  } else {
    const r = greedyGroups(w, k);
    ({ labels, score } = r);
    notes.push(
      `greedy: ${asked === 'auto' ? `${n} tasks is more than the exhaustive limit of ${EXHAUSTIVE_MAX_TASKS}, so ` : ''}${r.merges} agglomerative merge(s), then ${r.moves} single-task move(s); the optimum is not guaranteed.`,
    );
  }
  const byLabel = new Map<number, string[]>();
  spec.tasks.forEach((t, i) => {
    let g = byLabel.get(labels[i]!);
    if (!g) byLabel.set(labels[i]!, (g = []));
    g.push(t.id);
  });
  const groups = [...byLabel.values()].sort(
    (a, b) => spec.index.get(a[0]!)! - spec.index.get(b[0]!)!,
  );
  const negative = spec.affinities.filter(
    (a) => a.weight < 0 && labels[spec.index.get(a.source)!] === labels[spec.index.get(a.target)!],
  );
  if (negative.length > 0) {
    notes.push(
      `${negative.length} pair(s) with negative affinity share a group (the budget of ${k} group(s), or their positive affinities to the rest of the group, outweigh it): ${negative
        .slice(0, 5)
        .map((a) => `${a.source}/${a.target} (${a.weight})`)
        .join(', ')}${negative.length > 5 ? ' ...' : ''}. Allow more groups to keep them apart.`,
    );
  }
  return { groups, score, method, notes };
}
