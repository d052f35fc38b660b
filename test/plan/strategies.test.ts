import { describe, it, expect } from 'vitest';
import {
  TaskGraph,
  plan,
  explain,
  parsePlan,
  strategyNames,
  countParams,
  PlanError,
  type Plan,
} from '../../src/index.js';
import { twoCliques, randomGraph } from '../fixtures.js';

const sorted = (groups: string[][]) =>
  groups.map((g) => [...g].sort()).sort((a, b) => a[0]!.localeCompare(b[0]!));

describe('plan: hard', () => {
  it('hard yields one block holding every task, and every tower reads it', () => {
    const p = plan(twoCliques(), { strategy: 'hard', trunk: { units: [16, 8] } });
    expect(p.blocks).toHaveLength(1);
    expect(p.blocks[0]).toMatchObject({
      id: 'trunk',
      parent: null,
      tasks: ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'],
    });
    expect(p.blocks[0]!.layers.map((l) => l.units)).toEqual([16, 8]);
    for (const t of p.tasks) expect(p.towers[t.id]!.parent).toBe('trunk');
    expect(p.notes.join('\n')).toMatch(/conflicting pair/);
  });

  it('hard counts parameters: 8*16+16 + 16*8+8 + 6 heads of 8+1', () => {
    const p = plan(twoCliques(), { strategy: 'hard', trunk: { units: [16, 8] } });
    expect(p.params.blocks.trunk).toBe(8 * 16 + 16 + 16 * 8 + 8);
    expect(p.params.total).toBe(8 * 16 + 16 + 16 * 8 + 8 + 6 * 9);
  });
});

describe('plan: clustered', () => {
  it('clustered splits two positive cliques joined by negative edges into exactly those groups', () => {
    const p = plan(twoCliques(), { strategy: 'clustered' });
    expect(sorted(p.groups!)).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3'],
    ]);
    expect(p.blocks.map((b) => b.tasks.sort())).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3'],
    ]);
  });

  it('clustered by threshold keeps only strong edges', () => {
    const p = plan(twoCliques(), {
      strategy: 'clustered',
      clustered: { method: 'threshold', threshold: 0.85 },
    });
    expect(sorted(p.groups!)).toEqual([['a1', 'a2'], ['a3'], ['b1', 'b2'], ['b3']]);
    expect(p.towers.a3!.parent).toBeNull();
    expect(p.towers.a3!.layers).toHaveLength(2); // a private copy of the trunk
  });

  it('clustered never puts conflicting tasks in one group, even when Louvain would', () => {
    const g = new TaskGraph({ input: 4 });
    for (const id of ['x', 'y', 'z']) g.addTask(id, { kind: 'regression' });
    g.addAffinity('x', 'y', { weight: 0.9 });
    g.addAffinity('y', 'z', { weight: 0.9 });
    g.addAffinity('x', 'z', { weight: -0.2 });
    for (const method of ['louvain', 'threshold'] as const) {
      const p = plan(g, { strategy: 'clustered', clustered: { method, threshold: 0.5 } });
      for (const group of p.groups!) expect(group.includes('x') && group.includes('z')).toBe(false);
      expect(p.notes.join('\n')).toMatch(/split/);
    }
  });

  it('clustered treats a tiny measured negative weight as noise, but a declared one as a conflict', () => {
    const make = (source?: string) => {
      const g = new TaskGraph({ input: 4 });
      for (const id of ['x', 'y', 'z']) g.addTask(id, { kind: 'regression' });
      g.addAffinity('x', 'y', { weight: 0.3, ...(source ? { source } : {}) });
      g.addAffinity('y', 'z', { weight: 0.3, ...(source ? { source } : {}) });
      g.addAffinity('x', 'z', { weight: -0.02, ...(source ? { source } : {}) });
      return g;
    };
    const groups = (g: TaskGraph) =>
      sorted(plan(g, { strategy: 'clustered', clustered: { groups: [['x', 'y', 'z']] } }).groups!);
    expect(groups(make('lookahead'))).toEqual([['x', 'y', 'z']]);
    expect(groups(make())).not.toEqual([['x', 'y', 'z']]);
  });

  it("clustered honours sharing: 'none' and 'hard'", () => {
    const g = new TaskGraph({ input: 4 });
    for (const id of ['p', 'q', 'r', 's']) g.addTask(id, { kind: 'binary' });
    g.addAffinity('p', 'q', { weight: 0.9, sharing: 'none' });
    g.addAffinity('r', 's', { weight: 0.1, sharing: 'hard' });
    const p = plan(g, {
      strategy: 'clustered',
      clustered: { method: 'threshold', threshold: 0.5 },
    });
    expect(sorted(p.groups!)).toEqual([['p'], ['q'], ['r', 's']]);
  });

  it('clustered takes explicit groups, leaves unlisted tasks alone and still splits conflicts', () => {
    const p = plan(twoCliques(), {
      strategy: 'clustered',
      clustered: {
        groups: [
          ['a1', 'a2', 'b1'],
          ['b2', 'b3'],
        ],
      },
    });
    expect(sorted(p.groups!)).toEqual([['a1', 'a2'], ['a3'], ['b1'], ['b2', 'b3']]);
    expect(() =>
      plan(twoCliques(), { strategy: 'clustered', clustered: { groups: [['a1', 'zz']] } }),
    ).toThrow(expect.objectContaining({ path: 'options.clustered.groups[0][1]' }));
    expect(() =>
      plan(twoCliques(), { strategy: 'clustered', clustered: { groups: [['a1'], ['a1']] } }),
    ).toThrow(expect.objectContaining({ path: 'options.clustered.groups[1][0]' }));
  });

  it("clustered 'task-grouping' maximises within-group affinity under a budget", () => {
    const p = plan(twoCliques(), {
      strategy: 'clustered',
      clustered: { method: 'task-grouping', budget: 2 },
    });
    expect(sorted(p.groups!)).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3'],
    ]);
    expect(p.notes.join('\n')).toMatch(/task grouping \(exhaustive\)/);
  });

  it('clustered adds a common stem only when asked', () => {
    const p = plan(twoCliques(), { strategy: 'clustered', clustered: { stem: { units: [12] } } });
    expect(p.blocks[0]).toMatchObject({ id: 'stem', parent: null });
    expect(p.blocks.slice(1).every((b) => b.parent === 'stem')).toBe(true);
  });
});

