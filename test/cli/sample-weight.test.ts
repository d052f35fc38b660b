import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOP_GRAPH, cli, shopCsv, tempDir } from './helpers.js';

let dir: string;
let graph: string;

beforeAll(async () => {
  dir = await tempDir('cli-weight');
  graph = path.join(dir, 'shop.json');
  await fs.writeFile(graph, JSON.stringify(SHOP_GRAPH));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The shop CSV with a weight column `w` holding `weight(row)`. */
async function weighted(name: string, weight: (row: number) => string): Promise<string> {
  const lines = shopCsv(120).trimEnd().split('\n');
  const text = lines.map((l, i) => `${l},${i === 0 ? 'w' : weight(i - 1)}`).join('\n');
  const file = path.join(dir, name);
  await fs.writeFile(file, `${text}\n`);
  return file;
}

async function train(data: string, ...extra: string[]) {
  const r = await cli(
    'train',
    graph,
    '--data',
    data,
    '--out',
    path.join(dir, `m${Math.random().toString(36).slice(2)}`),
    '--epochs',
    '2',
    '--optimizer',
    'sgd',
    '--no-report',
    '--json',
    '--seed',
    '3',
    ...extra,
  );
  return r;
}

describe('mtgraph train --sample-weight', () => {
  it('weights of 2 on every row train as twice the learning rate (SGD)', async () => {
    const data = await weighted('two.csv', () => '2');
    const a = await train(data, '--sample-weight', 'w', '--learning-rate', '0.01');
    const b = await train(data, '--learning-rate', '0.02');
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ma = JSON.parse(a.stdout).metrics;
    const mb = JSON.parse(b.stdout).metrics;
    expect(ma.spend.loss).toBeCloseTo(mb.spend.loss, 4);
    expect(ma.click.auc).toBeCloseTo(mb.click.auc, 6);
    const c = await train(data, '--learning-rate', '0.01');
    expect(JSON.parse(c.stdout).metrics.spend.loss).not.toBeCloseTo(ma.spend.loss, 4);
  });

  it('refuses a negative or missing weight with the line and column', async () => {
    const data = await weighted('bad.csv', (r) => (r === 4 ? '-1' : '1'));
    const r = await train(data, '--sample-weight', 'w');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /a sample weight must be a number >= 0 \(got "-1"\) → at .*line 6, column "w"/,
    );
    const s = await train(data, '--sample-weight', 'nope');
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/nope/);
  });
});
