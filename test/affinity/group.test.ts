import { describe, expect, it } from 'vitest';
import { TaskGraph, OptionsError, GraphStructureError } from '../../src/index.js';
import {
  groupTasks,
  exhaustiveGroups,
  partitionScore,
  EXHAUSTIVE_MAX_TASKS,
} from '../../src/affinity/index.js';
import { seededRandom } from '../../src/graph/random.js';

function graphOf(tasks: string[], edges: Array<[string, string, number]>): TaskGraph {
  const g = new TaskGraph({ input: 2 });
  for (const t of tasks) g.addTask(t, { kind: 'regression' });
  for (const [a, b, weight] of edges) g.addAffinity(a, b, { weight });
  return g;
}

/**
 * Two triangles {a,b,c} and {d,e,f} (0.8 inside), bridged by the two strongest pairs c-d and b-e
 * (1.0). Greedy merging takes the bridges first and cannot undo them by moving one task at a time.
 */
const TRAP = graphOf(
  ['a', 'b', 'c', 'd', 'e', 'f'],
  [
    ['a', 'b', 0.8],
    ['a', 'c', 0.8],
    ['b', 'c', 0.8],
    ['d', 'e', 0.8],
    ['d', 'f', 0.8],
    ['e', 'f', 0.8],
    ['c', 'd', 1],
    ['b', 'e', 1],
  ],
);

/** Every partition of 0..n-1 into at most k groups, as labels (a plain reference enumeration). */
function allPartitions(n: number, k: number): number[][] {
  const out: number[][] = [];
  const go = (labels: number[], used: number) => {
    if (labels.length === n) return void out.push([...labels]);
    for (let g = 0; g <= Math.min(used, k - 1); g++) go([...labels, g], Math.max(used, g + 1));
  };
  go([], 0);
  return out;
}

function matrixOf(g: TaskGraph): Float64Array[] {
  const ids = g.nodes();
  const w = ids.map(() => new Float64Array(ids.length));
  g.forEachEdge((_e, a, s, t) => {
    w[ids.indexOf(s)]![ids.indexOf(t)] = a.weight ?? 1;
    w[ids.indexOf(t)]![ids.indexOf(s)] = a.weight ?? 1;
  });
  return w;
}

function isPartition(groups: string[][], tasks: string[]): boolean {
  const flat = groups.flat();
  return (
    flat.length === tasks.length &&
    new Set(flat).size === tasks.length &&
    tasks.every((t) => flat.includes(t))
  );
}

