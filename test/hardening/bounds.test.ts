// Issue 14, points 7-9: error text has a bound, every size has a bound, and deeply nested JSON
// options are a user error.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { plan } from '../../src/plan/compile-plan.js';
import { parsePlan } from '../../src/plan/schema.js';
import {
  GraphSpecError,
  MAX_MESSAGE_LENGTH,
  MtgraphError,
  OptionsError,
  PlanError,
} from '../../src/errors.js';
import { cli } from '../cli/helpers.js';
import { removeDir, tempDir, thrown } from './helpers.js';

function smallGraph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 3 } });
  g.addTask('a', { kind: 'regression' });
  g.addTask('b', { kind: 'binary' });
  g.addAffinity('a', 'b', { weight: 0.5 });
  return g;
}

const serialized = () => ({
  attributes: { input: { features: 3 } },
  nodes: [
    { key: 'a', attributes: { kind: 'regression' } as Record<string, unknown> },
    { key: 'b', attributes: { kind: 'binary' } as Record<string, unknown> },
  ],
  edges: [{ source: 'a', target: 'b', attributes: { weight: 0.5 } }],
});

describe('error text is bounded (#14.7)', () => {
  it('TaskGraph.from lists the first few bad items and counts the rest', async () => {
    const data = serialized();
    data.nodes[0]!.attributes = { kind: 'regression', metrics: Array(99).fill(5) };
    const error = (await thrown(() => TaskGraph.from(data))) as GraphSpecError;
    expect(error).toBeInstanceOf(GraphSpecError);
    expect(error.message).toMatch(/metrics\[3\]\n… and 95 more problems/);
    expect(error.message.split('\n').length).toBe(5);
    expect(error.path).toBe('tasks.a.metrics[0]');
  });

  it('plan options list the first few bad layer sizes and count the rest', () => {
    const error = (() => {
      try {
        plan(smallGraph(), { trunk: { units: Array(100).fill(-1) } });
      } catch (e) {
        return e as OptionsError;
      }
      throw new Error('expected an OptionsError');
    })();
    expect(error.message).toMatch(/units\[3\]\n… and 96 more problems$/);
  });

  it('a list longer than any sane one is refused by its length, not item by item', async () => {
    const data = serialized();
    data.nodes[0]!.attributes = { kind: 'regression', metrics: Array(1_000_000).fill(5) };
    const error = (await thrown(() => TaskGraph.from(data))) as GraphSpecError;
    expect(error.message).toMatch(/at most 100 metrics \(got an array of 1000000\)/);
    expect(error.message.length).toBeLessThan(1000);
  });

  it('every MtgraphError message is cut to MAX_MESSAGE_LENGTH with a count', () => {
    const error = new MtgraphError(`x: ${'y'.repeat(1_000_000)}`);
    expect(error.message.length).toBeLessThan(MAX_MESSAGE_LENGTH + 100);
    expect(error.message).toMatch(/… \(996,003 more characters\)$/);
  });

  it('mtgraph validate prints a few hundred bytes for a graph with 10^6 bad metrics', async () => {
    const dir = await tempDir('bounds');
    try {
      const data = serialized();
      data.nodes[0]!.attributes = { kind: 'regression', metrics: Array(1_000_000).fill(5) };
      const file = path.join(dir, 'g.json');
      await fs.writeFile(file, JSON.stringify(data));
      const r = await cli('validate', file);
      expect(r.code).toBe(1);
      expect(r.stderr.length).toBeLessThan(1000);
      expect(r.stderr).toMatch(/GraphSpecError: .*at most 100 metrics/);
    } finally {
      await removeDir(dir);
    }
  });
});

