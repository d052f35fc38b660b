import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, shopCsv, SHOP_GRAPH, tempDir } from '../cli/helpers.js';

// mtgraph viz on a graph file that does not say how many input features it has.
const NO_INPUT = { ...SHOP_GRAPH, attributes: { name: 'shop' } };

let dir: string;
let graph: string;
let data: string;
beforeAll(async () => {
  dir = await tempDir('viz-cli');
  graph = path.join(dir, 'graph.json');
  data = path.join(dir, 'shop.csv');
  await fs.writeFile(graph, JSON.stringify(NO_INPUT));
  await fs.writeFile(data, shopCsv(40));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('mtgraph viz on a graph without input', () => {
  it('draws the HTML report of the task graph alone and says how to add the network', async () => {
    const out = path.join(dir, 'graph-only.html');
    const r = await cli('viz', graph, '--out', out);
    expect(r.stderr).toMatch(/draws the task graph only.*--data/);
    expect(r.code).toBe(0);
    const html = await fs.readFile(out, 'utf8');
    expect(html).toContain('<section id="graph">');
    expect(html).not.toContain('<section id="network">');
  });

  it('--data sizes the network from a CSV file, as plan --data does', async () => {
    const out = path.join(dir, 'with-data.html');
    const r = await cli('viz', graph, '--data', data, '--exclude', 'id', '--out', out);
    expect(r.stderr).not.toMatch(/draws the task graph only/);
    expect(r.code).toBe(0);
    const html = await fs.readFile(out, 'utf8');
    expect(html).toContain('<section id="network">');
    // age, visits and city one-hot (3 cities): 5 input features
    expect(html).toMatch(/input \(5\)|5 input feature/);
    const svg = path.join(dir, 'net.svg');
    const s = await cli(
      'viz',
      graph,
      '--data',
      data,
      '--exclude',
      'id',
      '--what',
      'plan',
      '--out',
      svg,
    );
    expect(s.code).toBe(0);
  });

  it('--what plan without --data is a user error naming --data', async () => {
    const r = await cli('viz', graph, '--what', 'plan', '--out', path.join(dir, 'net.svg'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/input features.*--data/);
  });
});