describe('groupTasks', () => {
  it('groupTasks exhaustive finds the optimum where greedy merging is trapped', () => {
    const best = groupTasks(TRAP, { groups: 2 });
    expect(best.method).toBe('exhaustive');
    expect(best.groups).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
    expect(best.score).toBeCloseTo(4.8, 10); // each triangle: 3 tasks x mean affinity 0.8
    const reference = Math.max(
      ...allPartitions(6, 2).map((labels) => partitionScore(matrixOf(TRAP), labels)),
    );
    expect(best.score).toBeCloseTo(reference, 10);
    const greedy = groupTasks(TRAP, { groups: 2, method: 'greedy' });
    expect(greedy.method).toBe('greedy');
    expect(greedy.score).toBeLessThan(best.score - 0.5);
    expect(isPartition(greedy.groups, TRAP.nodes())).toBe(true);
  });

  it('groupTasks respects the group budget', () => {
    for (const k of [1, 2, 3, 4, 6, 9]) {
      const r = groupTasks(TRAP, { groups: k });
      expect(r.groups.length).toBeLessThanOrEqual(k);
      expect(isPartition(r.groups, TRAP.nodes())).toBe(true);
      expect(r.score).toBeCloseTo(
        partitionScore(
          matrixOf(TRAP),
          TRAP.nodes().map((t) => r.groups.findIndex((g) => g.includes(t))),
        ),
        10,
      );
    }
    expect(groupTasks(TRAP, { groups: 1 }).groups).toEqual([TRAP.nodes()]);
  });

  it('groupTasks keeps tasks with negative affinity apart when the budget allows', () => {
    const g = graphOf(
      ['p', 'q', 'r', 's'],
      [
        ['p', 'q', 0.9],
        ['r', 's', 0.9],
        ['p', 'r', -0.8],
        ['q', 's', 0.1],
      ],
    );
    expect(groupTasks(g, { groups: 2 }).groups).toEqual([
      ['p', 'q'],
      ['r', 's'],
    ]);
    const forced = groupTasks(g, { groups: 1 });
    expect(forced.groups).toEqual([['p', 'q', 'r', 's']]);
    expect(forced.notes.join('\n')).toMatch(/negative affinity share a group.*p\/r/);
  });

  it('groupTasks searches greedily beyond the exhaustive limit and still returns a valid partition', () => {
    const n = EXHAUSTIVE_MAX_TASKS + 3;
    const tasks = Array.from({ length: n }, (_, i) => `t${i}`);
    const random = seededRandom(3);
    const edges: Array<[string, string, number]> = [];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const same = i % 3 === j % 3;
        edges.push([
          tasks[i]!,
          tasks[j]!,
          Math.round(((same ? 0.6 : -0.1) + 0.3 * (random() - 0.5)) * 100) / 100,
        ]);
      }
    }
    const g = graphOf(tasks, edges);
    const r = groupTasks(g, { groups: 3 });
    expect(r.method).toBe('greedy');
    expect(r.notes[0]).toMatch(
      new RegExp(`more than the exhaustive limit of ${EXHAUSTIVE_MAX_TASKS}`),
    );
    expect(isPartition(r.groups, tasks)).toBe(true);
    expect(r.groups.length).toBeLessThanOrEqual(3);
    expect(r.groups).toEqual([0, 1, 2].map((m) => tasks.filter((_, i) => i % 3 === m)));
    expect(() => groupTasks(g, { groups: 3, method: 'exhaustive' })).toThrow(OptionsError);
    try {
      groupTasks(g, { groups: 3, method: 'exhaustive' });
    } catch (error) {
      expect((error as OptionsError).path).toBe('options.method');
      expect((error as Error).message).toContain(
        `limited to ${EXHAUSTIVE_MAX_TASKS} tasks (got ${n})`,
      );
    }
  });

  it('groupTasks accepts what measureAffinity returns', () => {
    const result = {
      graph: TRAP,
      matrix: [],
      raw: [],
      tasks: TRAP.nodes(),
      method: 'label-correlation',
      steps: 0,
      trainingSteps: 0,
      notes: [],
    };
    expect(groupTasks(result, { groups: 2 }).groups).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
  });

  it('exhaustiveGroups prefers fewer groups on ties', () => {
    // Four tasks all at 0.5: one group, two pairs and every other split without singletons score the same.
    const w = [0, 1, 2, 3].map((i) => Float64Array.from([0, 1, 2, 3], (j) => (i === j ? 0 : 0.5)));
    const r = exhaustiveGroups(w, 4);
    expect(new Set(r.labels).size).toBe(1);
    expect(r.score).toBeCloseTo(2, 10);
  });

  it('groupTasks bad options raise OptionsError with the path', () => {
    const cases: Array<[unknown, string]> = [
      [{ groups: 0 }, 'options.groups'],
      [{ groups: 1.5 }, 'options.groups'],
      [{}, 'options.groups'],
      [{ groups: 2, method: 'best' }, 'options.method'],
      [{ groups: 2, extra: true }, 'options.extra'],
      [undefined, 'options'],
    ];
    for (const [options, path] of cases) {
      let caught: unknown;
      try {
        groupTasks(TRAP, options as { groups: number });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(options)).toBeInstanceOf(OptionsError);
      expect((caught as OptionsError).path).toBe(path);
    }
    expect(() => groupTasks({ nodes: [] }, { groups: 2 })).toThrow(GraphStructureError);
  });
});
