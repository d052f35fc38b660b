import { describe, it, expect } from 'vitest';
import Graph from 'graphology';
import {
  TaskGraph,
  plan,
  MtgraphError,
  GraphSpecError,
  GraphStructureError,
  DuplicateTaskError,
  UnknownTaskError,
  UnsafeKeyError,
  OptionsError,
} from '../../src/index.js';

/** Runs fn, expects it to throw an error of `cls` whose path is `path`; returns the error. */
function expectError(
  fn: () => unknown,
  cls: new (...args: any[]) => MtgraphError,
  path: string,
): MtgraphError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected an error').toBeInstanceOf(cls);
  const error = caught as MtgraphError;
  expect(error).toBeInstanceOf(MtgraphError);
  expect(error.name).toBe(cls.name);
  expect(error.path).toBe(path);
  expect(error.message).toContain(path);
  return error;
}

function twoTasks(): TaskGraph {
  const g = new TaskGraph({ input: { features: 4 } });
  g.addTask('click', { kind: 'binary' });
  g.addTask('segment', { kind: 'multiclass', classes: 3 });
  return g;
}

describe('task attributes', () => {
  it('addTask rejects an unknown kind', () => {
    const e = expectError(
      () => twoTasks().addTask('x', { kind: 'ordinal' } as never),
      GraphSpecError,
      'tasks.x.kind',
    );
    expect(e.message).toMatch(/regression, binary, multiclass, multilabel/);
  });

  it('addTask rejects a task without a kind', () => {
    expectError(() => twoTasks().addTask('x', {} as never), GraphSpecError, 'tasks.x.kind');
  });

  it('addTask rejects multiclass without classes', () => {
    const e = expectError(
      () => twoTasks().addTask('seg', { kind: 'multiclass' } as never),
      GraphSpecError,
      'tasks.seg.classes',
    );
    expect(e.message).toMatch(/needs classes/);
  });

  it('addTask rejects multiclass with fewer than 2 classes', () => {
    const e = expectError(
      () => twoTasks().addTask('seg', { kind: 'multiclass', classes: 1 }),
      GraphSpecError,
      'tasks.seg.classes',
    );
    expect(e.message).toMatchInlineSnapshot(
      `"mtgraph/spec: a multiclass task needs at least 2 classes (got 1). Set classes to the number of classes (at least 2) or a list of class names, e.g. classes: 3. → at tasks.seg.classes"`,
    );
  });

  it('addTask rejects a single class name', () => {
    expectError(
      () => twoTasks().addTask('seg', { kind: 'multiclass', classes: ['only'] }),
      GraphSpecError,
      'tasks.seg.classes',
    );
  });

  it('addTask rejects multilabel without labels', () => {
    expectError(
      () => twoTasks().addTask('tags', { kind: 'multilabel' } as never),
      GraphSpecError,
      'tasks.tags.labels',
    );
  });

  it('addTask rejects a negative task weight', () => {
    const e = expectError(
      () => twoTasks().addTask('x', { kind: 'binary', weight: -1 }),
      GraphSpecError,
      'tasks.x.weight',
    );
    expect(e.message).toMatch(/>= 0/);
  });

  it('addTask rejects a non-finite task weight', () => {
    expectError(
      () => twoTasks().addTask('x', { kind: 'binary', weight: Number.POSITIVE_INFINITY }),
      GraphSpecError,
      'tasks.x.weight',
    );
  });

  it('addTask rejects non-integer layer units', () => {
    expectError(
      () => twoTasks().addTask('x', { kind: 'binary', head: { units: [16, 2.5] } }),
      GraphSpecError,
      'tasks.x.head.units[1]',
    );
  });

  it('addTask rejects non-positive layer units', () => {
    expectError(
      () => twoTasks().addTask('x', { kind: 'binary', head: { units: [0] } }),
      GraphSpecError,
      'tasks.x.head.units[0]',
    );
  });

  it('addTask rejects an unknown activation', () => {
    const e = expectError(
      () => twoTasks().addTask('x', { kind: 'binary', head: { activation: 'relux' as never } }),
      GraphSpecError,
      'tasks.x.head.activation',
    );
    expect(e.message).toMatch(/relu, relu6/);
  });

  it('addTask rejects a loss of another kind', () => {
    expectError(
      () => twoTasks().addTask('x', { kind: 'binary', loss: 'mse' as never }),
      GraphSpecError,
      'tasks.x.loss',
    );
  });

  it('addTask rejects a misspelled attribute and names the known ones', () => {
    const e = expectError(
      () => twoTasks().addTask('x', { kind: 'multiclass', classes: 3, clases: 3 } as never),
      GraphSpecError,
      'tasks.x.clases',
    );
    expect(e.message).toMatch(/"clases"/);
    expect(e.message).toMatch(/classes/);
  });

  it('addTask rejects a duplicate task', () => {
    expectError(
      () => twoTasks().addTask('click', { kind: 'binary' }),
      DuplicateTaskError,
      'tasks.click',
    );
  });

  it('addTask rejects attributes that are not a plain object', () => {
    expectError(() => twoTasks().addTask('x', null as never), GraphSpecError, 'tasks.x');
    expectError(() => twoTasks().addTask('x', new Map() as never), GraphSpecError, 'tasks.x');
  });

  it('addTask rejects an empty id', () => {
    expectError(() => twoTasks().addTask('', { kind: 'binary' }), GraphSpecError, 'tasks.');
  });
});