describe('sizes are bounded (#14.8)', () => {
  it.each([
    ['mmoe', { mmoe: { experts: 1e9 } }, 'options.mmoe.experts', /experts must be at most 1024/],
    [
      'ple',
      { ple: { sharedExperts: 1e9 } },
      'options.ple.sharedExperts',
      /sharedExperts must be at most 1024/,
    ],
    [
      'ple',
      { ple: { taskExperts: 1e9 } },
      'options.ple.taskExperts',
      /taskExperts must be at most 1024/,
    ],
    [
      'hard',
      { trunk: { units: [1e9] } },
      'options.trunk.units[0]',
      /layer units must be at most 100000/,
    ],
    [
      'hard',
      { trunk: { units: Array(1000).fill(2) } },
      'options.trunk.units',
      /at most 100 layers/,
    ],
    [
      'single',
      { tower: { units: Array(1000).fill(2) } },
      'options.tower.units',
      /at most 100 layers/,
    ],
  ])('%s with %j is an OptionsError at once', (strategy, options, where, text) => {
    const error = (() => {
      try {
        plan(smallGraph(), { strategy, ...options });
      } catch (e) {
        return e as OptionsError;
      }
      throw new Error('expected an OptionsError');
    })();
    expect(error).toBeInstanceOf(OptionsError);
    expect(error.path).toBe(where);
    expect(error.message).toMatch(text);
  });

  it('ple refuses more than 4096 experts per level', () => {
    const g = new TaskGraph({ input: { features: 3 } });
    for (let i = 0; i < 10; i++) g.addTask(`t${i}`, { kind: 'binary' });
    expect(() => plan(g, { strategy: 'ple', ple: { taskExperts: 500 } })).toThrow(
      /ple would make 5002 experts per level/,
    );
  });

  it('a plan above maxParams (default 100 million) is refused; maxParams raises the limit', () => {
    const options = { strategy: 'mmoe', mmoe: { experts: 1024, units: [100_000] } };
    const error = (() => {
      try {
        plan(smallGraph(), options);
      } catch (e) {
        return e as OptionsError;
      }
      throw new Error('expected an OptionsError');
    })();
    expect(error).toBeInstanceOf(OptionsError);
    expect(error.path).toBe('options.maxParams');
    expect(error.message).toMatch(/409,808,194 parameters \(expected at most 100,000,000/);
    const p = plan(smallGraph(), { ...options, maxParams: 500_000_000 });
    expect(p.params.total).toBe(409_808_194);
    expect(() =>
      plan(smallGraph(), { strategy: 'hard', trunk: { units: [64] }, maxParams: 100 }),
    ).toThrow(/would have 386 parameters \(expected at most 100/);
    expect(() => plan(smallGraph(), { maxParams: 0 })).toThrow(OptionsError);
  });

  it('parsePlan refuses layer sizes above the bounds', () => {
    const p = plan(smallGraph(), { strategy: 'hard', trunk: { units: [4] } });
    const big = JSON.parse(JSON.stringify(p));
    big.blocks[0].layers[0].units = 1e9;
    expect(() => parsePlan(big)).toThrow(PlanError);
  });

  it('mtgraph plan --plan-options with 1e9 experts exits 1 with the bound', async () => {
    const dir = await tempDir('bounds');
    try {
      const file = path.join(dir, 'g.json');
      await fs.writeFile(file, JSON.stringify(serialized()));
      const r = await cli(
        'plan',
        file,
        '--strategy',
        'mmoe',
        '--plan-options',
        '{"mmoe":{"experts":1e9}}',
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/experts must be at most 1024 .*→ at options\.mmoe\.experts/);
    } finally {
      await removeDir(dir);
    }
  });
});

describe('--plan-options nested deeply (#14.9)', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await tempDir('nested');
    file = path.join(dir, 'g.json');
    await fs.writeFile(file, JSON.stringify(serialized()));
  });
  afterAll(() => removeDir(dir));

  it('50,000 levels are a user error (exit 1) with a short message', async () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const r = await cli('plan', file, '--plan-options', deep);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nested at most 32 deep \(got 50,000 levels of nesting\)/);
    expect(r.stderr.length).toBeLessThan(2500);
  });

  it('an object nested 50,000 deep inside a known option is refused the same way', async () => {
    let deep = '1';
    for (let i = 0; i < 50_000; i++) deep = `{"a":${deep}}`;
    const r = await cli('plan', file, '--plan-options', `{"mmoe":${deep}}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/got 50,001 levels of nesting/);
  });

  it('brackets inside strings do not count', async () => {
    const r = await cli(
      'plan',
      file,
      '--strategy',
      'hard',
      '--plan-options',
      `{"trunk":{"units":[4]},"x":"${'['.repeat(100)}"}`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown option "x"/);
  });
});
