import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Output } from '../../src/cli/io.js';
import { reportError } from '../../src/cli/exit.js';
import { taskLosses } from '../../src/cli/progress.js';
import { SHOP_GRAPH, cli, shopCsv, tempDir } from './helpers.js';
import { decimalsFor } from '../../src/cli/commands/compare.js';

let dir: string;
let graph: string;
let data: string;
let model: string;

const COMMANDS = [
  'demo',
  'validate',
  'plan',
  'train',
  'compare',
  'eval',
  'predict',
  'affinity',
  'viz',
];

beforeAll(async () => {
  dir = await tempDir('cli');
  graph = path.join(dir, 'shop.json');
  data = path.join(dir, 'shop.csv');
  model = path.join(dir, 'model');
  await fs.writeFile(graph, JSON.stringify(SHOP_GRAPH));
  await fs.writeFile(data, shopCsv(240));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  return file;
}

/** Files left in `dir` whose names mark a temporary write. */
async function leftovers(folder = dir): Promise<string[]> {
  return (await fs.readdir(folder)).filter((f) => f.includes('.tmp') || f.includes('.old'));
}

describe('mtgraph help and usage', () => {
  it('--help works on the program and on every command', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toContain(c);
    expect(top.stdout).toMatch(/Exit codes: 0 success, 1 a user error/);
    for (const c of COMMANDS) {
      const r = await cli(c, '--help');
      expect(r.code, c).toBe(0);
      expect(r.stdout).toContain(`Usage: mtgraph ${c}`);
      expect(r.stdout).toContain('--json');
    }
    expect((await cli()).stdout).toContain('Usage: mtgraph');
  });

  it('usage mistakes exit with 1 and a message', async () => {
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const bad = await cli('train', graph, '--data', data, '--epochs', 'ten');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /'-e, --epochs <n>' argument 'ten' is invalid\. expected a whole number/,
    );
    expect((await cli('eval', model)).stderr).toMatch(
      /required option '--data <file.csv>' not specified/,
    );
  });

  it('an unexpected error exits with 2 and says it is a bug', () => {
    let err = '';
    const out = new Output(
      {
        stdout: { write: () => true },
        stderr: {
          write: (s: string) => {
            err += s;
            return true;
          },
        },
      },
      {},
    );
    expect(reportError(new TypeError('boom'), out)).toBe(2);
    expect(err).toMatch(/internal error: boom[\s\S]*This is a bug in mtgraph/);
  });

  it('per-task losses are cut to the width', () => {
    const losses = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`task_${i}`, i + 0.5]));
    const text = taskLosses(losses, 40);
    expect(text.length).toBeLessThanOrEqual(60);
    expect(text).toMatch(/^task_0 0\.5 task_1 1\.5 .*\.\.\. \d+ more$/);
  });
});