describe('affinities', () => {
  it('addAffinity rejects an unknown task', () => {
    const e = expectError(
      () => twoTasks().addAffinity('click', 'churn', { weight: 0.5 }),
      UnknownTaskError,
      'edges[0]',
    );
    expect(e.message).toMatch(/"churn"/);
  });

  it('addAffinity rejects a self-loop', () => {
    expectError(
      () => twoTasks().addAffinity('click', 'click', { weight: 0.5 }),
      GraphStructureError,
      'edges[0]',
    );
  });

  it('addAffinity rejects a parallel edge, in either direction', () => {
    const g = twoTasks();
    g.addAffinity('click', 'segment', { weight: 0.5 });
    expectError(
      () => g.addAffinity('segment', 'click', { weight: 0.2 }),
      GraphStructureError,
      'edges[1]',
    );
  });

  it('addAffinity rejects a weight outside [-1, 1]', () => {
    expectError(
      () => twoTasks().addAffinity('click', 'segment', { weight: 1.5 }),
      GraphSpecError,
      'edges[0].weight',
    );
    expectError(
      () => twoTasks().addAffinity('click', 'segment', { weight: -1.01 }),
      GraphSpecError,
      'edges[0].weight',
    );
  });

  it('addAffinity rejects a non-finite weight', () => {
    expectError(
      () => twoTasks().addAffinity('click', 'segment', { weight: Number.NaN }),
      GraphSpecError,
      'edges[0].weight',
    );
    expectError(
      () => twoTasks().addAffinity('click', 'segment', { weight: Number.NEGATIVE_INFINITY }),
      GraphSpecError,
      'edges[0].weight',
    );
  });

  it('addAffinity rejects an unknown sharing mode', () => {
    expectError(
      () => twoTasks().addAffinity('click', 'segment', { sharing: 'some' as never }),
      GraphSpecError,
      'edges[0].sharing',
    );
  });

  it('addAffinity defaults the weight to 1', () => {
    const g = twoTasks();
    g.addAffinity('click', 'segment');
    expect(plan(g, { strategy: 'soft' }).couplings[0]).toMatchObject({
      pairs: [['click', 'segment', 1]],
    });
  });
});

describe('graphs passed in', () => {
  it('plan rejects a directed graph', () => {
    const g = new Graph.DirectedGraph();
    g.addNode('a', { kind: 'binary' });
    expectError(() => plan(g, { input: 3 }), GraphStructureError, 'graph.type');
  });

  it('plan rejects a mixed graph', () => {
    const g = new (Graph as unknown as { Graph: typeof Graph.UndirectedGraph }).Graph({
      type: 'mixed',
    } as never);
    g.addNode('a', { kind: 'binary' });
    expectError(() => plan(g, { input: 3 }), GraphStructureError, 'graph.type');
  });

  it('plan rejects a graph with no tasks', () => {
    expectError(() => plan(new TaskGraph({ input: 3 })), GraphStructureError, 'tasks');
  });

  it('plan rejects parallel edges of a plain multigraph', () => {
    const g = new Graph.MultiUndirectedGraph();
    g.addNode('a', { kind: 'binary' });
    g.addNode('b', { kind: 'binary' });
    g.addEdge('a', 'b', { weight: 0.5 });
    g.addEdge('b', 'a', { weight: 0.4 });
    expectError(() => plan(g, { input: 3 }), GraphStructureError, 'edges[1]');
  });

  it('plan rejects a self-loop in a plain graph', () => {
    const g = new Graph.UndirectedGraph();
    g.addNode('a', { kind: 'binary' });
    g.addEdge('a', 'a', { weight: 0.5 });
    expectError(() => plan(g, { input: 3 }), GraphStructureError, 'edges[0]');
  });

  it('plan validates the attributes of a plain graphology graph', () => {
    const g = new Graph.UndirectedGraph();
    g.addNode('a', { kind: 'binary' });
    g.addNode('b', { kind: 'multiclass', classes: 1 });
    expectError(() => plan(g, { input: 3 }), GraphSpecError, 'tasks.b.classes');
    g.setNodeAttribute('b', 'classes', 4);
    g.addEdge('a', 'b', { weight: 2 });
    expectError(() => plan(g, { input: 3 }), GraphSpecError, 'edges[0].weight');
  });

  it('plan accepts a valid plain graphology graph', () => {
    const g = new Graph.UndirectedGraph();
    g.addNode('a', { kind: 'binary' });
    g.addNode('b', { kind: 'regression' });
    g.addEdge('a', 'b', { weight: 0.5 });
    expect(plan(g, { input: 3, strategy: 'hard' }).blocks[0]!.tasks).toEqual(['a', 'b']);
  });

  it('plan rejects something that is not a graph', () => {
    expectError(() => plan({ tasks: [] }), GraphStructureError, '');
    // serialized JSON is read as a graph (#14.18): an empty one has no tasks
    expectError(() => plan({ nodes: [] }), GraphStructureError, 'tasks');
  });

  it('plan rejects a graph without an input size', () => {
    const g = new TaskGraph();
    g.addTask('a', { kind: 'binary' });
    expectError(() => plan(g), OptionsError, 'graph.input');
  });

  it('TaskGraph rejects a bad input attribute', () => {
    expectError(() => new TaskGraph({ input: 0 }), GraphSpecError, 'graph.input');
    expectError(
      () => new TaskGraph({ input: { features: 3, columns: ['a', 'b'] } }),
      GraphSpecError,
      'graph.input',
    );
    expectError(
      () => new TaskGraph({ input: { columns: ['a', 'a'] } }),
      GraphSpecError,
      'graph.input.columns',
    );
  });
});

