// Issue 14, point 20: one numbering of the best epoch (from 1) in History, the CLI and the report.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { compile } from '../../src/network/compile.js';
import { fit } from '../../src/train/fit.js';
import { cli, tempDir } from '../cli/helpers.js';

/** Pure-noise labels: the training loss falls while the validation loss soon rises. */
function noise(rows: number, seed: number) {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const x = Array.from({ length: rows }, () => Array.from({ length: 6 }, () => rand() * 2 - 1));
  return { x, y: { a: x.map(() => rand() * 2 - 1) } };
}

describe('best epoch numbering (#14.20)', () => {
  it('History.bestEpoch counts from 1: valLoss[bestEpoch - 1] is the lowest, onEpochEnd saw it as bestEpoch - 1', async () => {
    const g = new TaskGraph({ input: 6 });
    g.addTask('a', { kind: 'regression' });
    const model = compile(g, { strategy: 'hard', trunk: { units: [32] } });
    const indices: number[] = [];
    const history = await fit(model, noise(24, 1), {
      epochs: 60,
      batchSize: 8,
      optimizer: { name: 'adam', learningRate: 0.02 },
      validationData: noise(24, 2),
      earlyStopping: { patience: 3 },
      onEpochEnd: (epoch) => {
        indices.push(epoch);
      },
    });
    const val = history.valLoss!;
    const lowest = val.indexOf(Math.min(...val));
    expect(history.stoppedEarly).toBe(true);
    expect(history.bestEpoch).toBe(lowest + 1);
    expect(indices[lowest]).toBe(history.bestEpoch! - 1);
    expect(history.epochs).toBe(history.bestEpoch! + 3);
    model.dispose();
  });

  it('mtgraph train prints, saves and reports the same number as --json', async () => {
    const dir = await tempDir('best-epoch');
    try {
      const g = new TaskGraph({ input: { columns: ['x0', 'x1', 'x2', 'x3', 'x4', 'x5'] } });
      g.addTask('a', { kind: 'regression' });
      await fs.writeFile(path.join(dir, 'g.json'), JSON.stringify(g.export()));
      const d = noise(80, 3);
      const lines = ['x0,x1,x2,x3,x4,x5,a'];
      d.x.forEach((row, r) => lines.push([...row, d.y.a[r]].join(',')));
      await fs.writeFile(path.join(dir, 'd.csv'), `${lines.join('\n')}\n`);
      const args = (out: string) => [
        'train',
        path.join(dir, 'g.json'),
        '--data',
        path.join(dir, 'd.csv'),
        '--out',
        path.join(dir, out),
        '--epochs',
        '80',
        '--patience',
        '3',
        '--trunk',
        '32',
        '--learning-rate',
        '0.03',
      ];
      const text = await cli(...args('m1'), '--quiet');
      expect(text.code).toBe(0);
      const printed = Number(/best epoch (\d+)/.exec(text.stdout)?.[1]);
      expect(printed).toBeGreaterThan(0);
      const json = await cli(...args('m2'), '--json');
      expect(json.code).toBe(0);
      const result = JSON.parse(json.stdout) as { history?: { bestEpoch?: number } } & Record<
        string,
        unknown
      >;
      const found = JSON.stringify(result).match(/"bestEpoch":(\d+)/);
      expect(Number(found?.[1])).toBe(printed);
      const metadata = await fs.readFile(path.join(dir, 'm1', 'metadata.json'), 'utf8');
      expect(Number(/"bestEpoch":\s*(\d+)/.exec(metadata)?.[1])).toBe(printed);
      const report = await fs.readFile(path.join(dir, 'm1', 'report.html'), 'utf8');
      expect(report).toContain(`best epoch ${printed}`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
