import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compile, type MtgraphModel } from '../../src/network/index.js';
import { FileError, type MtgraphError, PlanError } from '../../src/errors.js';
import { loadGraph, saveGraph } from '../../src/io/graph-file.js';
import { MAX_JSON_BYTES } from '../../src/io/files.js';
import { loadModel, MAX_WEIGHT_BYTES, saveModel } from '../../src/io/model-file.js';
import { cpu } from '../train/fixture.js';
import { scrambleWeights, smallGraph } from '../network/helpers.js';
import { prototypeSnapshot, prototypesUntouched, removeDir, tempDir, thrown } from './helpers.js';

/**
 * Files that lie: oversized, truncated, mismatched, of unknown versions, or crafted to pollute
 * prototypes, are refused with an MtgraphError; saving is atomic, and a save interrupted between
 * its two renames is recovered.
 */

let root: string;
const snapshot = prototypeSnapshot();
beforeAll(async () => {
  await cpu();
  root = await tempDir('files');
});
afterAll(() => removeDir(root));

let counter = 0;
/** A model with scrambled weights, saved to a new folder. */
async function savedModel(
  strategy = 'hard',
  seed = 1,
): Promise<{ model: MtgraphModel; dir: string }> {
  const model = compile(smallGraph(), { strategy, trunk: { units: [4] } });
  scrambleWeights(model.model, seed);
  model.metadata.owner = 'hardening';
  const dir = path.join(root, `model-${++counter}`);
  await saveModel(model, dir);
  return { model, dir };
}

async function hidden(dir: string): Promise<string[]> {
  const base = path.basename(dir);
  return (await fs.readdir(path.dirname(dir))).filter((f) => f.startsWith(`.${base}.`));
}

async function predictions(model: MtgraphModel): Promise<number[]> {
  const x = tf.ones([2, 5]);
  const out = model.model.predict(x) as tf.Tensor[];
  const values = out.flatMap((t) => Array.from(t.dataSync()));
  tf.dispose([x, ...out]);
  return values;
}

async function expectRefused(
  dir: string,
  pattern: RegExp,
  ErrorClass: typeof MtgraphError = FileError,
): Promise<void> {
  const before = tf.memory().numTensors;
  const error = await thrown(() => loadModel(dir));
  expect(error).toBeInstanceOf(ErrorClass);
  expect((error as Error).message).toMatch(pattern);
  expect(tf.memory().numTensors).toBe(before);
  expect(prototypesUntouched(snapshot)).toBe(true);
}

describe('loadModel and loadGraph refuse oversized and truncated files', () => {
  it(`loadModel refuses a model.json, plan.json or metadata.json over ${MAX_JSON_BYTES} bytes and a weights.bin over ${MAX_WEIGHT_BYTES} bytes, before reading them`, async () => {
    for (const [file, limit] of [
      ['model.json', MAX_JSON_BYTES],
      ['plan.json', MAX_JSON_BYTES],
      ['metadata.json', MAX_JSON_BYTES],
      ['weights.bin', MAX_WEIGHT_BYTES],
    ] as const) {
      const { model, dir } = await savedModel();
      await fs.truncate(path.join(dir, file), limit + 1); // sparse: no disk used
      await expectRefused(
        dir,
        new RegExp(
          `${file.replace('.', '\\.')} is too large \\(got ${limit + 1} bytes; the limit is ${limit}\\)`,
        ),
      );
      model.dispose();
    }
  });

  it(`loadGraph refuses a graph file over ${MAX_JSON_BYTES} bytes, an empty one, a truncated one and a folder`, async () => {
    const file = path.join(root, 'big.json');
    await fs.writeFile(file, '');
    await expect(loadGraph(file)).rejects.toThrow(/is not valid JSON \(the file is empty\)/);
    await fs.truncate(file, MAX_JSON_BYTES + 1);
    await expect(loadGraph(file)).rejects.toThrow(
      new RegExp(`too large \\(got ${MAX_JSON_BYTES + 1} bytes; the limit is ${MAX_JSON_BYTES}\\)`),
    );
    await saveGraph(smallGraph(), file);
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.slice(0, text.length - 10));
    await expect(loadGraph(file)).rejects.toThrow(FileError);
    await expect(loadGraph(root)).rejects.toThrow(/is not a regular file \(got a folder\)/);
  });

  it('loadModel refuses every truncated file of a saved model', async () => {
    for (const file of ['model.json', 'plan.json', 'metadata.json', 'graph.json', 'weights.bin']) {
      const { model, dir } = await savedModel();
      const p = path.join(dir, file);
      const bytes = await fs.readFile(p);
      await fs.writeFile(p, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await expectRefused(
        dir,
        file === 'weights.bin'
          ? /do not match .*model\.json \(got \d+ bytes; the manifest needs \d+\)/
          : /is not valid JSON/,
      );
      model.dispose();
    }
  });
});