describe('options', () => {
  it('plan rejects an unknown strategy and lists the known ones', () => {
    const e = expectError(
      () => plan(twoTasks(), { strategy: 'shared' }),
      OptionsError,
      'options.strategy',
    );
    expect(e.message).toMatch(/single, hard, clustered, tree, soft, cross-stitch, mmoe, ple, auto/);
  });

  it('plan rejects an unknown option', () => {
    expectError(
      () => plan(twoTasks(), { strategy: 'hard', epochs: 3 }),
      OptionsError,
      'options.epochs',
    );
  });

  it('plan rejects an unknown option inside a strategy section', () => {
    expectError(
      () => plan(twoTasks(), { strategy: 'clustered', clustered: { treshold: 0.5 } }),
      OptionsError,
      'options.clustered.treshold',
    );
  });

  it('plan rejects non-integer and non-positive trunk units', () => {
    expectError(
      () => plan(twoTasks(), { trunk: { units: [32, 0.5] } }),
      OptionsError,
      'options.trunk.units[1]',
    );
    expectError(
      () => plan(twoTasks(), { trunk: { units: [-4] } }),
      OptionsError,
      'options.trunk.units[0]',
    );
  });

  it('plan rejects an unknown activation in options', () => {
    expectError(
      () => plan(twoTasks(), { trunk: { activation: 'sigmoidal' as never } }),
      OptionsError,
      'options.trunk.activation',
    );
  });

  it('plan rejects out-of-range strategy options', () => {
    expectError(
      () => plan(twoTasks(), { strategy: 'cross-stitch', crossStitch: { selfWeight: 0.4 } }),
      OptionsError,
      'options.crossStitch.selfWeight',
    );
    expectError(
      () => plan(twoTasks(), { strategy: 'mmoe', mmoe: { experts: 0 } }),
      OptionsError,
      'options.mmoe.experts',
    );
    expectError(
      () => plan(twoTasks(), { strategy: 'soft', soft: { strength: -1 } }),
      OptionsError,
      'options.soft.strength',
    );
  });
});

describe('unsafe keys', () => {
  const before = Object.getOwnPropertyNames(Object.prototype).sort();

  it('addTask rejects __proto__, constructor and prototype as ids', () => {
    for (const id of ['__proto__', 'constructor', 'prototype']) {
      expectError(() => twoTasks().addTask(id, { kind: 'binary' }), UnsafeKeyError, `tasks.${id}`);
    }
  });

  it('addTask rejects __proto__ as an attribute name', () => {
    const attrs = JSON.parse('{"kind":"binary","__proto__":{"polluted":true}}');
    expectError(() => twoTasks().addTask('x', attrs), UnsafeKeyError, 'tasks.x.__proto__');
  });

  it('addTask rejects constructor nested in an attribute', () => {
    const attrs = JSON.parse(
      '{"kind":"binary","head":{"constructor":{"prototype":{"polluted":true}}}}',
    );
    expectError(() => twoTasks().addTask('x', attrs), UnsafeKeyError, 'tasks.x.head.constructor');
  });

  it('addAffinity rejects __proto__ in attributes', () => {
    const attrs = JSON.parse('{"weight":0.5,"__proto__":{"polluted":true}}');
    expectError(
      () => twoTasks().addAffinity('click', 'segment', attrs),
      UnsafeKeyError,
      'edges[0].__proto__',
    );
  });

  it('TaskGraph.from rejects __proto__ anywhere and leaves Object.prototype untouched', () => {
    const text =
      '{"attributes":{"input":3},"nodes":[{"key":"a","attributes":{"kind":"binary"}}],"edges":[],"__proto__":{"polluted":true}}';
    expectError(() => TaskGraph.from(JSON.parse(text)), UnsafeKeyError, '__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });

  it('plan rejects __proto__ in options', () => {
    expectError(
      () => plan(twoTasks(), JSON.parse('{"strategy":"hard","trunk":{"__proto__":{"units":[1]}}}')),
      OptionsError,
      'options.trunk.__proto__',
    );
  });
});
