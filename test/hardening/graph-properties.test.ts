import { readFileSync, readdirSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MtgraphError } from '../../src/errors.js';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { loadGraph } from '../../src/io/graph-file.js';
import { plan } from '../../src/plan/index.js';
import { readGraph } from '../../src/schema/validate.js';
import { prototypeSnapshot, prototypesUntouched, removeDir, tempDir } from './helpers.js';

/**
 * Property: whatever value reaches TaskGraph.from / loadGraph, the outcome is a valid graph (it
 * reads, round-trips and plans) or an MtgraphError; never another exception, never a hang, and the
 * built-in prototypes are never touched. Seeds are fixed so CI runs the same cases every time.
 */

const GRAPHS_DIR = path.resolve(import.meta.dirname, '../../graphs');
const EXAMPLES = Object.fromEntries(
  readdirSync(GRAPHS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(path.join(GRAPHS_DIR, f), 'utf8')) as unknown]),
);
const SMALL = Object.keys(EXAMPLES).filter((f) => f !== 'school.json' && f !== 'sun09.json');

/** Fixed seeds in CI; MTGRAPH_PROPERTY_SEED=n shifts them to explore other cases locally. */
const SEED = Number(process.env.MTGRAPH_PROPERTY_SEED ?? 0);

/** The slowest case seen, in ms (a hang would show here long before the test timeout). */
let slowest = 0;
let cases = 0;
const snapshot = prototypeSnapshot();

/** Plans with 'auto' only when the graph is small enough for a property run (plans are pure and fast, but not free). */
const PLAN_MAX_TASKS = 24;