describe('plan: soft', () => {
  it('soft has one Laplacian pair per positive edge with its weight, on every tower layer', () => {
    const p = plan(twoCliques(), {
      strategy: 'soft',
      trunk: { units: [16, 8] },
      soft: { strength: 0.05 },
    });
    const layers = p.couplings.filter((c) => c.kind === 'laplacian' && c.layer !== 'head');
    expect(layers).toHaveLength(2);
    for (const c of layers) {
      if (c.kind !== 'laplacian') throw new Error('unreachable');
      expect(c.strength).toBe(0.05);
      expect(c.pairs).toEqual([
        ['a1', 'a2', 0.9],
        ['a2', 'a3', 0.8],
        ['a1', 'a3', 0.7],
        ['b1', 'b2', 0.9],
        ['b2', 'b3', 0.6],
        ['b1', 'b3', 0.8],
      ]);
    }
    expect(p.blocks).toEqual([]);
    for (const t of p.tasks) expect(p.towers[t.id]!.layers.map((l) => l.units)).toEqual([16, 8]);
  });

  it('soft ties heads only when their shapes match', () => {
    const g = new TaskGraph({ input: 3 });
    g.addTask('a', { kind: 'binary' });
    g.addTask('b', { kind: 'binary' });
    g.addTask('c', { kind: 'multiclass', classes: 4 });
    g.addAffinity('a', 'b', { weight: 0.5 });
    g.addAffinity('a', 'c', { weight: 0.5 });
    const head = plan(g, { strategy: 'soft' }).couplings.find(
      (c) => c.kind === 'laplacian' && c.layer === 'head',
    );
    expect(head).toMatchObject({ pairs: [['a', 'b', 0.5]] });
  });
});

