import { describe, expect, it } from 'vitest';
import { plan, TaskGraph } from '../../src/index.js';
import { readGraph } from '../../src/schema/validate.js';
import { GraphSpecError, MtgraphError, OptionsError } from '../../src/errors.js';

function graphWith(input: unknown, tasks: Record<string, unknown> = { t: { kind: 'binary' } }) {
  return {
    attributes: { input },
    options: { type: 'undirected' },
    nodes: Object.entries(tasks).map(([key, attributes]) => ({ key, attributes })),
    edges: [],
  };
}

function error(f: () => unknown): MtgraphError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MtgraphError);
    return e as MtgraphError;
  }
  throw new Error('expected an error');
}

const COLUMNS = ['a', 'city', 'user'];

describe('graph input.embed', () => {
  it('reads a dimension or { dim, buckets?, minCount? }, with the input-level minCount as default', () => {
    const spec = readGraph(
      graphWith({
        columns: COLUMNS,
        embed: { city: 8, user: { dim: 4, buckets: 100 } },
        minCount: 3,
      }),
    );
    expect(spec.input).toEqual({
      features: 3,
      columns: COLUMNS,
      embed: { city: { dim: 8, minCount: 3 }, user: { dim: 4, buckets: 100, minCount: 3 } },
    });
    // Only embedded columns, the features from the data (the CLI's CSV case).
    expect(readGraph(graphWith({ embed: { city: 2 } })).input).toEqual({
      embed: { city: { dim: 2, minCount: 1 } },
    });
  });

  it('refuses an unknown column, naming the place and the columns', () => {
    const e = error(() => readGraph(graphWith({ columns: COLUMNS, embed: { town: 8 } })));
    expect(e).toBeInstanceOf(GraphSpecError);
    expect(e.message).toMatch(
      /embedded column "town" is not one of the input columns \(got "town"; expected one of a, city, user\) → at graph\.input\.embed\.town\. Add it to input\.columns/,
    );
  });

  it('refuses dim and buckets out of bounds, and unknown keys', () => {
    for (const [embed, pattern] of [
      [{ city: 0 }, /an embedding dimension must be at least 1 \(got 0\)/],
      [{ city: 5000 }, /an embedding dimension must be at most 4096/],
      [
        { city: 2.5 },
        /an embedded column must be a dimension or \{ dim, buckets\?, minCount\? \} \(got 2\.5\)/,
      ],
      [{ city: { dim: 4, buckets: 0 } }, /buckets must be at least 1 \(got 0\)/],
      [{ city: { dim: 4, buckets: 2 ** 25 } }, /buckets must be at most 16777216/],
      [{ city: { dim: 4, minCount: 0 } }, /minCount must be at least 1/],
      [{ city: { dim: 4, size: 3 } }, /size/],
    ] as const) {
      const e = error(() => readGraph(graphWith({ columns: COLUMNS, embed })));
      expect(e.message, JSON.stringify(embed)).toMatch(pattern);
      expect(e.message).toMatch(/graph\.input\.embed|input\.embed/);
    }
  });

  it('refuses a column both embedded and categorical, buckets with minCount, and minCount without embed', () => {
    expect(
      error(() =>
        readGraph(graphWith({ columns: COLUMNS, categorical: ['city'], embed: { city: 4 } })),
      ).message,
    ).toMatch(
      /column "city" is both embedded and categorical .* → at graph\.input\.embed\.city\. Remove it from input\.categorical/,
    );
    expect(
      error(() =>
        readGraph(
          graphWith({ columns: COLUMNS, embed: { city: { dim: 4, buckets: 9, minCount: 2 } } }),
        ),
      ).message,
    ).toMatch(/sets both buckets and minCount/);
    expect(error(() => readGraph(graphWith({ columns: COLUMNS, minCount: 2 }))).message).toMatch(
      /input\.minCount is set but no column is embedded/,
    );
  });

  it('plan: a vocabulary column needs options.vocabularies; unnamed columns, unknown vocabularies and task inputs are refused', () => {
    const g = new TaskGraph({ input: { columns: COLUMNS, embed: { city: 4 } } });
    g.addTask('t', { kind: 'binary' });
    const e = error(() => plan(g, { strategy: 'hard' }));
    expect(e).toBeInstanceOf(OptionsError);
    expect(e.message).toMatch(
      /embedded column "city" has no fitted vocabulary .* → at options\.vocabularies\.city\. Fit it from the training data \(vocabularies: fitVocabularies\(graph, train\)\)/,
    );
    expect(
      error(() => plan(g, { strategy: 'hard', vocabularies: { city: ['x'], user: ['y'] } }))
        .message,
    ).toMatch(/options\.vocabularies names "user", which is no embedded column/);
    expect(
      error(() => plan(g, { strategy: 'hard', vocabularies: { city: ['x', 'x'] } })).message,
    ).toMatch(/lists "x" twice/);
    const unnamed = new TaskGraph({ input: { features: 3, embed: { city: 4 } } as never });
    unnamed.addTask('t', { kind: 'binary' });
    expect(error(() => plan(unnamed, { strategy: 'hard' })).message).toMatch(
      /input\.embed needs named input columns .* → at graph\.input\.embed/,
    );
    const reads = new TaskGraph({ input: { columns: COLUMNS, embed: { city: 4 } } });
    reads.addTask('t', { kind: 'binary', inputs: ['city'] } as never);
    expect(
      error(() => plan(reads, { strategy: 'hard', vocabularies: { city: ['x'] } })).message,
    ).toMatch(/task "t" reads the embedded column "city" as an input of its own/);
  });

  it('plan: the tables count in params and in the maxParams check', () => {
    const g = new TaskGraph({
      input: { columns: COLUMNS, embed: { user: { dim: 64, buckets: 2_000_000 } } },
    });
    g.addTask('t', { kind: 'binary' });
    const e = error(() => plan(g, { strategy: 'hard', trunk: { units: [4] } }));
    expect(e).toBeInstanceOf(OptionsError);
    expect(e.message).toMatch(/would have 128,000,\d{3} parameters .* options\.maxParams/);
    const p = plan(g, { strategy: 'hard', trunk: { units: [4] }, maxParams: 200_000_000 });
    // The trunk reads 2 numeric + 64 embedded columns.
    expect(p.params.embeddings).toEqual({ user: 128_000_000 });
    expect(p.params.blocks.trunk).toBe(66 * 4 + 4);
    expect(p.params.total).toBe(128_000_000 + 66 * 4 + 4 + 5);
  });
});
