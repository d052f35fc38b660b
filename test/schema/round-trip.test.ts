import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  TaskGraph,
  loadGraph,
  saveGraph,
  plan,
  FileError,
  GraphStructureError,
  GraphSpecError,
  readGraph,
} from '../../src/index.js';
import { twoCliques } from '../fixtures.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'mtgraph-'));

describe('TaskGraph.from', () => {
  it('TaskGraph.from(graph.export()) gives the same graph', () => {
    const g = twoCliques();
    g.addTask('score', {
      kind: 'regression',
      outputs: ['math', 'reading'],
      loss: 'huber',
      weight: 2,
      head: { units: [8] },
      target: ['m', 'r'],
    });
    g.addAffinity('score', 'a1', { weight: 0.3, sharing: 'soft' });
    const back = TaskGraph.from(JSON.parse(JSON.stringify(g.export())));
    expect(back.export()).toEqual(g.export());
    expect(readGraph(back)).toEqual(readGraph(g));
  });

  it('TaskGraph.from refuses a directed graph, a multigraph and directed edges', () => {
    const data = {
      attributes: { input: 2 },
      nodes: [
        { key: 'a', attributes: { kind: 'binary' } },
        { key: 'b', attributes: { kind: 'binary' } },
      ],
      edges: [] as unknown[],
    };
    expect(() => TaskGraph.from({ ...data, options: { type: 'directed' } })).toThrow(
      GraphStructureError,
    );
    expect(() => TaskGraph.from({ ...data, options: { multi: true } })).toThrow(
      GraphStructureError,
    );
    expect(() =>
      TaskGraph.from({ ...data, edges: [{ source: 'a', target: 'b', undirected: false }] }),
    ).toThrow(/directed edges/);
  });

  it('TaskGraph.from names the node and edge at fault', () => {
    const data = {
      nodes: [
        { key: 'a', attributes: { kind: 'binary' } },
        { key: 'b', attributes: { kind: 'multiclass', classes: 1 } },
      ],
    };
    expect(() => TaskGraph.from(data)).toThrow(
      expect.objectContaining({ path: 'tasks.b.classes' }),
    );
    expect(() => TaskGraph.from({ nodes: [], edges: {} })).toThrow(
      expect.objectContaining({ path: 'edges' }),
    );
    expect(() => TaskGraph.from({ nodes: [], extra: 1 })).toThrow(
      expect.objectContaining({ path: 'extra' }),
    );
    expect(() => TaskGraph.from('nodes')).toThrow(GraphSpecError);
  });
});

describe('loadGraph / saveGraph', () => {
  it('saveGraph then loadGraph round-trips, with $schema', async () => {
    const d = dir();
    const file = path.join(d, 'g.json');
    await saveGraph(twoCliques(), file, { schema: '../graph.schema.json' });
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    expect(raw.$schema).toBe('../graph.schema.json');
    const back = await loadGraph(file);
    const strip = (x: ReturnType<TaskGraph['export']>) => ({
      ...x,
      edges: x.edges.map(({ key: _key, ...e }) => e),
    });
    expect(strip(back.export())).toEqual(strip(twoCliques().export()));
    expect(JSON.stringify(plan(back, { strategy: 'clustered' }))).toBe(
      JSON.stringify(plan(twoCliques(), { strategy: 'clustered' })),
    );
    expect(readdirSync(d)).toEqual(['g.json']); // no temporary file left behind
  });

  it('loadGraph refuses a missing file, bad JSON and an invalid graph with the file named', async () => {
    const d = dir();
    await expect(loadGraph(path.join(d, 'nope.json'))).rejects.toThrow(FileError);
    writeFileSync(path.join(d, 'bad.json'), '{"nodes": [');
    await expect(loadGraph(path.join(d, 'bad.json'))).rejects.toThrow(/not valid JSON/);
    writeFileSync(
      path.join(d, 'invalid.json'),
      JSON.stringify({ nodes: [{ key: 'a', attributes: { kind: 'nope' } }] }),
    );
    await expect(loadGraph(path.join(d, 'invalid.json'))).rejects.toThrow(/invalid\.json/);
  });

  it('saveGraph refuses an invalid plain graph and writes nothing', async () => {
    const d = dir();
    const g = twoCliques();
    g.setNodeAttribute('a1', 'kind', 'bogus' as never);
    await expect(saveGraph(g, path.join(d, 'g.json'))).rejects.toThrow(GraphSpecError);
    expect(readdirSync(d)).toEqual([]);
  });
});
