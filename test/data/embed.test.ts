import { beforeAll, describe, expect, it } from 'vitest';
import { compile, fitVocabularies, plan, readCsv, TaskGraph } from '../../src/index.js';
import { hashBucket, stableHash } from '../../src/data/embed.js';
import { prepareFeatures } from '../../src/data/prepare.js';
import { OptionsError } from '../../src/errors.js';
import { cpu } from '../train/fixture.js';

beforeAll(() => cpu());

function graph(embed: Record<string, unknown>, minCount?: number): TaskGraph {
  const g = new TaskGraph({
    input: {
      columns: ['a', 'user', 'item'],
      embed: embed as never,
      ...(minCount !== undefined ? { minCount } : {}),
    },
  });
  g.addTask('t', { kind: 'binary' });
  return g;
}

// user: 3 three times, 1 twice, 2 and 5 once; item: 7 twice, 8 once.
const X = [
  [0.5, 3, 7],
  [0.1, 1, 7],
  [0.2, 3, 8],
  [0.3, 2, 7],
  [0.4, 5, 7],
  [0.6, 3, 8],
  [0.7, 1, 7],
];

function ids(p: ReturnType<typeof plan>, x: number[][], column: number): number[] {
  const f = prepareFeatures(p, x, { scope: 'test' });
  return Array.from({ length: f.rows }, (_, r) => f.values[r * f.features + column]!);
}

describe('embedding ids', () => {
  it('stableHash is FNV-1a (32 bit) of the UTF-8 text (published test vectors)', () => {
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
    expect(stableHash('foobar')).toBe(0xbf9cf968);
    // Non-ASCII text hashes its UTF-8 bytes (é = c3 a9).
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(stableHash('é')).toBe(h);
    expect(hashBucket('a', 10)).toBe(0xe40c292c % 10);
  });

  it('fitVocabularies keeps values seen minCount times, in value order; ids are 1 + position, 0 for the rest', () => {
    const g = graph({ user: { dim: 4, minCount: 2 }, item: 2 });
    const v = fitVocabularies(g, { x: X });
    expect(v).toEqual({ user: ['1', '3'], item: ['7', '8'] });
    const p = plan(g, { strategy: 'hard', vocabularies: v });
    expect(p.embeddings!.map((e) => [e.column, e.index, e.rows, e.lookup])).toEqual([
      ['user', 1, 3, 'vocabulary'],
      ['item', 2, 3, 'vocabulary'],
    ]);
    // 3 -> 2, 1 -> 1, 2 and 5 (seen once) -> 0; unseen 9 and 3.5 -> 0.
    expect(ids(p, X, 1)).toEqual([2, 1, 2, 0, 0, 2, 1]);
    expect(
      ids(
        p,
        [
          [0, 9, 7],
          [0, 3.5, 8],
        ],
        1,
      ),
    ).toEqual([0, 0]);
    expect(
      ids(
        p,
        [
          [0, 9, 7],
          [0, 3.5, 8],
        ],
        2,
      ),
    ).toEqual([1, 2]);
    // The table: 1 + 2 values, dim 4; item 1 + 2 values, dim 2.
    expect(p.params.embeddings).toEqual({ user: 12, item: 6 });
  });

  it("the input's minCount is every column's default; a column's own minCount wins", () => {
    const g = graph({ user: 3, item: { dim: 2, minCount: 1 } }, 3);
    expect(fitVocabularies(g, X)).toEqual({ user: ['3'], item: ['7', '8'] });
    expect(fitVocabularies(g, X, { rows: [0, 1, 6] })).toEqual({ user: [], item: ['7'] });
  });

  it('a hashed column needs no vocabulary: its ids are the hash of String(value) modulo buckets', () => {
    const g = graph({ user: { dim: 2, buckets: 5 } });
    expect(fitVocabularies(g, X)).toEqual({});
    const p = plan(g, { strategy: 'hard' });
    expect(p.embeddings![0]).toMatchObject({ lookup: 'hash', rows: 5, buckets: 5 });
    expect(ids(p, X, 1)).toEqual(X.map((r) => stableHash(String(r[1])) % 5));
    expect(ids(p, [[0, 123456, 0]], 1)).toEqual([stableHash('123456') % 5]);
  });

  it('a CSV column is embedded by the preprocessing: vocabulary with minCount, unseen cells to row 0, hashing of the cell text', async () => {
    const text = [
      'age,city,shop,t',
      '1,paris,s1,0',
      '2,rome,s2,1',
      '3,paris,s3,0',
      '4,oslo,s1,1',
      '5,paris,s2,0',
      '6,rome,s1,1',
    ].join('\n');
    const g = new TaskGraph({
      input: { embed: { city: { dim: 3, minCount: 2 }, shop: { dim: 2, buckets: 4 } } },
    });
    g.addTask('t', { kind: 'binary' });
    const csv = await readCsv({ text }, g);
    expect(csv.columns).toEqual(['age', 'city', 'shop']);
    expect(csv.preprocessing.features.slice(1)).toEqual([
      { column: 'city', type: 'embed', vocabulary: ['paris', 'rome'], minCount: 2 },
      { column: 'shop', type: 'embed', buckets: 4 },
    ]);
    expect(csv.vocabularies).toEqual({ city: { ids: 3 }, shop: { ids: 4 } });
    const col = (j: number) => Array.from({ length: 6 }, (_, r) => csv.data.x.values[r * 3 + j]);
    expect(col(1)).toEqual([1, 2, 1, 0, 1, 2]);
    expect(col(2)).toEqual(['s1', 's2', 's3', 's1', 's2', 's1'].map((s) => stableHash(s) % 4));
    // The age column is standardised as before, not touched by the embedding.
    expect(csv.preprocessing.features[0]!.type).toBe('numeric');
    const model = compile(g, {
      strategy: 'hard',
      trunk: { units: [4] },
      input: { columns: csv.columns },
      vocabularies: csv.vocabularies,
    });
    expect(model.plan.embeddings!.map((e) => [e.column, e.rows, e.lookup])).toEqual([
      ['city', 3, 'ids'],
      ['shop', 4, 'ids'],
    ]);
    model.metadata.preprocessing = csv.preprocessing;
    // New data through the model's saved preprocessing: an unseen city reads row 0, with a note.
    const fresh = await readCsv({ text: 'age,city,shop\n7,lima,s9\n8,rome,s1' }, model, {
      labels: 'optional',
    });
    expect([fresh.data.x.values[1], fresh.data.x.values[4]]).toEqual([0, 2]);
    expect(fresh.data.x.values[2]).toBe(stableHash('s9') % 4);
    expect(fresh.notes.join(' ')).toMatch(/"city": 1 row\(s\) hold a value outside/);
    model.dispose();
  });

  it('fitVocabularies refuses a graph without embedded columns, and bad rows', () => {
    const g = new TaskGraph({ input: { columns: ['a', 'user', 'item'] } });
    g.addTask('t', { kind: 'binary' });
    expect(() => fitVocabularies(g, X)).toThrow(/the graph embeds no column/);
    expect(() => fitVocabularies(graph({ user: 2 }), X, { rows: [0, 7] })).toThrow(OptionsError);
  });
});
