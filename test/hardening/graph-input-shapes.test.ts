// Issue 14, points 10 and 11: task ids that are Object.prototype names, and serialized graphs
// whose arrays were built in code with a replaced prototype.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import Graph from 'graphology';
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { plan } from '../../src/plan/compile-plan.js';
import { compile } from '../../src/network/compile.js';
import { fit } from '../../src/train/fit.js';
import { predict } from '../../src/train/predict.js';
import { evaluate } from '../../src/train/evaluate.js';
import { strategyNames } from '../../src/plan/registry.js';
import { GraphSpecError, UnsafeKeyError } from '../../src/errors.js';
import { cli } from '../cli/helpers.js';
import { renderGraphSvg } from '../../src/viz/graph-svg.js';
import { renderPlanSvg } from '../../src/viz/plan-svg.js';
import { toGexf } from '../../src/viz/gexf.js';
import { toGraphml } from '../../src/viz/graphml.js';
import { removeDir, tempDir } from './helpers.js';

const IDS = ['toString', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString'];

function prototypeNames(): TaskGraph {
  const g = new TaskGraph({ input: { features: 3 } });
  g.addTask('toString', { kind: 'regression' });
  g.addTask('valueOf', { kind: 'binary' });
  g.addTask('isPrototypeOf', { kind: 'multiclass', classes: 3 });
  g.addTask('propertyIsEnumerable', { kind: 'regression' });
  g.addTask('toLocaleString', { kind: 'binary' });
  g.addAffinity('toString', 'valueOf', { weight: 0.8 });
  g.addAffinity('valueOf', 'isPrototypeOf', { weight: 0.6 });
  g.addAffinity('isPrototypeOf', 'toString', { weight: 0.4 });
  g.addAffinity('propertyIsEnumerable', 'toLocaleString', { weight: 0.7 });
  g.addAffinity('toString', 'toLocaleString', { weight: -0.5 });
  return g;
}

function data(rows: number) {
  const x: number[][] = [];
  const y: Record<string, number[]> = Object.fromEntries(IDS.map((id) => [id, []]));
  const col = (id: string): number[] => y[id]!;
  for (let r = 0; r < rows; r++) {
    const f = [Math.sin(r), Math.cos(r * 0.7), (r % 5) / 5];
    x.push(f);
    col('toString').push(f[0]! + f[1]!);
    col('valueOf').push(f[0]! > 0 ? 1 : 0);
    col('isPrototypeOf').push(r % 3);
    col('propertyIsEnumerable').push(f[2]!);
    col('toLocaleString').push(f[1]! > 0 ? 1 : 0);
  }
  return { x, y };
}

describe('Object.prototype names as task ids (#14.10)', () => {
  it('TaskGraph takes them as tasks and as affinity ends', () => {
    const g = prototypeNames();
    expect(g.order).toBe(5);
    expect(g.size).toBe(5);
    expect(g.hasEdge('toString', 'valueOf')).toBe(true);
    expect(g.hasEdge('valueOf', 'toLocaleString')).toBe(false);
    expect(g.areNeighbors('toString', 'isPrototypeOf')).toBe(true);
    expect(g.neighbors('toString').sort()).toEqual(['isPrototypeOf', 'toLocaleString', 'valueOf']);
    expect(g.edge('valueOf', 'toString')).toBe('toString--valueOf');
    expect(TaskGraph.from(g.export()).size).toBe(5);
  });

  it('the pictures and exchange formats draw them', () => {
    const g = prototypeNames();
    const svg = renderGraphSvg(g, { seed: 1 });
    for (const id of IDS) expect(svg).toContain(id);
    expect(toGexf(g)).toContain('id="valueOf"');
    expect(toGraphml(g)).toContain('"toLocaleString"');
    expect(renderPlanSvg(plan(g, { strategy: 'clustered' }))).toContain('isPrototypeOf');
  });

  it('every strategy plans them', () => {
    for (const strategy of strategyNames()) {
      const p = plan(prototypeNames(), { strategy, trunk: { units: [4] } });
      expect(Object.keys(p.towers).sort()).toEqual([...IDS].sort());
      expect(p.tasks.map((t) => t.id)).toEqual(IDS);
    }
  });

  it('a model of them trains, predicts and evaluates', async () => {
    const model = compile(prototypeNames(), { strategy: 'clustered', trunk: { units: [4] } });
    const before = tf.memory().numTensors;
    const history = await fit(model, data(40), { epochs: 2, validationSplit: 0.25 });
    expect(Object.keys(history.taskLoss).sort()).toEqual([...IDS].sort());
    for (const id of IDS) expect(Number.isFinite(history.valTaskLoss![id]![1]!)).toBe(true);
    const out = predict(model, data(5).x);
    expect(Object.keys(out).sort()).toEqual([...IDS].sort());
    expect(out['isPrototypeOf' as string]!.shape).toEqual([5, 3]);
    tf.dispose(Object.values(out));
    const scores = await evaluate(model, data(10));
    expect(Number.isFinite(scores['toString' as string]!.loss!)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('mtgraph validate and train accept them', async () => {
    const dir = await tempDir('proto-ids');
    try {
      const file = path.join(dir, 'g.json');
      await fs.writeFile(file, JSON.stringify(prototypeNames().export()));
      const d = data(40);
      const lines = [['x0', 'x1', 'x2', ...IDS].join(',')];
      d.x.forEach((f, r) => lines.push([...f, ...IDS.map((id) => d.y[id]![r])].join(',')));
      await fs.writeFile(path.join(dir, 'd.csv'), `${lines.join('\n')}\n`);
      const v = await cli('validate', file, '--data', path.join(dir, 'd.csv'));
      expect(v.stderr).toBe('');
      expect(v.code).toBe(0);
      const t = await cli(
        'train',
        file,
        '--data',
        path.join(dir, 'd.csv'),
        '--out',
        path.join(dir, 'model'),
        '--epochs',
        '2',
        '--quiet',
      );
      expect(t.stderr).toBe('');
      expect(t.code).toBe(0);
    } finally {
      await removeDir(dir);
    }
  });

  it('hasOwnProperty is refused with an UnsafeKeyError that says why', () => {
    const g = new TaskGraph({ input: 3 });
    expect(() => g.addTask('hasOwnProperty', { kind: 'binary' })).toThrow(UnsafeKeyError);
    expect(() => g.addTask('hasOwnProperty', { kind: 'binary' })).toThrow(
      /"hasOwnProperty" cannot be a task id \(graphology calls/,
    );
    const plain = new Graph.UndirectedGraph();
    plain.addNode('hasOwnProperty', { kind: 'binary' });
    expect(() => plan(plain, { input: 3 })).toThrow(UnsafeKeyError);
  });
});

describe('TaskGraph.from with arrays whose prototype was replaced (#14.11)', () => {
  it('reads nodes and edges without their prototype methods', () => {
    const nodes = [
      { key: 'a', attributes: { kind: 'binary' } },
      { key: 'b', attributes: { kind: 'regression' } },
    ];
    const edges = [{ source: 'a', target: 'b', attributes: { weight: 0.5 } }];
    Object.setPrototypeOf(nodes, null);
    Object.setPrototypeOf(edges, {});
    const g = TaskGraph.from({ attributes: { input: 2 }, nodes, edges });
    expect(g.order).toBe(2);
    expect(g.getEdgeAttribute('a', 'b', 'weight')).toBe(0.5);
  });

  it('a node object with a replaced prototype is a GraphSpecError naming it', () => {
    const node = Object.setPrototypeOf({ key: 'a', attributes: { kind: 'binary' } }, {});
    expect(() => TaskGraph.from({ nodes: [node] })).toThrow(GraphSpecError);
    expect(() => TaskGraph.from({ nodes: [node] })).toThrow(/at nodes\[0\]/);
  });
});
