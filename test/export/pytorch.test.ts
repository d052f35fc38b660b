import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel, importWeights, writeExport } from '../../src/export/index.js';
import { compile, FileError, readCsv, targetScale, TaskGraph } from '../../src/index.js';
import { removeDir, tempDir } from '../hardening/helpers.js';
import { cpu } from '../train/fixture.js';
import {
  caseName,
  exportCases,
  exportFixture,
  inputRows,
  maxDiff,
  mtgraphPredictions,
  run,
  writeFiles,
} from './helpers.js';
import { scaled } from '../timeouts.js';

/** Debian's PyTorch (python3-torch): the tests skip with a message when it is not importable. */
export const PYTHON = '/usr/bin/python3';
function torchMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${PYTHON} cannot import torch (apt-get install python3-torch): PyTorch export tests skipped`;
  }
}
const missing = torchMissing();
if (missing) console.warn(missing);

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('export-pytorch');
});
afterAll(() => removeDir(root));

/** Runs torch-predict.py on export folders; returns each one's predictions per task. */
async function torchPredict(
  jobs: Array<{ dir: string; x: number[][]; weights?: string; penalty?: boolean }>,
): Promise<
  Array<{ dir: string; tasks: string[]; values: Record<string, number[]>; penalty?: number }>
> {
  const file = path.join(root, `jobs-${jobs.length}-${Date.now()}.json`);
  await fs.writeFile(file, JSON.stringify(jobs));
  const script = path.join(import.meta.dirname, 'torch-predict.py');
  const { stdout } = await run(PYTHON, [script, file], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout);
}

describe.skipIf(missing !== undefined)('exportModel pytorch', () => {
  it('the generated nn.Module predicts what predict does, for every strategy, fused and scaled heads', {
    timeout: scaled(300_000),
  }, async () => {
    const x = inputRows(31);
    const expected = new Map<string, Record<string, number[]>>();
    const jobs: Array<{ dir: string; x: number[][]; penalty?: boolean }> = [];
    let softPenalty: { dir: string; value: number } | undefined;
    for (const c of exportCases()) {
      const model = exportFixture(c);
      const before = tf.memory().numTensors;
      const result = await exportModel(model, { format: 'pytorch' });
      expect(tf.memory().numTensors).toBe(before);
      expect(result.files.map(([n]) => n)).toEqual([
        'model.py',
        'weights.safetensors',
        'train.py',
        'plan.json',
        'signature.json',
      ]);
      const dir = path.join(root, caseName(c));
      await writeFiles(dir, result.files);
      expected.set(dir, mtgraphPredictions(model, x));
      const soft = c.strategy === 'soft' && softPenalty === undefined;
      if (soft) {
        const p = model.penalty();
        softPenalty = { dir, value: p.dataSync()[0]! };
        p.dispose();
      }
      jobs.push({ dir, x, ...(soft ? { penalty: true } : {}) });
      model.dispose();
    }
    const results = await torchPredict(jobs);
    expect(results).toHaveLength(jobs.length);
    // train.py's Laplacian penalties of soft sharing equal the mtgraph model's on the same weights.
    const soft = results.find((r) => r.dir === softPenalty!.dir)!;
    expect(softPenalty!.value).toBeGreaterThan(0);
    expect(soft.penalty! / softPenalty!.value).toBeCloseTo(1, 5);
    for (const r of results) {
      const want = expected.get(r.dir)!;
      expect(r.tasks).toEqual(Object.keys(want));
      for (const [task, values] of Object.entries(want)) {
        expect(r.values[task]!.length, `${r.dir} ${task}`).toBe(values.length);
        expect(maxDiff(r.values[task]!, values), `${r.dir} ${task}`).toBeLessThanOrEqual(1e-5);
      }
    }
  });

  it('importWeights brings the exported weights back, and refuses weights of another model', async () => {
    const source = exportFixture({ strategy: 'cross-stitch', towers: true, activation: 'relu' }, 5);
    const target = exportFixture({ strategy: 'cross-stitch', towers: true, activation: 'relu' }, 9);
    const x = inputRows(7);
    const { files } = await exportModel(source, { format: 'pytorch' });
    const bytes = files.find(([n]) => n === 'weights.safetensors')![1] as Uint8Array;
    const want = mtgraphPredictions(source, x);
    expect(maxDiff(mtgraphPredictions(target, x).click!, want.click!)).toBeGreaterThan(1e-3);
    const before = tf.memory().numTensors;
    importWeights(target, bytes);
    expect(tf.memory().numTensors).toBe(before);
    const got = mtgraphPredictions(target, x);
    for (const task of Object.keys(want))
      expect(maxDiff(got[task]!, want[task]!), task).toBeLessThanOrEqual(1e-6);
    const other = exportFixture({ strategy: 'hard', towers: true, activation: 'relu' });
    expect(() => importWeights(other, bytes)).toThrow(FileError);
    expect(() => importWeights(other, new Uint8Array(3))).toThrow(/not a readable safetensors/);
    for (const m of [source, target, other]) m.dispose();
  });
});

/** torchrun: Debian's /usr/bin/torchrun, else the module. */
async function torchrun(): Promise<string[]> {
  try {
    await fs.access('/usr/bin/torchrun');
    return ['/usr/bin/torchrun'];
  } catch {
    return [PYTHON, '-m', 'torch.distributed.run'];
  }
}

describe.skipIf(missing !== undefined)('pytorch export train.py', () => {
  it('torchrun --nproc_per_node=2 (gloo) trains two epochs on a CSV, the loss falls, and the weights come back into mtgraph', {
    timeout: scaled(300_000),
  }, async () => {
    const rows = ['a,b,colour,y,z,w'];
    const colours = ['red', 'green', 'blue'];
    let s = 7;
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    for (let i = 0; i < 240; i++) {
      const a = next() * 4 - 2;
      const b = next() * 4 - 2;
      const c = colours[i % 3]!;
      const y = i % 10 === 0 ? '' : (3 * a - b + (c === 'red' ? 1 : 0) + 10).toFixed(4);
      const z = a + b > 0 ? 1 : 0;
      const w = a > 0.5 ? 'high' : a < -0.5 ? 'low' : 'mid';
      rows.push(`${a.toFixed(4)},${b.toFixed(4)},${c},${y},${z},${w}`);
    }
    const dir = path.join(root, 'ddp');
    const data = path.join(root, 'ddp.csv');
    await fs.writeFile(data, `${rows.join('\n')}\n`);
    const g = new TaskGraph();
    g.addTask('y', { kind: 'regression' });
    g.addTask('z', { kind: 'binary' });
    g.addTask('w', { kind: 'multiclass', classes: ['low', 'mid', 'high'] });
    g.addAffinity('y', 'z', { weight: 0.6 });
    g.addAffinity('z', 'w', { weight: 0.4 });
    const csv = await readCsv({ text: rows.join('\n') }, g);
    const model = compile(g, {
      strategy: 'soft',
      trunk: { units: [8] },
      input: { columns: csv.columns },
      targetScale: targetScale(g, csv.data),
      seed: 2,
    });
    model.metadata.preprocessing = csv.preprocessing;
    expect(model.plan.couplings.some((c) => c.kind === 'laplacian')).toBe(true);
    await writeExport(await exportModel(model, { format: 'pytorch' }), dir);
    const trained = path.join(root, 'trained.safetensors');
    const [bin, ...pre] = await torchrun();
    const { stdout, stderr } = await run(
      bin!,
      [
        ...pre,
        '--standalone',
        '--nproc_per_node=2',
        '--redirects',
        '1',
        '--tee',
        '1',
        path.join(dir, 'train.py'),
        '--data',
        data,
        '--epochs',
        '2',
        '--lr',
        '0.01',
        '--batch-size',
        '16',
        '--out',
        trained,
      ],
      {
        env: {
          ...process.env,
          OMP_NUM_THREADS: '1',
          OPENBLAS_NUM_THREADS: '1',
          GLOO_SOCKET_IFNAME: 'lo',
          MASTER_ADDR: '127.0.0.1',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    ).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`torchrun failed:\n${e.stdout}\n${e.stderr}`);
    });
    const epochs = [
      ...`${stdout}\n${stderr}`.matchAll(/\{"epoch": (\d+), "loss": ([0-9.eE+-]+)\}/g),
    ]
      .map((m) => [Number(m[1]), Number(m[2])] as const)
      .filter((e, i, all) => all.findIndex((f) => f[0] === e[0]) === i);
    expect(epochs.map((e) => e[0])).toEqual([1, 2]);
    expect(epochs[1]![1]).toBeLessThan(epochs[0]![1]);

    const bytes = new Uint8Array(await fs.readFile(trained));
    const [n, width] = csv.data.x.shape;
    const x = Array.from({ length: n }, (_, r) =>
      Array.from(csv.data.x.values.subarray(r * width, (r + 1) * width)),
    );
    const before = mtgraphPredictions(model, x);
    importWeights(model, bytes);
    const after = mtgraphPredictions(model, x);
    expect(maxDiff(after.y!, before.y!)).toBeGreaterThan(1e-4);
    const [torchOut] = await torchPredict([{ dir, x, weights: trained }]);
    for (const t of ['y', 'z', 'w'])
      expect(maxDiff(torchOut!.values[t]!, after[t]!), t).toBeLessThanOrEqual(1e-5);
    model.dispose();
  });
});
