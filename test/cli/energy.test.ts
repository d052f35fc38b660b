import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const csv = path.resolve(here, '../../../shared/data/energy-efficiency/energy_efficiency.csv');
const present = existsSync(csv);
const title = 'CLI round trip on ../shared/data/energy-efficiency';

describe.skipIf(!present)(
  present
    ? title
    : `${title} (skipped: ${csv} is absent; it ships with the shared data, not with the repo)`,
  () => {
    let dir: string;

    beforeAll(async () => {
      dir = await tempDir('energy');
      await fs.writeFile(
        path.join(dir, 'energy.json'),
        JSON.stringify({
          attributes: {
            name: 'energy',
            description: 'UCI energy efficiency: heating and cooling load of 768 buildings.',
          },
          options: { type: 'undirected', multi: false, allowSelfLoops: false },
          nodes: [
            { key: 'heating_load', attributes: { kind: 'regression' } },
            { key: 'cooling_load', attributes: { kind: 'regression' } },
          ],
          edges: [{ source: 'heating_load', target: 'cooling_load', attributes: { weight: 0.9 } }],
        }),
      );
    });

    afterAll(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('affinity measures on standardised targets: heating and cooling load help each other', async () => {
      const r = await cli(
        'affinity',
        path.join(dir, 'energy.json'),
        '--data',
        csv,
        '--seed',
        '1',
        '--json',
      );
      expect(r.code, r.stderr).toBe(0);
      const { tasks, matrix } = JSON.parse(r.stdout) as { tasks: string[]; matrix: number[][] };
      expect(tasks).toEqual(['heating_load', 'cooling_load']);
      // Two strongly related loads (correlation 0.98): each one's step lowers the other's loss.
      expect(matrix[0]![1]).toBeGreaterThan(0);
      expect(matrix[1]![0]).toBeGreaterThan(0);
    });

    it('train -> eval -> predict gives one prediction row per input row', async () => {
      const model = path.join(dir, 'model');
      const t = await cli(
        'train',
        path.join(dir, 'energy.json'),
        '--data',
        csv,
        '--out',
        model,
        '--epochs',
        '15',
        '--learning-rate',
        '0.01',
        '--seed',
        '1',
        '--json',
      );
      expect(t.code, t.stderr).toBe(0);
      const trained = JSON.parse(t.stdout);
      expect(trained.split).toEqual({ train: 539, valid: 76, test: 153 });
      // Targets standardised on the training part (loads of 6-48): the heads predict in kWh/m².
      expect(trained.targetScale.heating_load.mean[0]).toBeGreaterThan(15);
      expect(trained.targetScale.heating_load.std[0]).toBeGreaterThan(5);
      expect(trained.metrics.heating_load.r2).toBeGreaterThan(0.85);
      const raw = await cli(
        'train',
        path.join(dir, 'energy.json'),
        '--data',
        csv,
        '--out',
        path.join(dir, 'raw'),
        '--epochs',
        '15',
        '--learning-rate',
        '0.01',
        '--seed',
        '1',
        '--no-target-scale',
        '--no-report',
        '--json',
      );
      expect(raw.code, raw.stderr).toBe(0);
      expect(JSON.parse(raw.stdout).targetScale).toEqual({});
      expect(JSON.parse(raw.stdout).metrics.heating_load.r2).toBeLessThan(
        trained.metrics.heating_load.r2,
      );
      const e = await cli('eval', model, '--data', csv, '--split', 'test', '--json');
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).metrics.cooling_load.mse).toBeCloseTo(
        trained.metrics.cooling_load.mse,
        3,
      );
      const preds = path.join(dir, 'preds.csv');
      const p = await cli('predict', model, '--data', csv, '--out', preds);
      expect(p.code, p.stderr).toBe(0);
      const lines = (await fs.readFile(preds, 'utf8')).trim().split('\n');
      expect(lines[0]).toBe('heating_load,cooling_load');
      expect(lines).toHaveLength(769);
      // Predictions in the loads' own units (mean ~22 kWh/m²), not standardised ones (mean ~0).
      const heating = lines.slice(1).map((l) => Number(l.split(',')[0]));
      const mean = heating.reduce((a, b) => a + b, 0) / heating.length;
      expect(mean).toBeGreaterThan(18);
      expect(mean).toBeLessThan(27);
    });
  },
);
