import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { build, compile, type MtgraphModel } from '../../src/network/index.js';
import { FileError, OptionsError, PlanError } from '../../src/errors.js';
import { loadModel, saveModel } from '../../src/io/model-file.js';
import { plan } from '../../src/plan/compile-plan.js';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { STRATEGIES, scrambleWeights, smallGraph } from '../network/helpers.js';

let root: string;

beforeAll(async () => {
  await initBackend();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'mtgraph-model-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function maxDiff(a: MtgraphModel, b: MtgraphModel, x: tf.Tensor): number {
  return tf.tidy(() => {
    const ya = a.model.predict(x) as tf.Tensor[];
    const yb = b.model.predict(x) as tf.Tensor[];
    return Math.max(...ya.map((y, i) => tf.max(tf.abs(tf.sub(y, yb[i]!))).dataSync()[0]!));
  });
}

async function saved(
  strategy: string,
  name = strategy,
): Promise<{ model: MtgraphModel; dir: string }> {
  const model = compile(smallGraph(), {
    strategy,
    trunk: { units: [6, 4], batchNorm: strategy === 'hard' },
  });
  scrambleWeights(model.model);
  const dir = path.join(root, name);
  await saveModel(model, dir);
  return { model, dir };
}

describe('saveModel / loadModel', () => {
  it.each(STRATEGIES)(
    'a saved %s model loads back with the same predictions, penalties, graph and metadata',
    async (strategy) => {
      const { model, dir } = await saved(strategy);
      model.metadata.epochs = 3;
      await saveModel(model, dir);
      const again = await loadModel(dir);
      const x = tf.randomNormal([9, 5], 0, 1, 'float32', 2);
      expect(maxDiff(model, again, x)).toBeLessThanOrEqual(1e-6);
      expect(again.plan).toEqual(model.plan);
      expect(again.graph).toEqual(model.graph);
      expect(again.metadata).toEqual({ epochs: 3 });
      expect(again.penalties.map((p) => p.name)).toEqual(model.penalties.map((p) => p.name));
      expect(tf.tidy(() => again.penalty().dataSync()[0])).toBeCloseTo(
        tf.tidy(() => model.penalty().dataSync()[0]!),
        5,
      );
      expect([...again.outputIndex]).toEqual([...model.outputIndex]);
      x.dispose();
      model.dispose();
      again.dispose();
    },
  );

  it('saveModel writes the standard tfjs layers files that a file:// loader reads', async () => {
    const { model, dir } = await saved('cross-stitch', 'standard');
    expect((await fs.readdir(dir)).sort()).toEqual([
      'graph.json',
      'metadata.json',
      'model.json',
      'plan.json',
      'weights.bin',
    ]);
    const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(Object.keys(json)).toEqual(
      expect.arrayContaining([
        'modelTopology',
        'weightsManifest',
        'format',
        'generatedBy',
        'convertedBy',
      ]),
    );
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest).toEqual([{ paths: ['weights.bin'], weights: expect.any(Array) }]);
    // What tfjs-node's file:// handler does: model.json -> getModelArtifactsForJSON -> weights from the listed paths.
    const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => {
      const bytes = await fs.readFile(path.join(dir, manifest[0]!.paths[0]!));
      return [
        manifest[0]!.weights,
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      ];
    });
    const plain = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const x = tf.ones([2, 5]);
    const a = model.model.predict(x) as tf.Tensor[];
    const b = plain.predict(x) as tf.Tensor[];
    a.forEach((y, i) =>
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(y, b[i]!))).dataSync()[0])).toBeLessThanOrEqual(
        1e-6,
      ),
    );
    tf.dispose([x, ...a, ...b]);
    plain.dispose();
    model.dispose();
  });

  it('saveModel without a graph writes no graph.json, and loads without one', async () => {
    const model = build(plan(smallGraph(), { strategy: 'hard', trunk: { units: [4] } }));
    const dir = path.join(root, 'no-graph');
    await saveModel(model, dir);
    expect(await fs.readdir(dir)).not.toContain('graph.json');
    const again = await loadModel(dir);
    expect(again.graph).toBeUndefined();
    model.dispose();
    again.dispose();
  });

  it('saveModel replaces a previous save and leaves no temporary folder', async () => {
    const first = await saved('hard', 'replace');
    const second = compile(smallGraph(), { strategy: 'mmoe', trunk: { units: [4] } });
    await saveModel(second, first.dir);
    const again = await loadModel(first.dir);
    expect(again.plan.strategy).toBe('mmoe');
    expect((await fs.readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
    [first.model, second, again].forEach((m) => m.dispose());
  });

  it('saveModel that fails leaves the previous model intact', async () => {
    const { model, dir } = await saved('soft', 'intact');
    const before = await fs.readFile(path.join(dir, 'weights.bin'));
    model.metadata.bad = 10n;
    scrambleWeights(model.model, 99);
    await expect(saveModel(model, dir)).rejects.toThrow(FileError);
    expect(await fs.readFile(path.join(dir, 'weights.bin'))).toEqual(before);
    expect((await fs.readdir(root)).filter((f) => f.startsWith('.'))).toEqual([]);
    model.dispose();
  });

  it('saveModel refuses what is not a built model', async () => {
    const bare = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [2] })] });
    await expect(saveModel(bare as never, path.join(root, 'bare'))).rejects.toThrow(OptionsError);
    bare.dispose();
  });

  it('saveModel refuses to replace a folder that is not a saved model', async () => {
    const dir = path.join(root, 'precious');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'keep me');
    const model = compile(smallGraph(), { strategy: 'hard', trunk: { units: [4] } });
    await expect(saveModel(model, dir)).rejects.toThrow(
      /is not an mtgraph model folder .*would delete notes\.txt/,
    );
    expect(await fs.readFile(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    model.dispose();
  });
});