describe('plan: tree', () => {
  it('tree nests by affinity: the closest pair shares deepest', () => {
    const g = new TaskGraph({ input: 5 });
    for (const id of ['a', 'b', 'c', 'd']) g.addTask(id, { kind: 'regression' });
    g.addAffinity('a', 'b', { weight: 0.95 });
    g.addAffinity('a', 'c', { weight: 0.5 });
    g.addAffinity('b', 'c', { weight: 0.5 });
    const p = plan(g, {
      strategy: 'tree',
      trunk: { units: [32, 16, 8] },
      tree: { thresholds: [0.3, 0.6, 0.9] },
    });
    // Layer 0: {a, b, c}; layers 1-2: {a, b}; d is alone from the start.
    const abc = p.blocks.find((b) => b.tasks.length === 3)!;
    const ab = p.blocks.find((b) => b.tasks.length === 2)!;
    expect(abc).toMatchObject({ parent: null, tasks: ['a', 'b', 'c'] });
    expect(abc.layers.map((l) => l.units)).toEqual([32]);
    expect(ab).toMatchObject({ parent: abc.id, tasks: ['a', 'b'] });
    expect(ab.layers.map((l) => l.units)).toEqual([16, 8]);
    expect(p.towers.a!.parent).toBe(ab.id);
    expect(p.towers.c).toMatchObject({ parent: abc.id });
    expect(p.towers.c!.layers.map((l) => l.units)).toEqual([16, 8]);
    expect(p.towers.d!.parent).toBeNull();
    expect(p.towers.d!.layers.map((l) => l.units)).toEqual([32, 16, 8]);
  });

  it('tree with a budget shares more until it fits, and refuses an impossible budget', () => {
    const g = twoCliques();
    g.addTask('c', { kind: 'binary' });
    g.addAffinity('c', 'a1', { weight: 0.2 });
    const free = plan(g, { strategy: 'tree' });
    const budget = free.params.total - 1;
    const tight = plan(g, { strategy: 'tree', tree: { budget } });
    expect(tight.params.total).toBeLessThanOrEqual(budget);
    expect(tight.blocks.find((b) => b.tasks.includes('c'))).toBeDefined();
    expect(tight.notes.join('\n')).toMatch(/scaled by/);
    expect(() => plan(g, { strategy: 'tree', tree: { budget: 10 } })).toThrow(PlanError);
  });

  it('tree never lets conflicting tasks share a layer', () => {
    const g = twoCliques();
    g.addAffinity('a2', 'b2', { weight: 0.99 });
    const p = plan(g, { strategy: 'tree', tree: { thresholds: [0, 0] } });
    for (const b of p.blocks) {
      expect(b.tasks.includes('a1') && b.tasks.includes('b1')).toBe(false);
      expect(b.tasks.includes('a3') && b.tasks.includes('b3')).toBe(false);
    }
  });

  it('tree needs one threshold per trunk layer', () => {
    expect(() => plan(twoCliques(), { strategy: 'tree', tree: { thresholds: [0.5] } })).toThrow(
      /one value per trunk layer/,
    );
  });
});