describe('mtgraph validate and plan', () => {
  it('validate reports a valid graph and a CSV that fits it', async () => {
    const r = await cli('validate', graph, '--data', data);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /valid — "shop", 3 task\(s\) \(1 regression, 1 binary, 1 multiclass\), 2 affinities, 3 named input column\(s\), 1 categorical/,
    );
    expect(r.stdout).toMatch(
      /fits the graph — 240 row\(s\), 5 model input\(s\) after encoding, labels for 3 of 3 task\(s\)/,
    );
    const json = JSON.parse((await cli('validate', graph, '--json')).stdout);
    expect(json).toMatchObject({ ok: true, tasks: 3, affinities: 2 });
  });

  it('validate prints the problem with its path and exits with 1', async () => {
    const bad = await write(
      'bad.json',
      JSON.stringify({
        ...SHOP_GRAPH,
        nodes: [{ key: 'seg', attributes: { kind: 'multiclass', classes: 1 } }],
        edges: [],
      }),
    );
    const r = await cli('validate', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^GraphSpecError: mtgraph\/spec: a multiclass task needs at least 2 classes \(got 1\).*→ at tasks\.seg\.classes/,
    );
    expect(r.stdout).toBe('');
    const json = JSON.parse((await cli('validate', bad, '--json')).stdout);
    expect(json).toMatchObject({
      ok: false,
      error: { name: 'GraphSpecError', path: 'tasks.seg.classes' },
    });
    const missing = await cli('validate', path.join(dir, 'none.json'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /FileError: .*cannot read the graph file .*none\.json: it does not exist \(ENOENT\)/,
    );
  });

  it('plan explains, prints JSON, and sizes the input from --data', async () => {
    const r = await cli('plan', graph, '--strategy', 'hard', '--trunk', '8');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^shop: strategy hard, 3 task\(s\), 3 input feature\(s\)/);
    const p = JSON.parse(
      (await cli('plan', graph, '--json', '--data', data, '--strategy', 'clustered', '--seed', '3'))
        .stdout,
    );
    expect(p).toMatchObject({
      version: 1,
      strategy: 'clustered',
      seed: 3,
      input: { features: 5, columns: ['age', 'visits', 'city=oslo', 'city=paris', 'city=rome'] },
    });
    const bare = await write('bare.json', JSON.stringify({ ...SHOP_GRAPH, attributes: {} }));
    const e = await cli('plan', bare);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/does not say how many input features.*Pass --data file\.csv/);
    expect((await cli('plan', graph, '--strategy', 'nope')).stderr).toMatch(
      /OptionsError: mtgraph\/plan: unknown strategy \(got "nope"/,
    );
  });

  it('plan takes --dropout and --l2 for the trunk and towers, and refuses bad values', async () => {
    const p = JSON.parse(
      (
        await cli(
          'plan',
          graph,
          '--json',
          '--strategy',
          'hard',
          '--trunk',
          '8,4',
          '--dropout',
          '0.2',
          '--l2',
          '1e-4',
        )
      ).stdout,
    );
    expect(p.blocks[0].layers).toEqual([
      { units: 8, activation: 'relu', dropout: 0.2, batchNorm: false, l2: 1e-4 },
      { units: 4, activation: 'relu', dropout: 0.2, batchNorm: false, l2: 1e-4 },
    ]);
    const soft = JSON.parse(
      (await cli('plan', graph, '--json', '--strategy', 'single', '--trunk', '8', '--l2', '0.01'))
        .stdout,
    );
    expect(
      Object.values(soft.towers as Record<string, { layers: Array<{ l2?: number }> }>).every((t) =>
        t.layers.every((l) => l.l2 === 0.01),
      ),
    ).toBe(true);
    for (const [flag, value] of [
      ['--l2', '-1'],
      ['--l2', 'lots'],
      ['--dropout', '1'],
    ]) {
      const bad = await cli('plan', graph, flag!, value!);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(new RegExp(`${flag}.*expected`));
    }
  });
});

describe('mtgraph plan --plan-options', () => {
  it('sets a strategy section and trunk fields; the flags win field by field; mistakes name where', async () => {
    const soft = JSON.parse(
      (
        await cli(
          'plan',
          graph,
          '--json',
          '--strategy',
          'soft',
          '--plan-options',
          '{"soft":{"strength":0.3}}',
        )
      ).stdout,
    );
    expect(soft.couplings.length).toBeGreaterThan(0);
    expect(soft.couplings.every((c: { strength: number }) => c.strength === 0.3)).toBe(true);
    const mmoe = JSON.parse(
      (
        await cli(
          'plan',
          graph,
          '--json',
          '--strategy',
          'mmoe',
          '--plan-options',
          '{"mmoe":{"experts":5}}',
        )
      ).stdout,
    );
    expect(mmoe.blocks.filter((b: { role?: string }) => b.role === 'expert')).toHaveLength(5);
    const hard = JSON.parse(
      (
        await cli(
          'plan',
          graph,
          '--json',
          '--strategy',
          'hard',
          '--trunk',
          '8',
          '--dropout',
          '0.1',
          '--plan-options',
          '{"trunk":{"activation":"tanh","units":[99]}}',
        )
      ).stdout,
    );
    expect(hard.blocks[0].layers).toEqual([
      { units: 8, activation: 'tanh', dropout: 0.1, batchNorm: false },
    ]);
    const cases: Array<[string, RegExp]> = [
      [
        '{"soft":{"strength":-1}}',
        /OptionsError: mtgraph\/plan: strength must be >= 0 \(got -1\).*→ at options\.soft\.strength/,
      ],
      ['{"sof":{}}', /unknown option "sof".*→ at options\.sof/],
      [
        '{"strategy":"hard"}',
        /--plan-options sets "strategy", which --strategy decides → at --plan-options\.strategy/,
      ],
      ['{"input":{"features":3}}', /--plan-options sets "input"/],
      [
        '{bad',
        /option '--plan-options <json>' argument '\{bad' is invalid\. expected a JSON object/,
      ],
      ['[1]', /expected a JSON object .*\(got \[1\]\)/],
    ];
    for (const [json, message] of cases) {
      const bad = await cli('plan', graph, '--strategy', 'soft', '--plan-options', json);
      expect(bad.code, json).toBe(1);
      expect(bad.stderr, json).toMatch(message);
    }
  });
});

