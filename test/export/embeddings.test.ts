import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel, importWeights } from '../../src/export/index.js';
import { prepareFeatures } from '../../src/data/prepare.js';
import { compile, loadModel, readCsv, saveModel, stableHash, TaskGraph } from '../../src/index.js';
import type { MtgraphModel } from '../../src/network/types.js';
import { removeDir, tempDir } from '../hardening/helpers.js';
import { scrambleWeights } from '../network/helpers.js';
import { scaled } from '../timeouts.js';
import { cpu } from '../train/fixture.js';
import { maxDiff, mtgraphPredictions, run, tfjsUrl, writeFiles } from './helpers.js';

const PYTHON = '/usr/bin/python3';
function torchMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${PYTHON} cannot import torch (apt-get install python3-torch): PyTorch embedding export test skipped`;
  }
}
const missing = torchMissing();
if (missing) console.warn(missing);

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('export-embeddings');
});
afterAll(() => removeDir(root));

const COLUMNS = ['a', 'user', 'b', 'item'];

/** Two embedded columns: user (a fitted vocabulary, dim 3) and item (hashed into 7 buckets, dim 2). */
function embedGraph(): TaskGraph {
  const g = new TaskGraph({
    input: { columns: COLUMNS, embed: { user: 3, item: { dim: 2, buckets: 7 } } },
  });
  g.addTask('click', { kind: 'binary' });
  g.addTask('spend', { kind: 'regression' });
  g.addTask('segment', { kind: 'multiclass', classes: 3 });
  g.addAffinity('click', 'spend', { weight: 0.6 });
  g.addAffinity('click', 'segment', { weight: 0.3 });
  return g;
}

const STRATEGIES = ['hard', 'mmoe', 'ple', 'cross-stitch'] as const;

function embedModel(strategy: string, seed = 2): MtgraphModel {
  const model = compile(embedGraph(), {
    strategy,
    seed,
    trunk: { units: [6], activation: 'tanh' },
    tower: { units: [3] },
    vocabularies: { user: ['10', '20', '30', '40'] },
    mmoe: { experts: 2 },
  });
  scrambleWeights(model.model, seed);
  return model;
}

/** Raw rows: user 10..40 and 99 (not in the vocabulary: row 0), item any whole number (hashed). */
const X = Array.from({ length: 9 }, (_, i) => [
  (i % 5) * 0.4 - 1,
  [10, 20, 30, 40, 99][i % 5]!,
  1 - (i % 3) * 0.7,
  i * 13,
]);

/** What an exported model is fed: the rows with the embedded columns as ids (the plan's lookup). */
function ids(model: MtgraphModel, x: number[][]): number[][] {
  const f = prepareFeatures(model.plan, x, { scope: 'test' });
  return Array.from({ length: f.rows }, (_, r) =>
    Array.from(f.values.subarray(r * f.features, (r + 1) * f.features)),
  );
}

describe('export of embedded columns (Embedding in tfjs, Gather in ONNX, nn.Embedding in PyTorch)', () => {
  it('the ids fed to an export are the vocabulary and hash lookups; the signature says how to make them', async () => {
    const model = embedModel('hard');
    const fed = ids(model, X);
    expect(fed.map((r) => r[1])).toEqual([1, 2, 3, 4, 0, 1, 2, 3, 4]);
    for (const r of fed) expect(Number.isInteger(r[3]) && r[3]! >= 0 && r[3]! < 7).toBe(true);
    const { signature } = await exportModel(model, { format: 'onnx' });
    expect(signature.embeddings).toEqual([
      { column: 'user', index: 1, rows: 5, dim: 3, vocabulary: ['10', '20', '30', '40'] },
      { column: 'item', index: 3, rows: 7, dim: 2, buckets: 7, hash: 'fnv1a32-utf8' },
    ]);
    model.dispose();
  });

  it('tfjs: plain tf.loadLayersModel (a child process without mtgraph) predicts what predict does', {
    timeout: scaled(120_000),
  }, async () => {
    const jobs: Array<{ dir: string; x: number[][] }> = [];
    const expected = new Map<string, Record<string, number[]>>();
    for (const strategy of STRATEGIES) {
      const model = embedModel(strategy);
      const before = tf.memory().numTensors;
      const result = await exportModel(model, { format: 'tfjs' });
      expect(tf.memory().numTensors).toBe(before);
      const topology = result.files.find(([n]) => n === 'model.json')![1] as string;
      expect(topology, strategy).not.toMatch(/Mtgraph/);
      expect(topology, strategy).toMatch(/"class_name":"Embedding"/);
      const dir = path.join(root, `tfjs-${strategy}`);
      await writeFiles(dir, result.files);
      expected.set(dir, mtgraphPredictions(model, X));
      jobs.push({ dir, x: ids(model, X) });
      model.dispose();
    }
    const jobsFile = path.join(root, 'tfjs-jobs.json');
    await fs.writeFile(jobsFile, JSON.stringify(jobs));
    const script = path.join(import.meta.dirname, 'plain-tfjs.mjs');
    const { stdout } = await run(process.execPath, [script, tfjsUrl(), jobsFile], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const results = JSON.parse(stdout) as Array<{
      dir: string;
      values: number[][];
      classes: string[];
    }>;
    expect(results).toHaveLength(STRATEGIES.length);
    for (const r of results) {
      const want = expected.get(r.dir)!;
      expect(r.classes).toContain('Embedding');
      ['click', 'spend', 'segment'].forEach((task, i) => {
        expect(maxDiff(r.values[i]!, want[task]!), `${r.dir} ${task}`).toBeLessThanOrEqual(1e-5);
      });
    }
  });

  it('onnx: onnxruntime-node predicts what predict does', {
    timeout: scaled(120_000),
  }, async () => {
    for (const strategy of STRATEGIES) {
      const model = embedModel(strategy);
      const result = await exportModel(model, { format: 'onnx' });
      const bytes = result.files.find(([n]) => n === 'model.onnx')![1] as Uint8Array;
      const session = await ort.InferenceSession.create(bytes);
      const fed = ids(model, X);
      const out = await session.run({
        input: new ort.Tensor('float32', Float32Array.from(fed.flat()), [X.length, COLUMNS.length]),
      });
      const want = mtgraphPredictions(model, X);
      for (const t of model.plan.tasks)
        expect(
          maxDiff(out[t.id]!.data as Float32Array, want[t.id]!),
          `${strategy} ${t.id}`,
        ).toBeLessThanOrEqual(1e-5);
      await session.release();
      model.dispose();
    }
  });

  it.skipIf(missing !== undefined)(
    'pytorch: the generated nn.Module (nn.Embedding) predicts what predict does',
    { timeout: scaled(180_000) },
    async () => {
      const jobs: Array<{ dir: string; x: number[][] }> = [];
      const expected = new Map<string, Record<string, number[]>>();
      for (const strategy of STRATEGIES) {
        const model = embedModel(strategy);
        const result = await exportModel(model, { format: 'pytorch' });
        const py = result.files.find(([n]) => n === 'model.py')![1] as string;
        expect(py).toMatch(/nn\.Embedding\(5, 3\)/);
        expect(py).toMatch(/nn\.Embedding\(7, 2\)/);
        const dir = path.join(root, `pytorch-${strategy}`);
        await writeFiles(dir, result.files);
        expected.set(dir, mtgraphPredictions(model, X));
        jobs.push({ dir, x: ids(model, X) });
        model.dispose();
      }
      const file = path.join(root, 'torch-jobs.json');
      await fs.writeFile(file, JSON.stringify(jobs));
      const script = path.join(import.meta.dirname, 'torch-predict.py');
      const { stdout } = await run(PYTHON, [script, file], { maxBuffer: 16 * 1024 * 1024 });
      const results = JSON.parse(stdout) as Array<{
        dir: string;
        values: Record<string, number[]>;
      }>;
      expect(results).toHaveLength(STRATEGIES.length);
      for (const r of results) {
        const want = expected.get(r.dir)!;
        for (const [task, values] of Object.entries(want))
          expect(maxDiff(r.values[task]!, values), `${r.dir} ${task}`).toBeLessThanOrEqual(1e-5);
      }
    },
  );

  it('saveModel / loadModel keep the vocabulary and hashing (same predictions, unseen values included); importWeights brings the pytorch tables back', {
    timeout: scaled(120_000),
  }, async () => {
    for (const strategy of ['hard', 'ple']) {
      const model = embedModel(strategy);
      const dir = path.join(root, `saved-${strategy}`);
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      expect(loaded.plan.embeddings).toEqual(model.plan.embeddings);
      const want = mtgraphPredictions(model, X);
      const got = mtgraphPredictions(loaded, X);
      for (const task of Object.keys(want))
        expect(maxDiff(got[task]!, want[task]!), `${strategy} ${task}`).toBeLessThanOrEqual(1e-6);
      // Unseen users (99 and 12345) read the same out-of-vocabulary row: the same predictions.
      const a = mtgraphPredictions(loaded, [[0.1, 99, 0.2, 5]]);
      const b = mtgraphPredictions(loaded, [[0.1, 12345, 0.2, 5]]);
      expect(maxDiff(a.click!, b.click!)).toBe(0);
      const { files } = await exportModel(model, { format: 'pytorch' });
      const other = embedModel(strategy, 7);
      expect(maxDiff(mtgraphPredictions(other, X).spend!, want.spend!)).toBeGreaterThan(1e-3);
      importWeights(other, files.find(([n]) => n === 'weights.safetensors')![1] as Uint8Array);
      const back = mtgraphPredictions(other, X);
      for (const task of Object.keys(want))
        expect(maxDiff(back[task]!, want[task]!), `import ${strategy} ${task}`).toBeLessThanOrEqual(
          1e-6,
        );
      other.dispose();
      model.dispose();
      loaded.dispose();
    }
  });

  it.skipIf(missing !== undefined)(
    'pytorch train.py trains an embedded model from a CSV (vocabulary and hashed columns): the loss falls and the weights come back, predicting as in PyTorch',
    { timeout: scaled(180_000) },
    async () => {
      const rows = ['age,user,shop,click'];
      const next = (() => {
        let s = 9;
        return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
      })();
      for (let i = 0; i < 240; i++) {
        const u = Math.floor(next() * 12);
        const age = next() * 2 - 1;
        rows.push(`${age.toFixed(3)},u${u},s${i % 5},${u % 3 === 0 || age > 0.6 ? 1 : 0}`);
      }
      const data = path.join(root, 'embed.csv');
      await fs.writeFile(data, `${rows.join('\n')}\n`);
      const g = new TaskGraph({
        input: { embed: { user: { dim: 3, minCount: 2 }, shop: { dim: 2, buckets: 4 } } },
      });
      g.addTask('click', { kind: 'binary' });
      const csv = await readCsv({ text: rows.join('\n') }, g);
      const model = compile(g, {
        strategy: 'hard',
        trunk: { units: [5] },
        input: { columns: csv.columns },
        vocabularies: csv.vocabularies,
        seed: 4,
      });
      model.metadata.preprocessing = csv.preprocessing;
      const dir = path.join(root, 'embed-train');
      await writeFiles(dir, (await exportModel(model, { format: 'pytorch' })).files);
      // train.py's hash is stableHash: its fnv1a32, run alone, on the shop cells and non-ASCII text.
      const trainPy = await fs.readFile(path.join(dir, 'train.py'), 'utf8');
      const fnv = /def fnv1a32[\s\S]*?return h\n/.exec(trainPy)![0];
      const texts = ['s0', 's1', 's4', 'é', ''];
      const hashes = execFileSync(PYTHON, [
        '-c',
        `${fnv}\nimport json, sys\nprint(json.dumps([fnv1a32(t) for t in json.loads(sys.argv[1])]))`,
        JSON.stringify(texts),
      ]).toString();
      expect(JSON.parse(hashes)).toEqual(texts.map(stableHash));
      const trained = path.join(root, 'embed-trained.safetensors');
      const out = await run(
        PYTHON,
        [
          path.join(dir, 'train.py'),
          '--data',
          data,
          '--epochs',
          '4',
          '--lr',
          '0.05',
          '--batch-size',
          '16',
          '--out',
          trained,
        ],
        { env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 16 * 1024 * 1024 },
      ).catch((e: { stdout?: string; stderr?: string }) => {
        throw new Error(`train.py failed:\n${e.stdout}\n${e.stderr}`);
      });
      const losses = [
        ...`${out.stdout}\n${out.stderr}`.matchAll(/\{"epoch": (\d+), "loss": ([0-9.eE+-]+)\}/g),
      ].map((m) => Number(m[2]));
      expect(losses).toHaveLength(4);
      expect(losses[3]!).toBeLessThan(losses[0]!);
      const [n, width] = csv.data.x.shape;
      const x = Array.from({ length: n }, (_, r) =>
        Array.from(csv.data.x.values.subarray(r * width, (r + 1) * width)),
      );
      const before = mtgraphPredictions(model, x);
      importWeights(model, new Uint8Array(await fs.readFile(trained)));
      const after = mtgraphPredictions(model, x);
      expect(maxDiff(after.click!, before.click!)).toBeGreaterThan(1e-4);
      const file = path.join(root, 'embed-train-job.json');
      await fs.writeFile(file, JSON.stringify([{ dir, x, weights: trained }]));
      const script = path.join(import.meta.dirname, 'torch-predict.py');
      const { stdout } = await run(PYTHON, [script, file], { maxBuffer: 16 * 1024 * 1024 });
      const [torchOut] = JSON.parse(stdout) as Array<{ values: Record<string, number[]> }>;
      expect(maxDiff(torchOut!.values.click!, after.click!)).toBeLessThanOrEqual(1e-5);
      model.dispose();
    },
  );

  it('onnx with its preprocessing: raw numeric columns and the embedded column as its id give what predict does', async () => {
    const rows = ['age,user,click,spend'];
    for (let i = 0; i < 40; i++)
      rows.push(`${(i % 7) - 3},u${i % 6},${i % 2},${((i % 5) * 1.5).toFixed(2)}`);
    const g = new TaskGraph({ input: { embed: { user: { dim: 2, minCount: 7 } } } });
    g.addTask('click', { kind: 'binary' });
    g.addTask('spend', { kind: 'regression' });
    const csv = await readCsv({ text: rows.join('\n') }, g);
    // u0..u3 are seen 7 times, u4 and u5 6 times: folded into row 0 with minCount 7.
    expect(csv.preprocessing.features[1]).toEqual({
      column: 'user',
      type: 'embed',
      vocabulary: ['u0', 'u1', 'u2', 'u3'],
      minCount: 7,
    });
    expect(csv.vocabularies).toEqual({ user: { ids: 5 } });
    const model = compile(g, {
      strategy: 'hard',
      trunk: { units: [4] },
      input: { columns: csv.columns },
      vocabularies: csv.vocabularies,
      seed: 3,
    });
    scrambleWeights(model.model, 5);
    model.metadata.preprocessing = csv.preprocessing;
    const result = await exportModel(model, { format: 'onnx', withPreprocessing: true });
    const session = await ort.InferenceSession.create(
      result.files.find(([n]) => n === 'model.onnx')![1] as Uint8Array,
    );
    const vocabulary = ['u0', 'u1', 'u2', 'u3'];
    const raw = rows.slice(1).map((line) => {
      const [age, user] = line.split(',');
      return [Number(age), vocabulary.indexOf(user!) + 1];
    });
    const out = await session.run({
      features: new ort.Tensor('float32', Float32Array.from(raw.flat()), [raw.length, 2]),
    });
    const [n, width] = csv.data.x.shape;
    const x = Array.from({ length: n }, (_, r) =>
      Array.from(csv.data.x.values.subarray(r * width, (r + 1) * width)),
    );
    expect(x.map((r) => r[1])).toEqual(raw.map((r) => r[1]));
    const want = mtgraphPredictions(model, x);
    for (const t of ['click', 'spend'])
      expect(maxDiff(out[t]!.data as Float32Array, want[t]!), t).toBeLessThanOrEqual(1e-5);
    await session.release();
    model.dispose();
  });
});
