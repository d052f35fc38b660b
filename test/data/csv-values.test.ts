// Issue 14, points 12 and 13: feature values that overflow float32, and the ragged-row message.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { readCsv } from '../../src/data/csv.js';
import { readCsvFile } from '../../src/data/csv-file.js';
import { DataError } from '../../src/errors.js';
import { cli, tempDir } from '../cli/helpers.js';

function graph(): TaskGraph {
  const g = new TaskGraph({ input: { columns: ['x0', 'x1', 'x2'] } });
  g.addTask('a', { kind: 'regression' });
  g.addTask('b', { kind: 'binary' });
  return g;
}

/** 60 rows of x0..x2, a, b; `edit(row, cells)` changes row r's cells. */
function csv(edit: (r: number, cells: string[]) => void = () => {}): string {
  const lines = ['x0,x1,x2,a,b'];
  for (let r = 0; r < 60; r++) {
    const x = [Math.sin(r), Math.cos(r), (r % 7) / 7];
    const cells = [
      ...x.map((v) => v.toFixed(3)),
      (x[0]! + x[1]!).toFixed(3),
      x[2]! > 0.5 ? '1' : '0',
    ];
    edit(r, cells);
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

async function thrown(fn: () => Promise<unknown>): Promise<DataError> {
  try {
    await fn();
  } catch (error) {
    return error as DataError;
  }
  throw new Error('expected a DataError');
}

describe('feature values that overflow float32 (#14.12)', () => {
  it('1e308 in a training row is a DataError at read time with its line and column', async () => {
    const text = csv((r, cells) => {
      if (r === 9) cells[0] = '1e308';
    });
    const error = await thrown(() => readCsv({ text }, graph()));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/feature value 1e308 is too large for float32/);
    expect(error.message).toMatch(/line 11, column "x0"/);
  });

  it('3e38 among small values is refused however the rows are split (its standardised value overflows)', async () => {
    const text = csv((r, cells) => {
      if (r === 54) cells[1] = '3e38';
    });
    const error = await thrown(() => readCsv({ text }, graph()));
    expect(error.message).toMatch(
      /feature value 3e38 standardised with the statistics of the other rows is 4\.\d+e\+38/,
    );
    expect(error.message).toMatch(/line 56, column "x1"/);
    // fitted on rows without it (a training split), applying the statistics fails on that row
    const rows = Int32Array.from({ length: 50 }, (_, r) => r);
    const again = await thrown(() => readCsv({ text }, graph(), { rows }));
    expect(again.message).toMatch(/line 56, column "x1"/);
  });

  it('large values that standardise to finite numbers are read', async () => {
    const text = csv((r, cells) => {
      cells[2] = String((r + 1) * 1e36);
    });
    const data = await readCsv({ text }, graph());
    expect(data.rows).toBe(60);
    expect(data.preprocessing.features[2]).toMatchObject({ type: 'numeric' });
    const f = data.preprocessing.features[2] as { scale: number };
    expect(Number.isFinite(f.scale)).toBe(true);
  });

  it('mtgraph validate --data and train refuse the file before training (exit 1)', async () => {
    const dir = await tempDir('overflow');
    try {
      await fs.writeFile(path.join(dir, 'g.json'), JSON.stringify(graph().export()));
      const file = path.join(dir, 'd.csv');
      await fs.writeFile(
        file,
        csv((r, cells) => {
          if (r === 54) cells[1] = '3e38';
        }),
      );
      const v = await cli('validate', path.join(dir, 'g.json'), '--data', file);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(/DataError: .*3e38.*line 56, column "x1"/);
      const t = await cli(
        'train',
        path.join(dir, 'g.json'),
        '--data',
        file,
        '--out',
        path.join(dir, 'model'),
        '--epochs',
        '1',
      );
      expect(t.code).toBe(1);
      expect(t.stderr).toMatch(/line 56, column "x1"/);
      await expect(fs.stat(path.join(dir, 'model'))).rejects.toThrow();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a ragged row names the header width (#14.13)', () => {
  it('from a file and from text, the message says how many cells the header has', async () => {
    const text = csv((r, cells) => {
      if (r === 4) cells.push('1', '2');
    });
    const dir = await tempDir('ragged');
    try {
      const file = path.join(dir, 'd.csv');
      await fs.writeFile(file, text);
      const fromFile = await thrown(() => readCsvFile(file));
      expect(fromFile.message).toMatch(/the row has 7 cells \(expected 5, one per header column\)/);
      expect(fromFile.message).toMatch(/line 6/);
      const fromText = await thrown(() => readCsv({ text }, graph()));
      expect(fromText.message).toMatch(/the row has 7 cells \(expected 5, one per header column\)/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
