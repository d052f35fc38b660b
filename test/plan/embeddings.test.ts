import { describe, expect, it } from 'vitest';
import { build, explain, plan, renderPlanSvg, TaskGraph } from '../../src/index.js';
import { planLayerClasses } from '../../src/network/layer-classes.js';
import { PlanError } from '../../src/errors.js';

function graph(): TaskGraph {
  const g = new TaskGraph({
    input: {
      columns: ['a', 'user', 'b', 'shop'],
      embed: { user: { dim: 4, minCount: 3 }, shop: { dim: 2, buckets: 50 } },
    },
  });
  g.addTask('click', { kind: 'binary' });
  g.addTask('spend', { kind: 'regression' });
  g.addAffinity('click', 'spend', { weight: 0.5 });
  return g;
}

const VOCABULARY = { user: ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9'] };

describe('plan with embedded columns', () => {
  it('plan.embeddings, the parameter counts and the shared width the strategies read', () => {
    const p = plan(graph(), { strategy: 'hard', trunk: { units: [8] }, vocabularies: VOCABULARY });
    expect(p.embeddings).toEqual([
      {
        column: 'user',
        index: 1,
        dim: 4,
        rows: 10,
        lookup: 'vocabulary',
        vocabulary: VOCABULARY.user,
        minCount: 3,
      },
      { column: 'shop', index: 3, dim: 2, rows: 50, lookup: 'hash', buckets: 50 },
    ]);
    expect(p.params.embeddings).toEqual({ user: 40, shop: 100 });
    // The trunk reads 2 numeric + 4 + 2 embedded columns.
    expect(p.params.blocks.trunk).toBe(8 * 8 + 8);
    expect(p.params.total).toBe(140 + 72 + 9 + 9);
    expect(planLayerClasses(p)).toEqual(
      expect.arrayContaining(['MtgraphPick', 'Embedding', 'Reshape', 'Concatenate']),
    );
  });

  it('explain and the plan diagram show each table and its parameters', () => {
    const p = plan(graph(), { strategy: 'mmoe', vocabularies: VOCABULARY });
    const text = explain(p);
    expect(text).toMatch(
      /embedding user: 10 x 4 \(vocabulary of 9 value\(s\) seen >= 3 times \+ 1 out-of-vocabulary row\) \[40 params\]/,
    );
    expect(text).toMatch(/embedding shop: 50 x 2 \(50 hash buckets\) \[100 params\]/);
    expect(text).toMatch(/shared representation: 2 numeric \+ 4 \+ 2 embedded = 8 columns/);
    const svg = renderPlanSvg(p);
    expect(svg).toContain('embed user: 10x4, 40 params');
    expect(svg).toContain('embed shop: 50x2, 100 params');
  });

  it('build refuses a hand-edited plan whose table does not fit its vocabulary', () => {
    const p = plan(graph(), { strategy: 'hard', vocabularies: VOCABULARY });
    const bad = structuredClone(p);
    bad.embeddings![0]!.rows = 12;
    expect(() => build(bad)).toThrow(PlanError);
    expect(() => build(bad)).toThrow(
      /embedding "user": a vocabulary lookup needs rows = 1 \+ vocabulary length/,
    );
    const twice = structuredClone(p);
    twice.embeddings![1]!.index = 1;
    expect(() => build(twice)).toThrow(/index 1 is not a distinct input column/);
  });
});
