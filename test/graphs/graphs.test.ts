import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { loadGraph, plan, saveGraph, strategyNames, type TaskGraph } from '../../src/index.js';
import { graphSchemaText, schemaFile } from '../../scripts/generate-schema.js';
import {
  GRAPH_FILES,
  defaultDataDir,
  graphsDir,
  writeGraphs,
} from '../../scripts/generate-graphs.js';

/** What each example graph must hold: tasks by kind and, for the declared ones, the exact edge count. */
const EXPECTED: Record<
  string,
  { tasks: number; kinds: Record<string, number>; edges?: number; negative?: boolean }
> = {
  'keras-two-task.json': { tasks: 2, kinds: { binary: 1, multiclass: 1 }, edges: 1 },
  'recommender.json': { tasks: 5, kinds: { binary: 4, regression: 1 }, edges: 5, negative: true },
  'census-income.json': { tasks: 3, kinds: { binary: 3 }, edges: 3, negative: true },
  'school.json': { tasks: 139, kinds: { regression: 139 } },
  'sun09.json': { tasks: 111, kinds: { binary: 111 }, negative: true },
  'sarcos.json': { tasks: 3, kinds: { regression: 3 }, edges: 3 },
  'scene.json': { tasks: 1, kinds: { multilabel: 1 }, edges: 0 },
  'wine-quality.json': { tasks: 2, kinds: { regression: 1, binary: 1 }, edges: 1 },
};

const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(schema);

function weights(graph: TaskGraph): number[] {
  return graph.mapEdges((_e, attrs) => attrs.weight ?? 1);
}

describe('graph.schema.json', () => {
  it('graph.schema.json equals the output of scripts/generate-schema.ts (run npm run schema)', () => {
    expect(readFileSync(schemaFile, 'utf8')).toBe(graphSchemaText());
  });

  it('graph.schema.json is draft 2020-12 with an $id and a title', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^https:\/\//);
    expect(schema.title).toBe('mtgraph task graph');
  });

  it('graph.schema.json rejects an out-of-range weight, an unknown kind and an unknown key', () => {
    const file = JSON.parse(readFileSync(path.join(graphsDir, 'keras-two-task.json'), 'utf8'));
    const badWeight = structuredClone(file);
    badWeight.edges[0].attributes.weight = 2;
    expect(validate(badWeight)).toBe(false);
    expect(validate.errors?.some((e) => e.instancePath === '/edges/0/attributes/weight')).toBe(
      true,
    );
    const badKind = structuredClone(file);
    badKind.nodes[0].attributes.kind = 'ranking';
    expect(validate(badKind)).toBe(false);
    const extra = structuredClone(file);
    extra.nodes[0].attributes.colour = 'red';
    expect(validate(extra)).toBe(false);
  });
});

describe('graphs/*.json', () => {
  it('graphs/ holds exactly the generated files', () => {
    const files = readdirSync(graphsDir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files).toEqual([...GRAPH_FILES].sort());
    expect(Object.keys(EXPECTED).sort()).toEqual([...GRAPH_FILES].sort());
  });

  describe.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const full = path.join(graphsDir, file);
    const load = () => loadGraph(full);

    it('loadGraph reads it with a name, a description and an input', async () => {
      const graph = await load();
      const attrs = graph.getAttributes();
      expect(attrs.name).toBe(file.replace(/\.json$/, ''));
      expect(attrs.description?.length).toBeGreaterThan(40);
      expect(attrs.input).toBeDefined();
    });

    it('loadGraph gives the expected tasks and kinds', async () => {
      const graph = await load();
      expect(graph.order).toBe(expected.tasks);
      const kinds: Record<string, number> = {};
      graph.forEachNode((_id, attrs) => {
        kinds[attrs.kind] = (kinds[attrs.kind] ?? 0) + 1;
      });
      expect(kinds).toEqual(expected.kinds);
      if (expected.edges !== undefined) expect(graph.size).toBe(expected.edges);
      expect(weights(graph).some((w) => w < 0)).toBe(expected.negative ?? false);
    });

    it('saveGraph after loadGraph writes the same bytes', async () => {
      const out = mkdtempSync(path.join(tmpdir(), 'mtgraph-round-trip-'));
      try {
        await saveGraph(await load(), path.join(out, file), { schema: '../graph.schema.json' });
        expect(readFileSync(path.join(out, file), 'utf8')).toBe(readFileSync(full, 'utf8'));
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });

    it('validates against graph.schema.json (ajv, draft 2020-12)', () => {
      const data = JSON.parse(readFileSync(full, 'utf8'));
      const ok = validate(data);
      expect(ajv.errorsText(validate.errors), file).toBe('No errors');
      expect(ok).toBe(true);
      expect(data.$schema).toBe('../graph.schema.json');
    });

    it('plan succeeds for every registered strategy', async () => {
      const graph = await load();
      for (const strategy of strategyNames()) {
        const p = plan(graph, { strategy });
        expect(p.tasks.length, strategy).toBe(expected.tasks);
      }
    });
  });

  it('school.json is a symmetric 5-nearest-neighbour graph with weights in (0, 1]', async () => {
    const graph = await loadGraph(path.join(graphsDir, 'school.json'));
    expect(graph.nodes()[0]).toBe('school_000');
    expect(graph.nodes()[138]).toBe('school_138');
    graph.forEachNode((id, attrs) => {
      expect(attrs.target).toBe('exam_score');
      expect(graph.degree(id)).toBeGreaterThanOrEqual(5);
    });
    expect(graph.size).toBeGreaterThanOrEqual(Math.ceil((139 * 5) / 2));
    expect(graph.size).toBeLessThanOrEqual(139 * 5);
    for (const w of weights(graph)) {
      expect(w).toBeGreaterThan(0);
      expect(w).toBeLessThanOrEqual(1);
      expect(Math.round(w * 1000) / 1000).toBe(w);
    }
    const input = graph.getAttribute('input');
    expect(typeof input === 'object' && input.columns?.length).toBe(27);
  });

  it('sun09.json keeps a few hundred edges with |phi| >= 0.15, some negative', async () => {
    const graph = await loadGraph(path.join(graphsDir, 'sun09.json'));
    const w = weights(graph);
    expect(w.length).toBeGreaterThanOrEqual(200);
    expect(w.length).toBeLessThanOrEqual(600);
    expect(w.filter((x) => x < 0).length).toBeGreaterThanOrEqual(5);
    for (const x of w) expect(Math.abs(x)).toBeGreaterThanOrEqual(0.15);
    graph.forEachNode((id, attrs) => expect(attrs.target).toBe(`present_${id}`));
    const input = graph.getAttribute('input');
    expect(typeof input === 'object' && input.columns?.every((c) => c.startsWith('score_'))).toBe(
      true,
    );
  });
});

describe.skipIf(!existsSync(defaultDataDir))('scripts/generate-graphs.ts', () => {
  it('reproduces the committed graphs byte for byte (run npm run graphs)', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'mtgraph-graphs-'));
    try {
      await writeGraphs(out);
      for (const file of GRAPH_FILES) {
        expect(readFileSync(path.join(out, file), 'utf8'), file).toBe(
          readFileSync(path.join(graphsDir, file), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

if (!existsSync(defaultDataDir)) {
  console.warn(
    `test/graphs: ${defaultDataDir} is absent; skipping the regeneration check (the committed graphs are still checked).`,
  );
}