describe('loadModel refuses files that do not belong together', () => {
  it('loadModel refuses a weights.bin of another save of the same model (same size), by its SHA-256', async () => {
    const a = await savedModel('soft', 1);
    const b = await savedModel('soft', 2);
    await fs.copyFile(path.join(b.dir, 'weights.bin'), path.join(a.dir, 'weights.bin'));
    await expectRefused(
      a.dir,
      /weights\.bin in .* does not match metadata\.json \(its SHA-256 differs/,
    );
    [a.model, b.model].forEach((m) => m.dispose());
  });

  it('loadModel refuses a model.json or graph.json of another model, and a flipped byte anywhere', async () => {
    const a = await savedModel('hard');
    const b = await savedModel('mmoe');
    await fs.copyFile(path.join(b.dir, 'model.json'), path.join(a.dir, 'model.json'));
    await expectRefused(a.dir, /do not match|does not match/);
    const c = await savedModel('hard');
    const g = smallGraph();
    g.dropNode('spend');
    await fs.writeFile(path.join(c.dir, 'graph.json'), JSON.stringify(g.export()));
    await expectRefused(c.dir, /graph\.json does not match plan\.json .*"spend"/);
    const d = await savedModel('tree');
    const p = path.join(d.dir, 'weights.bin');
    const bytes = await fs.readFile(p);
    bytes[7] = bytes[7]! ^ 0x10;
    await fs.writeFile(p, bytes);
    await expectRefused(d.dir, /weights\.bin in .* does not match metadata\.json/);
    [a, b, c, d].forEach((s) => s.model.dispose());
  });

  it('loadModel refuses a listed file that is missing, non-finite weights and a malformed weight spec', async () => {
    const a = await savedModel();
    await fs.rm(path.join(a.dir, 'graph.json'));
    await expectRefused(a.dir, /graph file .* \(ENOENT\)/);
    const b = await savedModel();
    const weights = path.join(b.dir, 'weights.bin');
    const bytes = await fs.readFile(weights);
    new DataView(bytes.buffer, bytes.byteOffset).setFloat32(0, NaN, true);
    await fs.writeFile(weights, bytes);
    const metaFile = path.join(b.dir, 'metadata.json');
    const meta = JSON.parse(await fs.readFile(metaFile, 'utf8'));
    delete meta.sha256; // an older save without checksums: the values themselves are still checked
    await fs.writeFile(metaFile, JSON.stringify(meta));
    await expectRefused(b.dir, /hold a NaN or infinite value/);
    const c = await savedModel();
    const modelFile = path.join(c.dir, 'model.json');
    const json = JSON.parse(await fs.readFile(modelFile, 'utf8'));
    json.weightsManifest[0].weights[0].dtype = 'constructor';
    await fs.writeFile(modelFile, JSON.stringify(json));
    await expectRefused(c.dir, /a weight spec is malformed/);
    [a, b, c].forEach((s) => s.model.dispose());
  });

  it('loadModel refuses plans and metadata of versions it does not know', async () => {
    const a = await savedModel();
    const planFile = path.join(a.dir, 'plan.json');
    await fs.writeFile(
      planFile,
      (await fs.readFile(planFile, 'utf8')).replace('"version": 1', '"version": 2'),
    );
    await expectRefused(a.dir, /unknown plan version \(got 2; expected 1\)/, PlanError);
    const b = await savedModel();
    const metaFile = path.join(b.dir, 'metadata.json');
    await fs.writeFile(
      metaFile,
      (await fs.readFile(metaFile, 'utf8')).replace('"formatVersion": 1', '"formatVersion": 99'),
    );
    await expectRefused(b.dir, /unknown model format version .* \(got 99; expected 1\)/);
    [a, b].forEach((s) => s.model.dispose());
  });
});

describe('__proto__ keys in files cannot pollute prototypes', () => {
  const CRAFTED: Array<[string, string, (text: string) => string]> = [
    [
      'model.json',
      'modelTopology.__proto__',
      (t) => t.replace('"modelTopology":{', '"modelTopology":{"__proto__":{"polluted":1},'),
    ],
    [
      'model.json',
      'a layer config.constructor',
      (t) => t.replace('"config":{', '"config":{"constructor":{"prototype":{"polluted":1}},'),
    ],
    [
      'plan.json',
      'towers.__proto__',
      (t) => t.replace('"towers": {', '"towers": {"__proto__": {"polluted": 1},'),
    ],
    [
      'metadata.json',
      'metadata.__proto__',
      (t) => t.replace('"metadata": {', '"metadata": {"__proto__": {"polluted": 1},'),
    ],
    [
      'metadata.json',
      'sha256.__proto__',
      (t) => t.replace('"sha256": {', '"sha256": {"__proto__": "00",'),
    ],
    [
      'graph.json',
      '__proto__ 50 levels down an attribute',
      (t) =>
        t.replace(
          '"attributes": {',
          `"attributes": {"description": "x", "label": ${'{"a": '.repeat(50)}{"__proto__": {"polluted": 1}}${'}'.repeat(50)},`,
        ),
    ],
  ];

  it.each(CRAFTED)(
    'loadModel refuses a crafted %s (%s) and leaves every prototype untouched',
    async (file, _where, craft) => {
      const { model, dir } = await savedModel();
      const p = path.join(dir, file);
      const text = await fs.readFile(p, 'utf8');
      const crafted = craft(text);
      expect(crafted).not.toBe(text);
      await fs.writeFile(p, crafted);
      await expectRefused(dir, /the key "(__proto__|constructor)" is not allowed in the .* file/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      model.dispose();
    },
  );

  it('loadGraph refuses __proto__ deeper than any nesting limit', async () => {
    const file = path.join(root, 'deep.json');
    const deep = `${'['.repeat(5000)}{"__proto__": {"polluted": 1}}${']'.repeat(5000)}`;
    await fs.writeFile(
      file,
      `{"nodes": [{"key": "a", "attributes": {"kind": "binary"}}], "edges": [], "attributes": {"description": "d"}, "x": ${deep}}`,
    );
    const error = await thrown(() => loadGraph(file));
    expect(error).toBeInstanceOf(FileError);
    expect((error as FileError).got).toMatch(/^x(\[0\]){5000}\.__proto__$/);
    expect(prototypesUntouched(snapshot)).toBe(true);
  });
});

describe('saveModel is atomic', () => {
  it('saveModel that fails while writing weights.bin leaves the previous model intact and no temporary folder', async () => {
    const { model, dir } = await savedModel('soft', 1);
    const before = await predictions(model);
    const previous = await fs.readFile(path.join(dir, 'weights.bin'));
    scrambleWeights(model.model, 77);
    const real = fs.writeFile;
    const spy = vi.spyOn(fs, 'writeFile').mockImplementation(async (file, ...rest) => {
      if (String(file).endsWith('weights.bin'))
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      return real(file, ...rest);
    });
    try {
      const error = await thrown(() => saveModel(model, dir));
      expect(error).toBeInstanceOf(FileError);
      expect((error as Error).message).toMatch(
        /^mtgraph\/io: cannot write the model to .*: the disk is full \(ENOSPC\)\. .*The previous model, if any, is unchanged\.$/,
      );
    } finally {
      spy.mockRestore();
    }
    expect(await fs.readFile(path.join(dir, 'weights.bin'))).toEqual(previous);
    expect(await hidden(dir)).toEqual([]);
    const again = await loadModel(dir);
    expect(await predictions(again)).toEqual(before);
    [model, again].forEach((m) => m.dispose());
  });

  it('a save that dies between its two renames is undone by the next loadModel: the previous model comes back', async () => {
    const { model, dir } = await savedModel('clustered', 3);
    const before = await predictions(model);
    scrambleWeights(model.model, 78);
    const real = fs.rename;
    let calls = 0;
    // The crash: the first rename (dir -> .old) happens, then nothing else does.
    const spy = vi.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      if (++calls === 1) return real(from, to);
      throw Object.assign(new Error('killed'), { code: 'EINTR' });
    });
    try {
      await expect(saveModel(model, dir)).rejects.toThrow(FileError);
    } finally {
      spy.mockRestore();
    }
    await expect(fs.stat(dir)).rejects.toThrow(); // the gap: no model folder ...
    expect((await hidden(dir)).filter((f) => f.endsWith('.old'))).toHaveLength(1); // ... but the previous one, hidden
    const again = await loadModel(dir);
    expect(await predictions(again)).toEqual(before);
    expect(await hidden(dir)).toEqual([]);
    await fs.stat(dir);
    [model, again].forEach((m) => m.dispose());
  });

  it('saveModel into the gap restores the previous model first, then replaces it; leftovers of a finished save are removed', async () => {
    const { model, dir } = await savedModel('hard', 4);
    const parent = path.dirname(dir);
    const base = path.basename(dir);
    // A crash in the gap, made by hand: the previous model hidden as .old, a half-written .tmp.
    await fs.rename(dir, path.join(parent, `.${base}.0123456789ab.old`));
    await fs.mkdir(path.join(parent, `.${base}.0123456789ab.tmp`));
    await fs.writeFile(path.join(parent, `.${base}.0123456789ab.tmp`, 'model.json'), '{"half');
    scrambleWeights(model.model, 79);
    const now = await predictions(model);
    await saveModel(model, dir);
    expect(await hidden(dir)).toEqual([]);
    expect(
      await predictions(
        await loadModel(dir).then((m) => {
          setTimeout(() => m.dispose());
          return m;
        }),
      ),
    ).toEqual(now);
    // A crash after the second rename leaves only a stale .old: removed by the next load.
    await fs.cp(dir, path.join(parent, `.${base}.aaaaaaaaaaaa.old`), { recursive: true });
    const again = await loadModel(dir);
    expect(await hidden(dir)).toEqual([]);
    [model, again].forEach((m) => m.dispose());
  });

  it('saveGraph writes atomically: a failed write leaves the previous file', async () => {
    const file = path.join(root, 'atomic-graph.json');
    await saveGraph(smallGraph(), file);
    const before = await fs.readFile(file, 'utf8');
    const g = smallGraph();
    g.addTask('extra', { kind: 'binary' });
    const spy = vi
      .spyOn(fs, 'rename')
      .mockRejectedValue(Object.assign(new Error('denied'), { code: 'EACCES' }));
    try {
      await expect(saveGraph(g, file)).rejects.toThrow(
        /cannot move the new graph file into place at .*: permission denied \(EACCES\)/,
      );
    } finally {
      spy.mockRestore();
    }
    expect(await fs.readFile(file, 'utf8')).toBe(before);
    expect((await fs.readdir(root)).filter((f) => f.startsWith('.atomic-graph'))).toEqual([]);
  });
});
