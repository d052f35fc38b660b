import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/index.js';
import { GraphSpecError, OptionsError } from '../../src/errors.js';
import { TaskGraph } from '../../src/graph/index.js';
import { plan } from '../../src/plan/index.js';
import { readGraph } from '../../src/schema/validate.js';

// The README: "Columns in `input.categorical` or `--categorical` ... are one-hot encoded", and
// the features are "the graph's input.columns, or else every column that is not a target".
let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtgraph-input-cat-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function shop(input: object): TaskGraph {
  const g = new TaskGraph({ input } as never);
  g.addTask('spend', { kind: 'regression' });
  g.addTask('click', { kind: 'binary' });
  g.addAffinity('spend', 'click', { weight: 0.5 });
  return g;
}

describe('input: { categorical } without columns', () => {
  it('TaskGraph and readGraph accept it and keep the categorical list', () => {
    const g = shop({ categorical: ['zip'] });
    expect(readGraph(g).input).toEqual({ categorical: ['zip'] });
    expect(readGraph(TaskGraph.from(g.export())).input).toEqual({ categorical: ['zip'] });
  });

  it('readCsv one-hot encodes a numeric-looking column the graph declares categorical', async () => {
    const file = path.join(dir, 'shop.csv');
    await fs.writeFile(file, 'age,zip,spend,click\n20,1,1.5,1\n30,2,2.5,0\n40,1,3.5,1\n50,3,,0\n');
    const csv = await readCsv(file, shop({ categorical: ['zip'] }), { standardize: false });
    expect(csv.columns).toEqual(['age', 'zip=1', 'zip=2', 'zip=3']);
    const plain = await readCsv(file, shop({ features: 2 }), { standardize: false });
    expect(plain.columns).toEqual(['age', 'zip']);
  });

  it('plan still needs a feature count (from options.input or the data)', () => {
    const g = shop({ categorical: ['zip'] });
    expect(() => plan(g, { strategy: 'hard' })).toThrow(OptionsError);
    expect(plan(g, { strategy: 'hard', input: { features: 4 } }).input.features).toBe(4);
  });

  it('an empty input object is still refused', () => {
    expect(() => shop({})).toThrow(GraphSpecError);
  });
});