describe('mtgraph compare', () => {
  it("trains each strategy on one split and ranks them by each task's held-out score", async () => {
    const r = await cli(
      'compare',
      graph,
      '--data',
      data,
      '--strategies',
      'single,hard,soft',
      '--trunk',
      '8',
      '--epochs',
      '3',
      '--seed',
      '2',
      '--exclude',
      'id',
      '--plan-options',
      '{"soft":{"strength":0.2}}',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.scoredOn).toBe('test');
    expect(out.strategies.map((s: { strategy: string }) => s.strategy)).toEqual([
      'single',
      'hard',
      'soft',
    ]);
    for (const s of out.strategies) {
      expect(Object.keys(s.metrics).sort()).toEqual(['click', 'segment', 'spend']);
      expect(s.metrics.spend.r2).toBeGreaterThan(-10);
      expect(s.metrics.click.auc).toBeGreaterThanOrEqual(0);
      expect(s.meanRank).toBeGreaterThanOrEqual(1);
      expect(s.meanRank).toBeLessThanOrEqual(3);
      expect(s.epochs).toBe(3);
    }
    // Ranks per task add up to 1 + 2 + 3, so the mean ranks do too.
    expect(
      out.strategies.reduce((n: number, s: { meanRank: number }) => n + s.meanRank, 0),
    ).toBeCloseTo(6, 10);
    const top = Math.min(...out.strategies.map((s: { meanRank: number }) => s.meanRank));
    expect(out.best).toEqual(
      out.strategies
        .filter((s: { meanRank: number }) => s.meanRank === top)
        .map((s: { strategy: string }) => s.strategy),
    );
    // The same comparison as a table: one row per task with its metric, and the mean ranks.
    const report = path.join(dir, 'compare.html');
    const text = await cli(
      'compare',
      graph,
      '--data',
      data,
      '--strategies',
      'single,hard',
      '--trunk',
      '8',
      '--epochs',
      '2',
      '--exclude',
      'id',
      '--quiet',
      '--report',
      report,
    );
    expect(text.code, text.stderr).toBe(0);
    const html = await fs.readFile(report, 'utf8');
    expect(html).toContain('<h2>Strategies compared</h2>');
    expect(html).toContain('<th>single</th><th>hard</th>');
    expect(text.stdout).toContain(`report: ${report}`);
    expect(text.stdout).toMatch(/^spend\s+r2\s/m);
    expect(text.stdout).toMatch(/^click\s+auc\s/m);
    expect(text.stdout).toMatch(/^segment\s+accuracy\s/m);
    expect(text.stdout).toMatch(/^mean rank\s+\d\.\d\d\s+\d\.\d\d$/m);
    expect(text.stdout).toMatch(/best by mean rank over 3 task\(s\): (single|hard)/);
  });

  it("scores a task by its kind's metric also when the graph names only other metrics for it", async () => {
    const narrowed = structuredClone(SHOP_GRAPH) as {
      nodes: Array<{ key: string; attributes: Record<string, unknown> }>;
    };
    narrowed.nodes.find((n) => n.key === 'spend')!.attributes.metrics = ['mae'];
    const file = await write('shop-mae.json', JSON.stringify(narrowed));
    const r = await cli(
      'compare',
      file,
      '--data',
      data,
      '--strategies',
      'single,hard',
      '--trunk',
      '8',
      '--epochs',
      '2',
      '--exclude',
      'id',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    for (const s of JSON.parse(r.stdout).strategies) {
      expect(Number.isFinite(s.metrics.spend.r2)).toBe(true);
      expect(Number.isFinite(s.metrics.spend.mae)).toBe(true);
    }
  });

  it('prints as many decimals (4 to 8) as it takes to tell different scores apart', () => {
    expect(decimalsFor([0.5, 0.25, 0.125])).toBe(4);
    expect(decimalsFor([0.999874, 0.99988, 0.999666])).toBe(5);
    expect(decimalsFor([0.1234561, 0.1234564])).toBe(7);
    expect(decimalsFor([0.7, 0.7, Number.NaN])).toBe(4);
    expect(decimalsFor([0.1, 0.1 + 1e-12])).toBe(8);
  });

  it('refuses an unknown strategy or bad options before training anything', async () => {
    const bad = await cli(
      'compare',
      graph,
      '--data',
      data,
      '--strategies',
      'hard,nope',
      '--exclude',
      'id',
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/OptionsError: mtgraph\/plan: unknown strategy \(got "nope"/);
    expect(bad.stderr).not.toMatch(/trained hard/);
    const opts = await cli(
      'compare',
      graph,
      '--data',
      data,
      '--strategies',
      'soft',
      '--plan-options',
      '{"soft":{"strength":-2}}',
      '--exclude',
      'id',
    );
    expect(opts.code).toBe(1);
    expect(opts.stderr).toMatch(/→ at options\.soft\.strength/);
  });
});

describe('mtgraph train, eval, predict', () => {
  it('train writes the model folder with its preprocessing and report.html', async () => {
    const r = await cli(
      'train',
      graph,
      '--data',
      data,
      '--out',
      model,
      '--epochs',
      '3',
      '--strategy',
      'hard',
      '--trunk',
      '8',
      '--seed',
      '1',
      '--stratify',
      'segment',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /240 row\(s\) -> train 168, valid 24, test 48 \(stratified by segment\); 5 model input\(s\) from 3 column\(s\)/,
    );
    expect(r.stderr).toMatch(/^backend: /m);
    expect(r.stderr).toMatch(
      /^epoch 3\/3 {2}loss \S+ {2}valid \S+ {2}spend \S+ click \S+ segment \S+/m,
    );
    expect(r.stdout).toMatch(/^task +kind +loss .*\nspend +regression/);
    expect(r.stdout).toMatch(/scores on the test rows \(48\); trained 3 epoch\(s\)/);
    for (const f of [
      'model.json',
      'weights.bin',
      'plan.json',
      'graph.json',
      'metadata.json',
      'report.html',
    ])
      expect(existsSync(path.join(model, f)), f).toBe(true);
    const meta = JSON.parse(await fs.readFile(path.join(model, 'metadata.json'), 'utf8'));
    expect(meta.metadata.preprocessing.columns).toEqual([
      'age',
      'visits',
      'city=oslo',
      'city=paris',
      'city=rome',
    ]);
    expect(meta.metadata.training).toMatchObject({
      strategy: 'hard',
      epochs: 3,
      scoredOn: 'test',
      split: { seed: 1, stratify: 'segment', sizes: { train: 168, valid: 24, test: 48 } },
    });
    expect(meta.metadata.training.history.loss).toHaveLength(3);
    expect(await fs.readFile(path.join(model, 'report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/i);
    expect(await leftovers()).toEqual([]);
  });

  it('eval prints per-task metrics, or JSON, on all rows or a part of the split', async () => {
    const r = await cli('eval', model, '--data', data, '-q');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/click +binary .*\n/);
    expect(r.stdout).toMatch(/240 row\(s\) of/);
    const test = JSON.parse(
      (await cli('eval', model, '--data', data, '--split', 'test', '--json')).stdout,
    );
    expect(test.rows).toBe(48);
    expect(Object.keys(test.metrics)).toEqual(['spend', 'click', 'segment']);
    expect(Object.keys(test.metrics.click)).toEqual(
      expect.arrayContaining(['loss', 'auc', 'accuracy']),
    );
    const meta = JSON.parse(await fs.readFile(path.join(model, 'metadata.json'), 'utf8'));
    expect(test.metrics.spend.mse).toBeCloseTo(meta.metadata.training.metrics.spend.mse, 4);
    const other = await write('other.csv', shopCsv(30, 9));
    const e = await cli('eval', model, '--data', other, '--split', 'test');
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/--split test needs the file the model was trained on/);
  });

  it('predict writes one row per input row and one column per task output', async () => {
    const fresh = await write(
      'fresh.csv',
      shopCsv(25, 7)
        .split('\n')
        .map((l) => l.split(',').slice(0, 4).join(','))
        .join('\n'),
    );
    const preds = path.join(dir, 'preds.csv');
    const r = await cli('predict', model, '--data', fresh, '--out', preds, '--keep', 'id');
    expect(r.code, r.stderr).toBe(0);
    const lines = (await fs.readFile(preds, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('id,spend,click,segment,segment.new,segment.casual,segment.loyal');
    expect(lines).toHaveLength(26);
    const [id, spend, click, segment, ...probs] = lines[1]!.split(',');
    expect(id).toBe('u0');
    expect(Number.isFinite(Number(spend))).toBe(true);
    expect(Number(click)).toBeGreaterThan(0);
    expect(['new', 'casual', 'loyal']).toContain(segment);
    expect(probs.map(Number).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    const stdout = await cli('predict', model, '--data', fresh, '-q');
    expect(stdout.stdout.trim().split('\n')).toHaveLength(26);
  });

  it('a failing predict leaves the previous output file as it was', async () => {
    const preds = path.join(dir, 'keep.csv');
    await fs.writeFile(preds, 'previous\n');
    const bad = await write('badrow.csv', 'id,age,visits,city\nu1,20,3,rome\nu2,thirty,4,oslo\n');
    const r = await cli('predict', model, '--data', bad, '--out', preds);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /DataError: mtgraph\/csv: the cell is not a number \(got "thirty"\) in a numeric feature column → at .*badrow\.csv, line 3, column "age"/,
    );
    expect(await fs.readFile(preds, 'utf8')).toBe('previous\n');
    const gone = await write('nocol.csv', 'id,age,city\nu1,20,rome\n');
    const m = await cli('predict', model, '--data', gone, '--out', preds);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/the column "visits" \(a feature of the model\) is not in the header/);
    expect(await leftovers()).toEqual([]);
  });

  it('train refuses bad data with one message and writes nothing', async () => {
    const out = path.join(dir, 'never');
    const cases: Array<[string, string, RegExp]> = [
      [
        'notarget.csv',
        'id,age,visits,city,spend,click\nu1,1,2,rome,3,1\n',
        /the column "segment" \(the target of task "segment"\) is not in the header/,
      ],
      [
        'cell.csv',
        'id,age,visits,city,spend,click,segment\nu1,1,2,rome,3,1,new\nu2,1,x,rome,3,1,new\nu3,1,2,rome,3,1,new\n',
        /not a number \(got "x"\).*line 3, column "visits"/,
      ],
      [
        'ragged.csv',
        'id,age,visits,city,spend,click,segment\nu1,1,2,rome,3,1,new\nu2,1,2,rome\n',
        /the row has 4 cells \(expected 7.*line 3/,
      ],
      ['empty.csv', '', /the file is empty/],
      [
        'label.csv',
        'id,age,visits,city,spend,click,segment\nu1,1,2,rome,3,2,new\n',
        /not a label of binary task "click" \(got "2"/,
      ],
      [
        'nocity.csv',
        'id,age,visits,spend,click,segment\nu1,1,2,3,1,new\n',
        /the column "city" \(a feature, from the graph's input\.columns\) is not in the header/,
      ],
    ];
    for (const [name, text, message] of cases) {
      const r = await cli(
        'train',
        graph,
        '--data',
        await write(name, text),
        '--out',
        out,
        '--epochs',
        '1',
      );
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toMatch(message);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => /Error: /.test(l)),
        name,
      ).toHaveLength(1);
    }
    const missing = await cli('train', graph, '--data', path.join(dir, 'absent.csv'), '--out', out);
    expect(missing.stderr).toMatch(
      /FileError: mtgraph\/csv: cannot read the data file .*absent\.csv: it does not exist \(ENOENT\)/,
    );
    const balance = await cli(
      'train',
      graph,
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '1',
      '--balance',
      'nope',
      '--json',
    );
    expect(balance.code).toBe(1);
    expect(JSON.parse(balance.stdout)).toMatchObject({
      ok: false,
      error: { name: 'OptionsError', path: 'options.balance' },
    });
    expect(existsSync(out)).toBe(false);
    const busy = await cli('train', graph, '--data', data, '--out', dir, '--epochs', '1');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(
      /cannot save the model to .*: it is not an mtgraph model folder .* → at --out/,
    );
    expect(busy.stderr).not.toMatch(/^epoch/m);
    expect(await leftovers()).toEqual([]);
  });

  it('train reads long format with --task-column and predicts one column', async () => {
    const g = await write(
      'long.json',
      JSON.stringify({
        attributes: { name: 'long' },
        options: { type: 'undirected', multi: false, allowSelfLoops: false },
        nodes: ['site_01', 'site_02', 'site_03'].map((key) => ({
          key,
          attributes: { kind: 'regression', target: 'score' },
        })),
        edges: [{ source: 'site_01', target: 'site_02', attributes: { weight: 0.8 } }],
      }),
    );
    const rows = ['site,x1,x2,score'];
    for (let i = 0; i < 90; i++)
      rows.push(
        `${(i % 3) + 1},${(i % 7) / 7},${(i % 5) / 5},${((i % 7) / 7 + (i % 3)).toFixed(3)}`,
      );
    const file = await write('long.csv', `${rows.join('\n')}\n`);
    const out = path.join(dir, 'long-model');
    const r = await cli(
      'train',
      g,
      '--data',
      file,
      '--task-column',
      'site',
      '--out',
      out,
      '--epochs',
      '2',
      '--strategy',
      'hard',
      '--trunk',
      '4',
      '--no-report',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\(stratified by site\); 2 model input\(s\)/);
    expect(existsSync(path.join(out, 'report.html'))).toBe(false);
    const p = await cli('predict', out, '--data', file, '-q');
    const lines = p.stdout.trim().split('\n');
    expect(lines[0]).toBe('site,task_id,prediction');
    expect(lines[1]).toMatch(/^1,site_01,-?\d/);
    expect(lines).toHaveLength(91);
    const e = await cli('eval', out, '--data', file, '--json', '-q');
    expect(Object.keys(JSON.parse(e.stdout).metrics)).toEqual(['site_01', 'site_02', 'site_03']);
  });
});

describe('mtgraph affinity and viz', () => {
  it('affinity writes a learned graph that validates', async () => {
    const learned = path.join(dir, 'learned.json');
    const r = await cli(
      'affinity',
      graph,
      '--data',
      data,
      '--method',
      'label-correlation',
      '--out',
      learned,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/affinity \(label-correlation\)/);
    expect((await cli('validate', learned)).code).toBe(0);
    const json = JSON.parse(
      (
        await cli(
          'affinity',
          graph,
          '--data',
          data,
          '--steps',
          '4',
          '--batch-size',
          '64',
          '--json',
          '--seed',
          '2',
        )
      ).stdout,
    );
    expect(json).toMatchObject({
      ok: true,
      method: 'lookahead',
      tasks: ['spend', 'click', 'segment'],
    });
    expect(json.matrix).toHaveLength(3);
    const bad = await cli('affinity', graph, '--data', data, '--method', 'magic');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /unknown affinity method \(got "magic"; expected one of .*lookahead/,
    );
  });

  it('viz writes SVG, GEXF, GraphML and HTML for a graph file and a model folder', async () => {
    for (const [input, name, pattern] of [
      [graph, 'graph.svg', /^<svg/],
      [graph, 'graph.gexf', /<gexf/],
      [graph, 'graph.graphml', /<graphml/],
      [graph, 'graph.html', /^<!DOCTYPE html>/i],
      [model, 'plan.svg', /^<svg/],
      [model, 'model.html', /^<!DOCTYPE html>/i],
    ] as const) {
      const out = path.join(dir, name);
      const r = await cli('viz', input, '--out', out);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect((await fs.readFile(out, 'utf8')).trimStart(), name).toMatch(pattern);
    }
    const bad = await cli('viz', graph, '--out', path.join(dir, 'graph.png'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /cannot tell the format of .*graph\.png.*expected one of \.svg, \.gexf, \.graphml, \.html/,
    );
    expect(existsSync(path.join(dir, 'graph.png'))).toBe(false);
  });
});

describe('mtgraph demo', () => {
  it('demo trains the four strategies and writes the report', async () => {
    const out = path.join(dir, 'demo');
    const r = await cli('demo', '--epochs', '2', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(Object.keys(json.strategies)).toEqual(['single', 'hard', 'clustered', 'soft']);
    expect(existsSync(path.join(out, 'report.html'))).toBe(true);
    expect(existsSync(path.join(out, 'demo-model', 'model.json'))).toBe(true);
  });
});