describe('plan: cross-stitch', () => {
  it('cross-stitch alpha rows sum to 1 with the diagonal largest, spread by edge weight', () => {
    const p = plan(twoCliques(), { strategy: 'cross-stitch' });
    const units = p.couplings.filter((c) => c.kind === 'cross-stitch');
    expect(units).toHaveLength(4); // two components x two trunk layers
    for (const u of units) {
      if (u.kind !== 'cross-stitch') throw new Error('unreachable');
      u.alpha.forEach((row, i) => {
        expect(row.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
        expect(row[i]).toBe(0.9);
        row.forEach((x, j) => (j !== i ? expect(x).toBeLessThan(row[i]!) : null));
      });
    }
    const first = units[0]!;
    if (first.kind !== 'cross-stitch') throw new Error('unreachable');
    expect(first.tasks).toEqual(['a1', 'a2', 'a3']);
    // a1: neighbours a2 (0.9) and a3 (0.7): 0.1 * 0.9/1.6 and 0.1 * 0.7/1.6.
    expect(first.alpha[0]![1]).toBeCloseTo(0.05625, 12);
    expect(first.alpha[0]![2]).toBeCloseTo(0.04375, 12);
  });
});

describe('plan: mixture of experts', () => {
  it('mmoe has shared experts and one gate per task over all of them', () => {
    const p = plan(twoCliques(), { strategy: 'mmoe', mmoe: { experts: 3, units: [10] } });
    expect(p.blocks.map((b) => b.id)).toEqual(['expert0', 'expert1', 'expert2']);
    expect(p.gates).toHaveLength(6);
    for (const g of p.gates) expect(g.experts).toEqual(['expert0', 'expert1', 'expert2']);
    expect(p.towers.b2!.parent).toBe('gate.b2');
    expect(p.params.gates['gate.b2']).toBe(8 * 3 + 3);
  });

  it('ple has shared and task experts per level, task gates over their own and shared experts', () => {
    const p = plan(twoCliques(), {
      strategy: 'ple',
      trunk: { units: [16, 8] },
      ple: { sharedExperts: 2, taskExperts: 1 },
    });
    expect(p.blocks).toHaveLength(2 * (2 + 6));
    const g = p.gates.find((x) => x.id === 'ple1.gate.a1')!;
    expect(g.experts).toEqual(['ple1.a1.expert0', 'ple1.shared0', 'ple1.shared1']);
    expect(p.gates.find((x) => x.id === 'ple0.gate.shared')!.experts).toHaveLength(6 + 2);
    expect(p.blocks.find((b) => b.id === 'ple1.shared0')!.parent).toBe('ple0.gate.shared');
    expect(p.towers.a1!.parent).toBe('ple1.gate.a1');
  });
});

describe('plan: auto', () => {
  it('auto chooses clustered for conflicting cliques and says why', () => {
    const p = plan(twoCliques());
    expect(p.requested).toBe('auto');
    expect(p.strategy).toBe('clustered');
    expect(p.notes[0]).toMatch(/^auto: chose 'clustered' because 2 conflicting pair/);
  });

  it('auto groups by task grouping when the affinities were learned', () => {
    const g = twoCliques();
    g.forEachEdge((edge) => g.setEdgeAttribute(edge, 'source', 'lookahead'));
    const p = plan(g);
    expect(p.strategy).toBe('clustered');
    expect(p.notes[0]).toMatch(/learned from data \(lookahead\)/);
    expect(p.notes.join('\n')).toMatch(/task grouping/);
    expect(sorted(p.groups!)).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2', 'b3'],
    ]);
  });

  it('auto chooses hard without affinities and single for one task', () => {
    const g = new TaskGraph({ input: 3 });
    g.addTask('a', { kind: 'binary' });
    expect(plan(g).strategy).toBe('single');
    g.addTask('b', { kind: 'binary' });
    expect(plan(g).strategy).toBe('hard');
    expect(plan(g).notes[0]).toMatch(/no affinities/);
  });

  it('auto chooses hard for a dense strongly related graph and soft for a sparse weak one', () => {
    const dense = new TaskGraph({ input: 3 });
    for (const id of ['a', 'b', 'c']) dense.addTask(id, { kind: 'binary' });
    dense.addAffinity('a', 'b', { weight: 0.8 });
    dense.addAffinity('b', 'c', { weight: 0.8 });
    dense.addAffinity('a', 'c', { weight: 0.8 });
    expect(plan(dense).strategy).toBe('hard');
    const sparse = new TaskGraph({ input: 3 });
    for (const id of ['a', 'b', 'c', 'd']) sparse.addTask(id, { kind: 'binary' });
    sparse.addAffinity('a', 'b', { weight: 0.2 });
    sparse.addAffinity('c', 'd', { weight: 0.2 });
    sparse.addAffinity('b', 'c', { weight: 0.2 });
    expect(plan(sparse).strategy).toBe('soft');
  });
});

describe('plan: every strategy', () => {
  const graph = randomGraph(30, 90, 7);

  it.each(strategyNames())(
    '%s is deterministic: same graph, options and seed give byte-identical JSON',
    (strategy) => {
      const a = JSON.stringify(plan(graph, { strategy, seed: 3 }));
      const b = JSON.stringify(
        plan(TaskGraph.from(JSON.parse(JSON.stringify(graph.export()))), { strategy, seed: 3 }),
      );
      expect(a).toBe(b);
    },
  );

  it.each(strategyNames())(
    '%s: the plan survives a JSON round trip through parsePlan',
    (strategy) => {
      const p = plan(graph, { strategy });
      const back: Plan = parsePlan(JSON.parse(JSON.stringify(p)));
      expect(back).toEqual(p);
      expect(countParams(back, back.input.features)).toEqual(p.params);
    },
  );

  it.each(strategyNames())(
    '%s: every task has a tower whose parent exists, and explain names every task',
    (strategy) => {
      const p = plan(graph, { strategy });
      const ids = new Set([...p.blocks.map((b) => b.id), ...p.gates.map((g) => g.id)]);
      for (const t of p.tasks) {
        const parent = p.towers[t.id]!.parent;
        if (parent !== null) expect(ids.has(parent)).toBe(true);
      }
      const text = explain(p, { maxNames: 1000 });
      for (const t of p.tasks) expect(text).toContain(t.id);
      expect(p.params.total).toBeGreaterThan(0);
    },
  );

  it('parsePlan refuses an unknown version and a malformed plan', () => {
    const p = JSON.parse(JSON.stringify(plan(graph, { strategy: 'hard' })));
    expect(() => parsePlan({ ...p, version: 2 })).toThrow(/unknown plan version/);
    expect(() => parsePlan({ ...p, blocks: [{ id: 'x' }] })).toThrow(PlanError);
  });
});
