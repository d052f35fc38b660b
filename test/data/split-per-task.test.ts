// Issue 14, point 16 in the CLI: the row split leaves every task a training row.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { splitRows } from '../../src/data/preprocess-split.js';
import { cli, tempDir } from '../cli/helpers.js';

describe('splitRows keeps a training row for every task (#14.16)', () => {
  it('a stratum (a task in long format) of two rows keeps one for training', () => {
    // Rounding remainders carried from the first stratum used to send both rows of the second away.
    const stratify = ['a', 'a', 'b', 'b'];
    const split = splitRows(4, { seed: 0, valid: 0.45, test: 0.45, stratify });
    for (const key of ['a', 'b']) {
      const rows = stratify.flatMap((k, r) => (k === key ? [r] : []));
      expect(rows.some((r) => split.train.includes(r))).toBe(true);
    }
  });

  it('with labelled rows per task (wide data) every task trains and validates, whatever the seed', () => {
    const rows = 40;
    const dense = new Array<boolean>(rows).fill(true);
    const sparse = dense.map((_, r) => r >= 37); // 3 labelled rows
    const single = dense.map((_, r) => r === 5);
    for (let seed = 0; seed < 30; seed++) {
      const split = splitRows(rows, {
        seed,
        valid: 0.2,
        test: 0.3,
        labelled: [dense, sparse, single],
      });
      const count = (part: Int32Array, flags: boolean[]) =>
        Array.from(part).filter((r) => flags[r]).length;
      expect(count(split.train, sparse)).toBeGreaterThanOrEqual(1);
      expect(count(split.valid, sparse)).toBeGreaterThanOrEqual(1);
      expect(count(split.train, single)).toBe(1);
      expect(count(split.train, dense)).toBeGreaterThan(15);
      expect(split.train.length + split.valid.length + split.test.length).toBe(rows);
    }
  });

  it('mtgraph train on wide data whose small task is labelled on three rows trains it', async () => {
    const dir = await tempDir('split-task');
    try {
      const graph = {
        attributes: { input: { features: 2 } },
        nodes: [
          { key: 'big', attributes: { kind: 'regression' } },
          { key: 'small', attributes: { kind: 'regression' } },
        ],
        edges: [],
      };
      const lines = ['x0,x1,big,small'];
      for (let r = 0; r < 60; r++) {
        const x0 = Math.sin(r);
        const x1 = Math.cos(r);
        lines.push(`${x0},${x1},${x0 + x1},${r % 20 === 7 ? x0 - x1 : ''}`);
      }
      await fs.writeFile(path.join(dir, 'g.json'), JSON.stringify(graph));
      await fs.writeFile(path.join(dir, 'd.csv'), `${lines.join('\n')}\n`);
      for (const seed of ['0', '1', '2', '3']) {
        const r = await cli(
          'train',
          path.join(dir, 'g.json'),
          '--data',
          path.join(dir, 'd.csv'),
          '--out',
          path.join(dir, `m${seed}`),
          '--epochs',
          '1',
          '--valid',
          '0.3',
          '--test',
          '0.3',
          '--seed',
          seed,
          '--json',
          '--quiet',
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
