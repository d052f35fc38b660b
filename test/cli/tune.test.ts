import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, shopCsv, SHOP_GRAPH, tempDir } from './helpers.js';
import { loadEnsemble, loadModel } from '../../src/index.js';
import { scaled } from '../timeouts.js';

describe('mtgraph tune', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('tune');
    await fs.writeFile(path.join(dir, 'shop.json'), JSON.stringify(SHOP_GRAPH));
    await fs.writeFile(path.join(dir, 'shop.csv'), shopCsv(240));
  });

  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('mtgraph tune searches, prints a line per trial, retrains and saves the best with a report', {
    timeout: scaled(120_000),
  }, async () => {
    const out = path.join(dir, 'model');
    const r = await cli(
      'tune',
      path.join(dir, 'shop.json'),
      '--data',
      path.join(dir, 'shop.csv'),
      '--exclude',
      'id',
      '--trials',
      '4',
      '--strategies',
      'hard,soft',
      '--out',
      out,
    );
    expect(r.stderr).not.toMatch(/internal/i);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => /^trial \d\/4 /.test(l));
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).toMatch(/best so far: trial \d (hard|soft)/);
    expect(r.stdout).toMatch(/chosen: trial \d, (hard|soft)/);
    expect(r.stdout).toContain('scored on the test rows');
    const model = await loadModel(out);
    try {
      const tuning = model.metadata?.tuning as { trials: number; best: { strategy: string } };
      expect(tuning.trials).toBe(4);
      expect(['hard', 'soft']).toContain(model.plan.strategy);
      expect(tuning.best.strategy).toBe(model.plan.strategy);
    } finally {
      model.dispose();
    }
    const html = await fs.readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<section id="tuning">');
    expect(html.match(/<td>(hard|soft)<\/td><td>\d<\/td>/g)).toHaveLength(4);
  });

  it('mtgraph tune refuses a bad --budget before reading the data', async () => {
    const r = await cli(
      'tune',
      path.join(dir, 'shop.json'),
      '--data',
      path.join(dir, 'shop.csv'),
      '--budget',
      'ten minutes',
      '--out',
      path.join(dir, 'never'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expected a duration such as 90s, 10m or 1h (got "ten minutes")');
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
  });

  it('mtgraph tune --budget-clock cpu stops at CPU seconds and says so; a bad clock is refused', {
    timeout: scaled(120_000),
  }, async () => {
    const out = path.join(dir, 'model-cpu');
    const r = await cli(
      'tune',
      path.join(dir, 'shop.json'),
      '--data',
      path.join(dir, 'shop.csv'),
      '--exclude',
      'id',
      '--budget',
      '3s',
      '--budget-clock',
      'cpu',
      '--strategies',
      'hard',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/s of CPU\) \(cpuSeconds budget: 3 s of CPU time\)/);
    const bad = await cli(
      'tune',
      path.join(dir, 'shop.json'),
      '--data',
      path.join(dir, 'shop.csv'),
      '--budget',
      '3s',
      '--budget-clock',
      'gpu',
      '--out',
      path.join(dir, 'never3'),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--budget-clock.*gpu.*wall, cpu/s);
  });

  it('mtgraph tune --ensemble saves an ensemble folder that predict reads; a model folder is not replaced by one', {
    timeout: scaled(120_000),
  }, async () => {
    const out = path.join(dir, 'ensemble');
    const args = (to: string) => [
      'tune',
      path.join(dir, 'shop.json'),
      '--data',
      path.join(dir, 'shop.csv'),
      '--exclude',
      'id',
      '--trials',
      '6',
      '--strategies',
      'hard,single',
      '--objective',
      'mean',
      '--ensemble',
      '6',
      '--out',
      to,
    ];
    const r = await cli(...args(out));
    expect(r.stderr).not.toMatch(/internal/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ensemble of \d trial\(s\), chosen on \d+ validation rows \(mean /m);
    expect(r.stdout).toContain('their weighted mean scored on the test rows');
    const marker = JSON.parse(await fs.readFile(path.join(out, 'ensemble.json'), 'utf8'));
    expect(marker.format).toBe('mtgraph-ensemble');
    const ensemble = await loadEnsemble(out);
    try {
      expect(ensemble.members).toHaveLength(marker.members.length);
      expect(ensemble.members.reduce((a, m) => a + m.weight, 0)).toBeCloseTo(1, 10);
      const meta = ensemble.members[0]!.model.metadata as {
        training: { ensemble: { members: number } };
      };
      expect(meta.training.ensemble.members).toBe(ensemble.members.length);
    } finally {
      ensemble.dispose();
    }
    expect(await fs.readFile(path.join(out, 'report.html'), 'utf8')).toContain(
      'the test scores are the ensemble',
    );
    const preds = path.join(dir, 'ensemble-preds.csv');
    const p = await cli('predict', out, '--data', path.join(dir, 'shop.csv'), '--out', preds);
    expect(p.code).toBe(0);
    const lines = (await fs.readFile(preds, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('spend,click,segment,segment.new,segment.casual,segment.loyal');
    expect(lines).toHaveLength(241);
    // The segment's probabilities are a weighted mean of probabilities: they still sum to 1.
    const cells = lines[1]!.split(',');
    expect(Number(cells[3]) + Number(cells[4]) + Number(cells[5])).toBeCloseTo(1, 5);
    const scored = await cli('eval', out, '--data', path.join(dir, 'shop.csv'), '--json');
    expect(scored.code).toBe(0);
    expect(JSON.parse(scored.stdout).metrics.segment.accuracy).toBeGreaterThan(0.5);
    // A model folder (another kind of mtgraph folder) is not replaced by an ensemble.
    const model = path.join(dir, 'model');
    const before = await fs.readdir(model);
    const refused = await cli(...args(model));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/model/);
    expect(await fs.readdir(model)).toEqual(before);
  });

  it('mtgraph tune refuses an unknown strategy with the registered ones', async () => {
    const r = await cli(
      'tune',
      path.join(dir, 'shop.json'),
      '--data',
      path.join(dir, 'shop.csv'),
      '--exclude',
      'id',
      '--strategies',
      'hard,sotf',
      '--out',
      path.join(dir, 'never2'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown strategy (got "sotf"; expected one of single, hard');
    expect(existsSync(path.join(dir, 'never2'))).toBe(false);
  });
});
