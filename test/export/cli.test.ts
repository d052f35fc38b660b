import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel } from '../../src/export/index.js';
import { loadModel, saveModel } from '../../src/index.js';
import { cli } from '../cli/helpers.js';
import { removeDir, tempDir } from '../hardening/helpers.js';
import { cpu } from '../train/fixture.js';
import { exportFixture, inputRows, maxDiff, mtgraphPredictions } from './helpers.js';

let root: string;
let modelDir: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('export-cli');
  modelDir = path.join(root, 'model');
  const model = exportFixture();
  await saveModel(model, modelDir);
  model.dispose();
});
afterAll(() => removeDir(root));

describe('mtgraph export', () => {
  it('writes an ONNX export with its signature, and replaces an earlier export', async () => {
    const out = path.join(root, 'onnx');
    const first = await cli('export', modelDir, '--format', 'onnx', '--out', out, '--quiet');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect((await fs.readdir(out)).sort()).toEqual(['model.onnx', 'signature.json']);
    const signature = JSON.parse(await fs.readFile(path.join(out, 'signature.json'), 'utf8'));
    expect(signature.outputs.map((o: { task: string }) => o.task)).toEqual([
      'click',
      'segment id/2',
      'spend',
      'tags',
    ]);
    const again = await cli('export', modelDir, '--format', 'tfjs', '--out', out, '--quiet');
    expect(again.code).toBe(0);
    expect((await fs.readdir(out)).sort()).toEqual(['model.json', 'signature.json', 'weights.bin']);
  });

  it('mtgraph import brings the weights of a pytorch export into a model folder', async () => {
    const torch = path.join(root, 'torch');
    expect((await cli('export', modelDir, '--format', 'pytorch', '--out', torch, '-q')).code).toBe(
      0,
    );
    // Other weights: the source model's, scrambled with another seed, exported by the API.
    const other = exportFixture(undefined, 8);
    const { files } = await exportModel(other, { format: 'pytorch' });
    const weights = path.join(root, 'other.safetensors');
    await fs.writeFile(weights, files.find(([n]) => n === 'weights.safetensors')![1]);
    const out = path.join(root, 'imported');
    const r = await cli('import', modelDir, '--weights', weights, '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const imported = await loadModel(out);
    const x = inputRows(5);
    const want = mtgraphPredictions(other, x);
    const got = mtgraphPredictions(imported, x);
    for (const t of Object.keys(want))
      expect(maxDiff(got[t]!, want[t]!), t).toBeLessThanOrEqual(1e-6);
    const bad = await cli(
      'import',
      modelDir,
      '--weights',
      path.join(torch, 'model.py'),
      '--out',
      out,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not a readable safetensors/);
    other.dispose();
    imported.dispose();
  });

  it('refuses a folder holding other files, and an unknown format, before writing', async () => {
    const foreign = path.join(root, 'foreign');
    await fs.mkdir(foreign);
    await fs.writeFile(path.join(foreign, 'notes.txt'), 'mine');
    const r = await cli('export', modelDir, '--format', 'onnx', '--out', foreign);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/notes\.txt/);
    expect(await fs.readdir(foreign)).toEqual(['notes.txt']);
    const bad = await cli('export', modelDir, '--format', 'keras', '--out', path.join(root, 'k'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown format.*tfjs, onnx/);
  });
});