/** The property: a valid graph, or an MtgraphError; returns which. */
function check(data: unknown): 'graph' | 'error' {
  const started = performance.now();
  cases++;
  try {
    let graph: TaskGraph;
    try {
      graph = TaskGraph.from(data);
    } catch (error) {
      if (!(error instanceof MtgraphError)) throw error;
      expect(error.message).toMatch(/^mtgraph\//);
      return 'error';
    }
    // A graph that was accepted is valid: it round-trips, it reads, and it plans (or is refused by the planner with an
    // MtgraphError). A file with no nodes gives an empty graph, as `new TaskGraph()` does: tasks can be added to it.
    const again = TaskGraph.from(structuredClone(graph.export()));
    expect(again.export()).toEqual(graph.export());
    if (graph.order === 0) return 'graph';
    const spec = readGraph(graph);
    expect(spec.tasks.length).toBe(graph.order);
    if (graph.order <= PLAN_MAX_TASKS) {
      try {
        plan(graph, { strategy: 'auto', input: spec.input?.features ?? 3 });
      } catch (error) {
        if (!(error instanceof MtgraphError)) throw error;
      }
    }
    return 'graph';
  } finally {
    expect(prototypesUntouched(snapshot)).toBe(true);
    slowest = Math.max(slowest, performance.now() - started);
  }
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Keys worth trying: every key the format knows, the unsafe ones, and random short strings. */
const keyArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'kind',
      'classes',
      'labels',
      'outputs',
      'weight',
      'sharing',
      'source',
      'target',
      'key',
      'attributes',
      'nodes',
      'edges',
      'options',
      'input',
      'features',
      'columns',
      'categorical',
      'head',
      'units',
      'loss',
      'metrics',
      'undirected',
      'type',
      'multi',
      'allowSelfLoops',
      '$schema',
      'name',
      'description',
      'label',
      'x',
      'y',
      'activation',
      'dropout',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

/** Values worth trying: boundaries of every numeric attribute, enum names, wrong types, huge counts. */
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom<unknown>(
      null,
      undefined,
      true,
      false,
      0,
      -0,
      1,
      -1,
      0.5,
      -0.5,
      1.0000001,
      -1.0000001,
      2,
      3,
      1.5,
      1e300,
      -1e300,
      NaN,
      Infinity,
      -Infinity,
      2 ** 31,
      2 ** 32,
      2 ** 53 + 2,
      1e9,
      1e6,
      100_000,
      '',
      '__proto__',
      'constructor',
      'a',
      'b',
      'binary',
      'regression',
      'multiclass',
      'multilabel',
      'hard',
      'soft',
      'none',
      'auto',
      'undirected',
      'directed',
      'mixed',
      'mse',
      'huber',
      'crossentropy',
      'relu',
      'auc',
      [],
      {},
      [1, 2],
      ['a', 'a'],
      ['a', 'b'],
      [0],
      [-1],
      { kind: 'binary' },
      { features: 3 },
      { columns: ['a'] },
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

type Op = 'replace' | 'delete' | 'insert' | 'duplicate' | 'swap' | 'wrap' | 'stringify' | 'number';

/** Boundary numbers for the 'number' mutation, which only touches slots that hold a number (counts, weights, units...). */
const BOUNDARY_NUMBERS = [
  2 ** 32,
  2 ** 53 + 2,
  2 ** 31,
  1e9,
  1e6,
  100_001,
  0,
  -1,
  -0,
  0.5,
  1e300,
  NaN,
  Infinity,
];
interface Mutation {
  op: Op;
  at: number;
  other: number;
  key: string;
  value: unknown;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom<Op>(
    'replace',
    'replace',
    'delete',
    'insert',
    'insert',
    'duplicate',
    'swap',
    'wrap',
    'stringify',
    'number',
    'number',
  ),
  at: fc.nat(),
  other: fc.nat(),
  key: keyArb,
  value: valueArb,
});

type Container = Record<string, unknown> | unknown[];
type Slot = { parent: Container; key: string | number };

function isContainer(v: unknown): v is Container {
  return v !== null && typeof v === 'object';
}

/** Every (container, key) slot of a value, depth first. */
function slots(root: unknown, out: Slot[] = []): Slot[] {
  if (!isContainer(root)) return out;
  const keys = Array.isArray(root) ? root.map((_, i) => i) : Object.keys(root);
  for (const key of keys) {
    out.push({ parent: root, key });
    slots((root as Record<string | number, unknown>)[key], out);
  }
  return out;
}

function containers(root: unknown, out: Container[] = []): Container[] {
  if (!isContainer(root)) return out;
  out.push(root);
  for (const v of Object.values(root)) containers(v, out);
  return out;
}

/** Sets an own property, even `__proto__` (as JSON.parse does), never a prototype. */
function put(parent: Container, key: string | number, value: unknown): void {
  if (Array.isArray(parent) && typeof key === 'number') parent[key] = value;
  else
    Object.defineProperty(parent, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

/** Applies one mutation in place; returns the (possibly replaced) root. */
function mutate(root: unknown, m: Mutation): unknown {
  const all =
    m.op === 'number'
      ? slots(root).filter(
          ({ parent, key }) =>
            typeof (parent as Record<string | number, unknown>)[key] === 'number',
        )
      : slots(root);
  if (m.op === 'insert') {
    const targets = containers(root);
    if (targets.length === 0) return m.value;
    const c = targets[m.at % targets.length]!;
    if (Array.isArray(c)) c.splice(m.other % (c.length + 1), 0, copy(m.value));
    else put(c, m.key, copy(m.value));
    return root;
  }
  if (all.length === 0) return m.op === 'replace' ? copy(m.value) : root;
  const { parent, key } = all[m.at % all.length]!;
  const current = (parent as Record<string | number, unknown>)[key];
  switch (m.op) {
    case 'replace':
      put(parent, key, copy(m.value));
      break;
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      break;
    case 'duplicate':
      if (Array.isArray(parent)) parent.splice(key as number, 0, copy(current));
      else put(parent, m.key, copy(current));
      break;
    case 'swap': {
      if (!Array.isArray(parent) || parent.length < 2) break;
      const j = m.other % parent.length;
      [parent[key as number], parent[j]] = [parent[j], parent[key as number]];
      break;
    }
    case 'number':
      put(parent, key, BOUNDARY_NUMBERS[m.other % BOUNDARY_NUMBERS.length]);
      break;
    case 'wrap':
      put(parent, key, m.other % 2 === 0 ? [current] : { value: current });
      break;
    case 'stringify':
      put(
        parent,
        key,
        typeof current === 'string' ? Number(current) : (JSON.stringify(current) ?? 'undefined'),
      );
      break;
  }
  return root;
}

/** A valid serialized task graph with 1-8 tasks of every kind and some affinities. */
const kindArb = fc.oneof(
  fc.constant({ kind: 'binary' }),
  fc.record({
    kind: fc.constant('regression'),
    outputs: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4 }), fc.constant(['u', 'v'])),
  }),
  fc.record({
    kind: fc.constant('multiclass'),
    classes: fc.oneof(fc.integer({ min: 2, max: 6 }), fc.constant(['lo', 'mid', 'hi'])),
  }),
  fc.record({
    kind: fc.constant('multilabel'),
    labels: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(['p', 'q'])),
  }),
);
const generatedGraphArb = fc
  .record({
    features: fc.integer({ min: 1, max: 12 }),
    tasks: fc.array(kindArb, { minLength: 1, maxLength: 8 }),
    edges: fc.array(
      fc.record({
        a: fc.nat(),
        b: fc.nat(),
        weight: fc.double({ min: -1, max: 1, noNaN: true }),
        sharing: fc.constantFrom(undefined, 'auto', 'hard', 'soft', 'none'),
      }),
      { maxLength: 12 },
    ),
  })
  .map(({ features, tasks, edges }) => {
    const seen = new Set<string>();
    const out = {
      attributes: { input: { features } },
      options: { type: 'undirected', multi: false, allowSelfLoops: false },
      nodes: tasks.map((attributes, i) => ({ key: `t${i}`, attributes })),
      edges: [] as unknown[],
    };
    for (const e of edges) {
      const a = e.a % tasks.length;
      const b = e.b % tasks.length;
      const pair = `${Math.min(a, b)}-${Math.max(a, b)}`;
      if (a === b || seen.has(pair)) continue;
      seen.add(pair);
      out.edges.push({
        source: `t${a}`,
        target: `t${b}`,
        attributes: { weight: e.weight, ...(e.sharing ? { sharing: e.sharing } : {}) },
      });
    }
    return out;
  });

