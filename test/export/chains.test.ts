import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel, importWeights, writeExport } from '../../src/export/index.js';
import { compile, loadModel, readCsv, saveModel, TaskGraph } from '../../src/index.js';
import type { MtgraphModel } from '../../src/network/types.js';
import { removeDir, tempDir } from '../hardening/helpers.js';
import { scrambleWeights } from '../network/helpers.js';
import { scaled } from '../timeouts.js';
import { cpu } from '../train/fixture.js';
import {
  FEATURES,
  inputRows,
  maxDiff,
  mtgraphPredictions,
  run,
  tfjsUrl,
  writeFiles,
} from './helpers.js';

const PYTHON = '/usr/bin/python3';
function torchMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${PYTHON} cannot import torch (apt-get install python3-torch): PyTorch chain export test skipped`;
  }
}
const missing = torchMissing();
if (missing) console.warn(missing);

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('export-chains');
});
afterAll(() => removeDir(root));

const COLUMNS = Array.from({ length: FEATURES }, (_, i) => `c${i}`);

/**
 * Every chain attribute at once: `purchase` is conditioned on `click` (ESMM product), `spend`
 * reads click's tower with stopped gradients, `tags` reads spend's and click's towers without,
 * and its own column c2 instead of the shared representation (inputsOnly), `segment id/2` also
 * reads two input columns, out of order (c3 then c1), and `own` reads only c4 and c0 (inputsOnly,
 * no reads: the picked columns feed its tower directly). `soft` couples
 * towers layer by layer, which reading towers refuse: its graph keeps the condition only (its head
 * Laplacian then couples the conditioned task's head, purchase.given_click).
 */
function chainGraph(full: boolean): TaskGraph {
  const g = new TaskGraph({ input: { features: FEATURES, columns: COLUMNS } });
  const extra = (a: Record<string, unknown>) => (full ? a : {});
  g.addTask('click', { kind: 'binary' });
  g.addTask('purchase', { kind: 'binary', condition: 'click' } as never);
  g.addTask('spend', {
    kind: 'regression',
    ...extra({ reads: ['click'], readsStopGradient: true }),
  } as never);
  g.addTask('tags', {
    kind: 'multilabel',
    labels: ['x', 'y'],
    ...extra({ reads: ['spend', 'click'], inputs: ['c2'], inputsOnly: true }),
  } as never);
  g.addTask('segment id/2', {
    kind: 'multiclass',
    classes: 3,
    ...extra({ inputs: ['c3', 'c1'] }),
  } as never);
  g.addAffinity('click', 'purchase', { weight: 0.9 });
  g.addAffinity('click', 'spend', { weight: 0.5 });
  g.addAffinity('spend', 'tags', { weight: 0.6 });
  g.addAffinity('click', 'segment id/2', { weight: 0.4 });
  g.addTask('own', {
    kind: 'binary',
    ...extra({ inputs: ['c4', 'c0'], inputsOnly: true }),
  } as never);
  g.addAffinity('own', 'click', { weight: 0.3 });
  return g;
}

/** Strategies the chain model is exported under: a shared trunk, experts, soft sharing (head Laplacian). */
const STRATEGIES = ['hard', 'mmoe', 'soft'] as const;

function chainModel(strategy: string, seed = 2): MtgraphModel {
  const model = compile(chainGraph(strategy !== 'soft'), {
    strategy,
    seed,
    trunk: { units: [6], dropout: 0.1, activation: 'tanh' },
    tower: { units: [3], activation: 'elu' },
    targetScale: { spend: { mean: 10, std: 3 } },
    mmoe: { experts: 2 },
  });
  scrambleWeights(model.model, seed);
  const centred = model.model.getWeights().map((w) => tf.tidy(() => w.sub(0.55)));
  model.model.setWeights(centred);
  tf.dispose(centred);
  return model;
}

/**
 * A small CSV of a click -> purchase family (purchase only after a click) with a regression task
 * that reads click's tower (stopped gradients) and its own one-hot column (colour), read as the
 * CLI reads it.
 */
async function chainCsv() {
  const rows = ['a,b,colour,click,purchase,spend'];
  const colours = ['red', 'green', 'blue'];
  let s = 5;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let i = 0; i < 160; i++) {
    const a = next() * 4 - 2;
    const b = next() * 4 - 2;
    const c = colours[i % 3]!;
    const click = a + 0.5 * b > 0.3 ? 1 : 0;
    const purchase = click && (b > 0 || c === 'red') ? 1 : 0;
    const spend = i % 9 === 0 ? '' : (2 * a - b + (c === 'blue' ? 1 : 0)).toFixed(4);
    rows.push(`${a.toFixed(4)},${b.toFixed(4)},${c},${click},${purchase},${spend}`);
  }
  const g = new TaskGraph();
  g.addTask('click', { kind: 'binary' });
  g.addTask('purchase', { kind: 'binary', condition: 'click' } as never);
  g.addTask('spend', {
    kind: 'regression',
    reads: ['click'],
    readsStopGradient: true,
    inputs: ['colour'],
  } as never);
  g.addAffinity('click', 'purchase', { weight: 0.8 });
  g.addAffinity('click', 'spend', { weight: 0.4 });
  const csv = await readCsv({ text: rows.join('\n') }, g);
  return { rows, g, csv };
}

const X = inputRows(9);

describe('export of task chains (condition, reads with and without stop gradient, per-task inputs)', () => {
  it('the model has every chain layer (Multiply, reads Concatenate, StopGradient, Pick)', () => {
    const model = chainModel('hard');
    const classes = new Set(model.model.layers.map((l) => l.getClassName()));
    for (const c of ['Multiply', 'MtgraphStopGradient', 'MtgraphPick', 'Concatenate'])
      expect(classes.has(c), c).toBe(true);
    expect(model.layerNames.heads.get('purchase')).toBe('purchase.given_click');
    // inputsOnly: tags joins its column and the two towers it reads (not the trunk); own's picked
    // columns feed its tower alone (no join).
    const tags = model.layerNames.reads.get('tags')!;
    const joined = model.model
      .getLayer(tags.concat!)
      .inboundNodes[0]!.inboundLayers.map((l) => l.name);
    expect(joined).toEqual([
      tags.pick,
      model.layerNames.towers.get('spend')![0]!.activation ??
        model.layerNames.towers.get('spend')![0]!.dense,
      model.layerNames.towers.get('click')![0]!.activation ??
        model.layerNames.towers.get('click')![0]!.dense,
    ]);
    const own = model.layerNames.reads.get('own')!;
    expect(own.concat).toBeUndefined();
    expect(
      model.model
        .getLayer(model.layerNames.towers.get('own')![0]!.dense)
        .inboundNodes[0]!.inboundLayers.map((l) => l.name),
    ).toEqual([own.pick]);
    expect(model.plan.towers.own!.parent).toBeNull();
    // The conditioned output is the product: never above p(click).
    const p = mtgraphPredictions(model, X);
    p.purchase!.forEach((v, i) => expect(v).toBeLessThanOrEqual(p.click![i]! + 1e-7));
    model.dispose();
  });

  it('tfjs: plain tf.loadLayersModel (a child process without mtgraph) predicts what predict does', {
    timeout: scaled(120_000),
  }, async () => {
    const jobs: Array<{ dir: string; x: number[][] }> = [];
    const expected = new Map<string, { want: Record<string, number[]>; names: string[] }>();
    for (const strategy of STRATEGIES) {
      const model = chainModel(strategy);
      const before = tf.memory().numTensors;
      const result = await exportModel(model, { format: 'tfjs' });
      expect(tf.memory().numTensors).toBe(before);
      const topology = result.files.find(([n]) => n === 'model.json')![1] as string;
      expect(topology, strategy).not.toMatch(/Mtgraph/);
      // The picked input columns: a fixed 0/1 Dense that plain tfjs training leaves alone.
      const layers = JSON.parse(topology).modelTopology.config.layers as Array<{
        name: string;
        class_name: string;
        config: { trainable?: boolean };
      }>;
      const pick = layers.find((l) => l.name === 'tower.segment_id_2.inputs');
      if (strategy === 'soft') expect(pick).toBeUndefined();
      else expect([pick?.class_name, pick?.config.trainable], strategy).toEqual(['Dense', false]);
      const dir = path.join(root, `tfjs-${strategy}`);
      await writeFiles(dir, result.files);
      expected.set(dir, {
        want: mtgraphPredictions(model, X),
        names: result.signature.outputs.map((o) => o.task),
      });
      jobs.push({ dir, x: X });
      model.dispose();
    }
    const jobsFile = path.join(root, 'tfjs-jobs.json');
    await fs.writeFile(jobsFile, JSON.stringify(jobs));
    const script = path.join(import.meta.dirname, 'plain-tfjs.mjs');
    const { stdout } = await run(process.execPath, [script, tfjsUrl(), jobsFile], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const results = JSON.parse(stdout) as Array<{ dir: string; values: number[][] }>;
    expect(results).toHaveLength(STRATEGIES.length);
    for (const r of results) {
      const { want, names } = expected.get(r.dir)!;
      expect(names).toEqual(['click', 'purchase', 'spend', 'tags', 'segment id/2', 'own']);
      names.forEach((task, i) => {
        expect(r.values[i]!.length, `${r.dir} ${task}`).toBe(want[task]!.length);
        expect(maxDiff(r.values[i]!, want[task]!), `${r.dir} ${task}`).toBeLessThanOrEqual(1e-5);
      });
    }
  });

  it('onnx: onnxruntime-node predicts what predict does', {
    timeout: scaled(120_000),
  }, async () => {
    for (const strategy of STRATEGIES) {
      const model = chainModel(strategy);
      const result = await exportModel(model, { format: 'onnx' });
      const bytes = result.files.find(([n]) => n === 'model.onnx')![1] as Uint8Array;
      const session = await ort.InferenceSession.create(bytes);
      expect(session.outputNames).toEqual(model.plan.tasks.map((t) => t.id));
      const out = await session.run({
        input: new ort.Tensor('float32', Float32Array.from(X.flat()), [X.length, FEATURES]),
      });
      const want = mtgraphPredictions(model, X);
      for (const t of model.plan.tasks) {
        const got = out[t.id]!.data as Float32Array;
        expect(got.length, `${strategy} ${t.id}`).toBe(want[t.id]!.length);
        expect(maxDiff(got, want[t.id]!), `${strategy} ${t.id}`).toBeLessThanOrEqual(1e-5);
      }
      await session.release();
      model.dispose();
    }
  });

  it.skipIf(missing !== undefined)(
    'pytorch: the generated nn.Module predicts what predict does, and train.py penalties match the model',
    { timeout: scaled(180_000) },
    async () => {
      const jobs: Array<{ dir: string; x: number[][]; penalty: boolean }> = [];
      const expected = new Map<string, { want: Record<string, number[]>; penalty: number }>();
      for (const strategy of STRATEGIES) {
        const model = chainModel(strategy);
        const result = await exportModel(model, { format: 'pytorch' });
        const dir = path.join(root, `pytorch-${strategy}`);
        await writeFiles(dir, result.files);
        const p = model.penalty();
        expected.set(dir, { want: mtgraphPredictions(model, X), penalty: p.dataSync()[0]! });
        p.dispose();
        jobs.push({ dir, x: X, penalty: true });
        model.dispose();
      }
      const file = path.join(root, 'torch-jobs.json');
      await fs.writeFile(file, JSON.stringify(jobs));
      const script = path.join(import.meta.dirname, 'torch-predict.py');
      const { stdout } = await run(PYTHON, [script, file], { maxBuffer: 16 * 1024 * 1024 });
      const results = JSON.parse(stdout) as Array<{
        dir: string;
        tasks: string[];
        values: Record<string, number[]>;
        penalty: number;
      }>;
      expect(results).toHaveLength(STRATEGIES.length);
      for (const r of results) {
        const { want, penalty } = expected.get(r.dir)!;
        expect(r.tasks).toEqual(Object.keys(want));
        for (const [task, values] of Object.entries(want)) {
          expect(r.values[task]!.length, `${r.dir} ${task}`).toBe(values.length);
          expect(maxDiff(r.values[task]!, values), `${r.dir} ${task}`).toBeLessThanOrEqual(1e-5);
        }
        // soft's head Laplacian includes the conditioned task's head (purchase.given_click).
        if (r.dir.endsWith('soft')) expect(penalty).toBeGreaterThan(0);
        if (penalty > 0) expect(r.penalty / penalty, r.dir).toBeCloseTo(1, 5);
        else expect(r.penalty, r.dir).toBe(0);
      }
    },
  );

  it('saveModel / loadModel: the loaded model predicts the same and exports the same; importWeights brings the pytorch weights back', {
    timeout: scaled(120_000),
  }, async () => {
    for (const strategy of STRATEGIES) {
      const model = chainModel(strategy);
      const dir = path.join(root, `saved-${strategy}`);
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      const want = mtgraphPredictions(model, X);
      const got = mtgraphPredictions(loaded, X);
      for (const task of Object.keys(want))
        expect(maxDiff(got[task]!, want[task]!), `${strategy} ${task}`).toBeLessThanOrEqual(1e-6);
      expect(loaded.layerNames.outputs).toEqual(model.layerNames.outputs);
      const result = await exportModel(loaded, { format: 'onnx' });
      const bytes = result.files.find(([n]) => n === 'model.onnx')![1] as Uint8Array;
      const session = await ort.InferenceSession.create(bytes);
      const out = await session.run({
        input: new ort.Tensor('float32', Float32Array.from(X.flat()), [X.length, FEATURES]),
      });
      for (const task of Object.keys(want))
        expect(
          maxDiff(out[task]!.data as Float32Array, want[task]!),
          `${strategy} ${task}`,
        ).toBeLessThanOrEqual(1e-5);
      await session.release();
      // The pytorch export's weights come back into another model of the same plan (mtgraph import).
      const { files } = await exportModel(model, { format: 'pytorch' });
      const other = chainModel(strategy, 7);
      expect(maxDiff(mtgraphPredictions(other, X).purchase!, want.purchase!)).toBeGreaterThan(1e-3);
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
    'pytorch train.py (one process) trains a chain model from a CSV: the loss falls, p(purchase) <= p(click), and the weights come back',
    { timeout: scaled(180_000) },
    async () => {
      const { rows, g, csv } = await chainCsv();
      const data = path.join(root, 'chain.csv');
      await fs.writeFile(data, `${rows.join('\n')}\n`);
      const model = compile(g, {
        strategy: 'hard',
        trunk: { units: [6] },
        tower: { units: [3] },
        input: { columns: csv.columns },
        seed: 4,
      });
      model.metadata.preprocessing = csv.preprocessing;
      const classes = new Set(model.model.layers.map((l) => l.getClassName()));
      for (const c of ['Multiply', 'MtgraphStopGradient', 'MtgraphPick'])
        expect(classes.has(c), c).toBe(true);
      const dir = path.join(root, 'chain-train');
      await writeExport(await exportModel(model, { format: 'pytorch' }), dir);
      const trained = path.join(root, 'chain-trained.safetensors');
      const out = await run(
        PYTHON,
        [
          path.join(dir, 'train.py'),
          '--data',
          data,
          '--epochs',
          '3',
          '--lr',
          '0.02',
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
      expect(losses).toHaveLength(3);
      expect(losses[2]!).toBeLessThan(losses[0]!);
      const [n, width] = csv.data.x.shape;
      const x = Array.from({ length: n }, (_, r) =>
        Array.from(csv.data.x.values.subarray(r * width, (r + 1) * width)),
      );
      const before = mtgraphPredictions(model, x);
      importWeights(model, new Uint8Array(await fs.readFile(trained)));
      const after = mtgraphPredictions(model, x);
      expect(maxDiff(after.purchase!, before.purchase!)).toBeGreaterThan(1e-4);
      after.purchase!.forEach((v, i) => expect(v).toBeLessThanOrEqual(after.click![i]! + 1e-7));
      const file = path.join(root, 'chain-train-job.json');
      await fs.writeFile(file, JSON.stringify([{ dir, x, weights: trained }]));
      const script = path.join(import.meta.dirname, 'torch-predict.py');
      const { stdout } = await run(PYTHON, [script, file], { maxBuffer: 16 * 1024 * 1024 });
      const [torchOut] = JSON.parse(stdout) as Array<{ values: Record<string, number[]> }>;
      for (const t of ['click', 'purchase', 'spend'])
        expect(maxDiff(torchOut!.values[t]!, after[t]!), t).toBeLessThanOrEqual(1e-5);
      model.dispose();
    },
  );

  it('onnx with its preprocessing: the raw columns (a one-hot column picked by a task) give what predict does', async () => {
    const { rows, g, csv } = await chainCsv();
    const model = compile(g, {
      strategy: 'mmoe',
      trunk: { units: [5] },
      tower: { units: [3] },
      input: { columns: csv.columns },
      mmoe: { experts: 2 },
      seed: 6,
    });
    scrambleWeights(model.model, 8);
    model.metadata.preprocessing = csv.preprocessing;
    const result = await exportModel(model, { format: 'onnx', withPreprocessing: true });
    const bytes = result.files.find(([n]) => n === 'model.onnx')![1] as Uint8Array;
    const session = await ort.InferenceSession.create(bytes);
    const features = csv.preprocessing.features;
    expect(features.map((f) => f.type)).toEqual(['numeric', 'numeric', 'one-hot']);
    const raw = rows.slice(1).map((line) =>
      line
        .split(',')
        .slice(0, 3)
        .map((cell, j) => {
          const f = features[j]!;
          return f.type === 'numeric'
            ? Number(cell)
            : 'categories' in f
              ? f.categories.indexOf(cell)
              : Number.NaN;
        }),
    );
    const out = await session.run({
      features: new ort.Tensor('float32', Float32Array.from(raw.flat()), [raw.length, 3]),
    });
    const [n, width] = csv.data.x.shape;
    const x = Array.from({ length: n }, (_, r) =>
      Array.from(csv.data.x.values.subarray(r * width, (r + 1) * width)),
    );
    const want = mtgraphPredictions(model, x);
    for (const t of ['click', 'purchase', 'spend'])
      expect(maxDiff(out[t]!.data as Float32Array, want[t]!), t).toBeLessThanOrEqual(1e-5);
    await session.release();
    model.dispose();
  });
});
