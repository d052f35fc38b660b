// Issue 14, point 18: readGraph and parsePlan accept JSON text (and readGraph a serialized graph).
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { readGraph } from '../../src/schema/validate.js';
import { plan } from '../../src/plan/compile-plan.js';
import { parsePlan } from '../../src/plan/schema.js';
import { GraphSpecError, PlanError, UnknownTaskError } from '../../src/errors.js';

function graph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 4 }, name: 'json text' });
  g.addTask('a', { kind: 'binary' });
  g.addTask('b', { kind: 'multiclass', classes: 3 });
  g.addAffinity('a', 'b', { weight: 0.4 });
  return g;
}

describe('JSON text (#14.18)', () => {
  it('readGraph reads a graph, its serialized JSON and that JSON as text alike', () => {
    const g = graph();
    const expected = readGraph(g);
    expect(readGraph(g.export())).toEqual(expected);
    expect(readGraph(JSON.stringify(g.export()))).toEqual(expected);
    expect(plan(JSON.stringify(g.export()), { strategy: 'hard' })).toEqual(
      plan(g, { strategy: 'hard' }),
    );
  });

  it('readGraph names the JSON syntax error, and validates the text as TaskGraph.from does', () => {
    expect(() => readGraph('{"nodes": [')).toThrow(GraphSpecError);
    expect(() => readGraph('{"nodes": [')).toThrow(/the string given as a task graph is not JSON/);
    const bad = graph().export();
    bad.edges!.push({ source: 'a', target: 'zzz' });
    expect(() => readGraph(JSON.stringify(bad))).toThrow(UnknownTaskError);
    expect(() => readGraph('42')).toThrow(/expected a graphology graph \(got 42\)/);
  });

  it('parsePlan reads a plan from JSON text as from the parsed object', () => {
    const p = plan(graph(), { strategy: 'mmoe' });
    const text = JSON.stringify(p);
    expect(parsePlan(text)).toEqual(parsePlan(JSON.parse(text)));
    expect(parsePlan(text)).toEqual(p);
    expect(() => parsePlan('{"version": 1,')).toThrow(PlanError);
    expect(() => parsePlan('{"version": 1,')).toThrow(/the string given as a plan is not JSON/);
    expect(() => parsePlan('"a plan"')).toThrow(/a plan must be an object/);
  });
});