// ---------------------------------------------------------------------------------------------

describe('TaskGraph.from properties', () => {
  it('TaskGraph.from on random JSON values gives a graph or an MtgraphError', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        check(value);
      }),
      { numRuns: 1000, seed: SEED + 11 },
    );
  });

  it('TaskGraph.from on random graph-shaped objects gives a graph or an MtgraphError', () => {
    const nodeArb = fc.record(
      {
        key: valueArb,
        attributes: fc.oneof(valueArb, fc.dictionary(keyArb, valueArb, { maxKeys: 4 })),
      },
      { requiredKeys: [] },
    );
    const edgeArb = fc.record(
      {
        source: valueArb,
        target: valueArb,
        key: valueArb,
        undirected: valueArb,
        attributes: fc.oneof(valueArb, fc.dictionary(keyArb, valueArb, { maxKeys: 3 })),
      },
      { requiredKeys: [] },
    );
    const graphArb = fc.record(
      {
        attributes: fc.oneof(
          valueArb,
          fc.record({ input: valueArb, name: valueArb }, { requiredKeys: [] }),
        ),
        options: fc.oneof(
          valueArb,
          fc.record(
            { type: valueArb, multi: valueArb, allowSelfLoops: valueArb },
            { requiredKeys: [] },
          ),
        ),
        nodes: fc.oneof(valueArb, fc.array(nodeArb, { maxLength: 5 })),
        edges: fc.oneof(valueArb, fc.array(edgeArb, { maxLength: 5 })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(graphArb, (value) => {
        check(value);
      }),
      { numRuns: 1000, seed: SEED + 12 },
    );
  });

  it('TaskGraph.from on mutated generated graphs gives a graph or an MtgraphError', () => {
    let graphs = 0;
    fc.assert(
      fc.property(
        generatedGraphArb,
        fc.array(mutationArb, { minLength: 0, maxLength: 3 }),
        (valid, mutations) => {
          let value: unknown = structuredClone(valid); // fast-check reuses generated values while shrinking: never mutate them
          for (const m of mutations) value = mutate(value, m);
          if (check(value) === 'graph') graphs++;
        },
      ),
      { numRuns: 1500, seed: SEED + 13 },
    );
    expect(graphs).toBeGreaterThan(150); // the generator and mutations reach valid graphs too, not only errors
  });

  it('TaskGraph.from on mutated example graphs (graphs/*.json) gives a graph or an MtgraphError', () => {
    const names = fc.constantFrom(...SMALL);
    fc.assert(
      fc.property(
        names,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        (name, mutations) => {
          let value: unknown = structuredClone(EXAMPLES[name]);
          for (const m of mutations) value = mutate(value, m);
          check(value);
        },
      ),
      { numRuns: 1200, seed: SEED + 14 },
    );
  });

  it('TaskGraph.from on mutated large example graphs (school, sun09) gives a graph or an MtgraphError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('school.json', 'sun09.json'),
        fc.array(mutationArb, { minLength: 1, maxLength: 2 }),
        (name, mutations) => {
          let value: unknown = structuredClone(EXAMPLES[name]);
          for (const m of mutations) value = mutate(value, m);
          check(value);
        },
      ),
      { numRuns: 100, seed: SEED + 15 },
    );
  });
});

