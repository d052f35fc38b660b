import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, lcg, tempDir } from './helpers.js';

let dir: string;

beforeAll(async () => {
  dir = await tempDir('cli-embed');
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A graph file that embeds only `user` (the other columns come from the CSV) and hashes `shop`. */
const GRAPH = {
  attributes: {
    input: { embed: { user: { dim: 4, minCount: 2 }, shop: { dim: 2, buckets: 8 } } },
  },
  options: { type: 'undirected', multi: false, allowSelfLoops: false },
  nodes: [
    { key: 'click', attributes: { kind: 'binary' } },
    { key: 'spend', attributes: { kind: 'regression' } },
  ],
  edges: [{ source: 'click', target: 'spend', attributes: { weight: 0.5 } }],
};

function csv(rows: number, seed: number): string {
  const random = lcg(seed);
  const lines = ['age,user,shop,click,spend'];
  for (let i = 0; i < rows; i++) {
    const u = i % 40;
    const age = (random() * 2 - 1).toFixed(3);
    lines.push(`${age},u${u},s${i % 11},${u % 2},${(u / 10 + Number(age)).toFixed(3)}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('mtgraph with embedded columns', () => {
  it('train reads input.embed from the graph file, plan explains the tables, predict maps unseen users to row 0', async () => {
    const graph = path.join(dir, 'graph.json');
    const data = path.join(dir, 'train.csv');
    await fs.writeFile(graph, JSON.stringify(GRAPH));
    await fs.writeFile(data, csv(400, 3));
    const out = path.join(dir, 'model');
    const trained = await cli(
      'train',
      graph,
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '2',
      '--strategy',
      'mmoe',
      '--no-report',
    );
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stderr).toMatch(/column "user" is embedded \(dim 4\)/);
    const saved = JSON.parse(await fs.readFile(path.join(out, 'plan.json'), 'utf8'));
    expect(
      saved.embeddings.map((e: { column: string; lookup: string }) => [e.column, e.lookup]),
    ).toEqual([
      ['user', 'ids'],
      ['shop', 'ids'],
    ]);
    const planned = await cli('plan', graph, '--data', data, '--strategy', 'hard');
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(
      /embedding user: \d+ x 4 \(vocabulary of \d+ value\(s\) seen >= 2 times/,
    );
    expect(planned.stdout).toMatch(
      /embedding shop: 8 x 2 \(8 hash buckets, by the CSV preprocessing\) \[16 params\]/,
    );
    const fresh = path.join(dir, 'new.csv');
    await fs.writeFile(fresh, 'age,user,shop\n0.1,nobody,s1\n0.1,stranger,s1\n0.1,u3,s1\n');
    const predicted = await cli('predict', out, '--data', fresh);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predicted.stderr).toMatch(
      /"user": 2 row\(s\) hold a value outside the embedding's vocabulary/,
    );
    const [header, a, b, c] = predicted.stdout.trim().split('\n');
    expect(header).toBe('click,spend');
    // Two unseen users read the same row: the same predictions.
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });
});