describe('loadModel refuses what does not belong together', () => {
  it('loadModel refuses a tampered plan.json version', async () => {
    const { model, dir } = await saved('soft', 'tampered');
    const file = path.join(dir, 'plan.json');
    const p = JSON.parse(await fs.readFile(file, 'utf8'));
    await fs.writeFile(file, JSON.stringify({ ...p, version: 2 }));
    const error = await loadModel(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlanError);
    expect((error as Error).message).toMatch(/unknown plan version \(got 2; expected 1\)/);
    expect((error as Error).message).toContain(file);
    model.dispose();
  });

  it('loadModel refuses a plan.json of another model', async () => {
    const { model, dir } = await saved('hard', 'other-plan');
    const other = plan(smallGraph(), { strategy: 'mmoe', trunk: { units: [4] } });
    await fs.writeFile(path.join(dir, 'plan.json'), JSON.stringify(other));
    await expect(loadModel(dir)).rejects.toThrow(
      /plan.json does not match model.json .*: the model has no layer/,
    );
    model.dispose();
  });

  it('loadModel says so when model.json has one Dense head per task where this version fuses them', async () => {
    // A model whose heads stay separate (a head coupling reads them together with the head of c,
    // which has a tower layer and so is never fused), then a plan.json without the coupling: this
    // version would fuse the heads of a and b, as an earlier version's model.json did not.
    const g = new TaskGraph({ input: { features: 3 } });
    for (const id of ['a', 'b', 'c']) g.addTask(id, { kind: 'regression' });
    const hard = plan(g, { strategy: 'hard', trunk: { units: [4] } });
    const p = {
      ...hard,
      towers: {
        ...hard.towers,
        c: {
          parent: hard.towers.c!.parent,
          layers: [{ units: 4, activation: 'relu' as const, dropout: 0, batchNorm: false }],
        },
      },
    };
    const coupled = {
      ...p,
      couplings: [
        {
          kind: 'laplacian' as const,
          layer: 'head' as const,
          strength: 0.1,
          pairs: [
            ['a', 'b', 0.5],
            ['b', 'c', 0.5],
          ] as Array<[string, string, number]>,
        },
      ],
    };
    const model = build(coupled);
    expect(model.layerNames.fusedHeads.size).toBe(0);
    const dir = path.join(root, 'unfused');
    await saveModel(model, dir);
    await fs.writeFile(path.join(dir, 'plan.json'), JSON.stringify(p));
    const error = await loadModel(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileError);
    expect((error as Error).message).toMatch(
      /has one Dense head per task where this version of mtgraph builds the heads that read one block as one layer \("heads\.[^"]+"\): the model was saved by an earlier version\. Train and save it again/,
    );
    model.dispose();
  });

  it('loadModel refuses truncated or missing weights', async () => {
    const { model, dir } = await saved('tree', 'truncated');
    const file = path.join(dir, 'weights.bin');
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, bytes.length - 4));
    await expect(loadModel(dir)).rejects.toThrow(
      /do not match .*model.json \(got \d+ bytes; the manifest needs \d+\)/,
    );
    await fs.rm(file);
    await expect(loadModel(dir)).rejects.toThrow(FileError);
    model.dispose();
  });

  it('loadModel refuses weights paths outside the folder and a missing folder', async () => {
    const { model, dir } = await saved('single', 'escape');
    const file = path.join(dir, 'model.json');
    const json = JSON.parse(await fs.readFile(file, 'utf8'));
    json.weightsManifest[0].paths = ['../escape/weights.bin'];
    await fs.writeFile(file, JSON.stringify(json));
    await expect(loadModel(dir)).rejects.toThrow(/must be a file name inside the model folder/);
    await expect(loadModel(path.join(root, 'nothing-here'))).rejects.toThrow(FileError);
    model.dispose();
  });

  it('loadModel refuses metadata of an unknown format version', async () => {
    const { model, dir } = await saved('clustered', 'meta');
    const file = path.join(dir, 'metadata.json');
    const meta = JSON.parse(await fs.readFile(file, 'utf8'));
    await fs.writeFile(file, JSON.stringify({ ...meta, formatVersion: 9 }));
    await expect(loadModel(dir)).rejects.toThrow(
      /unknown model format version .*got 9; expected 1/,
    );
    model.dispose();
  });

  it('loadModel leaks no tensors when it refuses', async () => {
    const { model, dir } = await saved('ple', 'leak');
    const other = plan(smallGraph(), { strategy: 'ple', trunk: { units: [6, 4] } });
    other.tasks = other.tasks.slice().reverse();
    await fs.writeFile(path.join(dir, 'plan.json'), JSON.stringify(other));
    const before = tf.memory().numTensors;
    await expect(loadModel(dir)).rejects.toThrow(FileError);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