describe('loadGraph properties', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('props');
  });
  afterAll(() => removeDir(dir));

  /** loadGraph's property: a graph or an MtgraphError (a FileError for unreadable text). */
  async function checkFile(file: string, text: string | Uint8Array): Promise<void> {
    await fs.writeFile(file, text);
    const started = performance.now();
    cases++;
    try {
      const graph = await loadGraph(file);
      TaskGraph.from(graph.export());
    } catch (error) {
      if (!(error instanceof MtgraphError)) throw error;
      expect(error.message).toContain(`mtgraph/`);
    } finally {
      expect(prototypesUntouched(snapshot)).toBe(true);
      slowest = Math.max(slowest, performance.now() - started);
    }
  }

  it('loadGraph on truncated, byte-flipped and mutated files gives a graph or an MtgraphError', async () => {
    const file = path.join(dir, 'graph.json');
    const texts = Object.fromEntries(SMALL.map((n) => [n, readFileSync(path.join(GRAPHS_DIR, n))]));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SMALL),
        fc.oneof(
          fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
          fc.record({
            kind: fc.constant('flip' as const),
            at: fc.nat(),
            byte: fc.integer({ min: 0, max: 255 }),
          }),
          fc.record({
            kind: fc.constant('mutate' as const),
            mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
          }),
        ),
        async (name, change) => {
          const bytes = texts[name]!;
          if (change.kind === 'truncate')
            return checkFile(file, bytes.subarray(0, change.at % bytes.length));
          if (change.kind === 'flip') {
            const out = Uint8Array.from(bytes);
            out[change.at % out.length] = change.byte;
            return checkFile(file, out);
          }
          let value: unknown = JSON.parse(bytes.toString('utf8'));
          for (const m of change.mutations) value = mutate(value, m);
          return checkFile(file, JSON.stringify(value) ?? 'undefined');
        },
      ),
      { numRuns: 400, seed: SEED + 16 },
    );
  });

  it('loadGraph on crafted __proto__ / constructor keys anywhere refuses them and leaves prototypes untouched', async () => {
    const file = path.join(dir, 'proto.json');
    const base =
      '{"attributes":{"input":3},"nodes":[{"key":"a","attributes":{"kind":"binary"}},{"key":"b","attributes":{"kind":"binary"}}],"edges":[{"source":"a","target":"b","attributes":{"weight":0.5}}]}';
    const inserts = [
      ['{"attributes":{', '{"attributes":{"__proto__":{"polluted":1},'],
      ['{"kind":"binary"}', '{"kind":"binary","__proto__":{"polluted":1}}'],
      [
        '{"kind":"binary"}',
        '{"kind":"binary","head":{"constructor":{"prototype":{"polluted":1}}}}',
      ],
      ['{"weight":0.5}', '{"weight":0.5,"__proto__":{"polluted":1}}'],
      ['"edges":[', '"__proto__":{"polluted":1},"edges":['],
      ['{"input":3}', '{"input":{"features":3,"__proto__":{"polluted":1}}}'],
      [
        '{"kind":"binary"}',
        `{"kind":"binary","label":${'{"a":'.repeat(40)}{"__proto__":{"polluted":1}}${'}'.repeat(40)}}`,
      ],
    ] as const;
    for (const [from, to] of inserts) {
      const text = base.replace(from, to);
      expect(text).not.toBe(base);
      await fs.writeFile(file, text);
      const error = await loadGraph(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MtgraphError);
      expect(prototypesUntouched(snapshot)).toBe(true);
    }
  });
});

describe('property runs', () => {
  it('the properties above ran at least 5,000 cases, none slower than a second (no hang)', () => {
    if (process.env.MTGRAPH_PROPERTY_SEED)
      process.stderr.write(`graph properties: ${cases} cases, slowest ${slowest.toFixed(1)} ms\n`);
    expect(cases).toBeGreaterThanOrEqual(5000);
    expect(slowest).toBeLessThan(1000);
  });
});
