import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/cli/index.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mtgraph <args>` in-process, capturing stdout and stderr (not a terminal). */
export async function cli(...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
      isTTY: false,
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
      isTTY: false,
    },
  });
  return { code, stdout, stderr };
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `mtgraph-${prefix}-`));
}

/** A seeded pseudo-random source (LCG), for generated fixtures. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

export const SHOP_GRAPH = {
  attributes: {
    name: 'shop',
    input: { columns: ['age', 'visits', 'city'], categorical: ['city'] },
  },
  options: { type: 'undirected', multi: false, allowSelfLoops: false },
  nodes: [
    { key: 'spend', attributes: { kind: 'regression' } },
    { key: 'click', attributes: { kind: 'binary' } },
    { key: 'segment', attributes: { kind: 'multiclass', classes: ['new', 'casual', 'loyal'] } },
  ],
  edges: [
    { source: 'spend', target: 'click', attributes: { weight: 0.6 } },
    { source: 'click', target: 'segment', attributes: { weight: 0.4 } },
  ],
};

/** A small generated CSV for SHOP_GRAPH: an id, 3 features (one categorical), 3 targets with some empty labels. */
export function shopCsv(rows: number, seed = 1): string {
  const random = lcg(seed);
  const cities = ['paris', 'rome', 'oslo'];
  const lines = ['id,age,visits,city,spend,click,segment'];
  for (let i = 0; i < rows; i++) {
    const age = Math.round(18 + random() * 50);
    const visits = Math.round(random() * 20);
    const city = cities[Math.floor(random() * 3)]!;
    const spend = (visits * 2 + (city === 'paris' ? 5 : 0) + random()).toFixed(2);
    const click = visits > 10 ? 1 : 0;
    const segment = ['new', 'casual', 'loyal'][Math.min(2, Math.floor(visits / 7))]!;
    lines.push(
      [
        `u${i}`,
        age,
        visits,
        city,
        random() < 0.1 ? '' : spend,
        random() < 0.1 ? '' : click,
        random() < 0.1 ? '' : segment,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
