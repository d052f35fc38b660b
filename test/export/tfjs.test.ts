import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel } from '../../src/export/index.js';
import { OptionsError } from '../../src/index.js';
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
  tfjsUrl,
  writeFiles,
} from './helpers.js';
import { scaled } from '../timeouts.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('export-tfjs');
});
afterAll(() => removeDir(root));

/** Layer classes of stock tfjs-layers the export may use. */
const STANDARD = new Set([
  'InputLayer',
  'Dense',
  'BatchNormalization',
  'Activation',
  'Reshape',
  'Concatenate',
  'Dot',
  'Add',
  'Multiply',
]);

describe('exportModel tfjs', () => {
  it('plain tf.loadLayersModel (a child process without mtgraph) predicts what predict does, for every strategy, fused and scaled heads', {
    timeout: scaled(240_000),
  }, async () => {
    const x = inputRows(33);
    const expected: Record<string, Record<string, number[]>> = {};
    const tasks: Record<string, Array<{ task: string; name: string; units: number }>> = {};
    const jobs: Array<{ dir: string; x: number[][] }> = [];
    for (const c of exportCases()) {
      const model = exportFixture(c);
      const before = tf.memory().numTensors;
      const result = await exportModel(model, { format: 'tfjs' });
      expect(tf.memory().numTensors).toBe(before);
      const topology = result.files.find(([n]) => n === 'model.json')![1] as string;
      expect(topology).not.toMatch(/Mtgraph|CrossStitch/);
      const dir = path.join(root, caseName(c));
      await writeFiles(dir, result.files);
      expected[dir] = mtgraphPredictions(model, x);
      tasks[dir] = result.signature.outputs.map((o) => ({
        task: o.task,
        name: o.name,
        units: o.units,
      }));
      jobs.push({ dir, x });
      model.dispose();
    }
    const jobsFile = path.join(root, 'jobs.json');
    await fs.writeFile(jobsFile, JSON.stringify(jobs));
    const script = path.join(import.meta.dirname, 'plain-tfjs.mjs');
    const { stdout } = await run(process.execPath, [script, tfjsUrl(), jobsFile], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const results = JSON.parse(stdout) as Array<{
      dir: string;
      names: string[];
      classes: string[];
      values: number[][];
    }>;
    expect(results).toHaveLength(exportCases().length);
    for (const r of results) {
      for (const c of r.classes) expect(STANDARD.has(c), `${r.dir}: ${c}`).toBe(true);
      const outs = tasks[r.dir]!;
      expect(r.names).toEqual(outs.map((o) => o.name));
      outs.forEach((o, i) => {
        const want = expected[r.dir]![o.task]!;
        expect(r.values[i]!.length, `${r.dir} ${o.task}`).toBe(x.length * o.units);
        expect(maxDiff(r.values[i]!, want), `${r.dir} ${o.task}`).toBeLessThanOrEqual(1e-5);
      });
    }
  });

  it('writes a signature with each task: output name, kind, classes and units', async () => {
    const model = exportFixture();
    const { signature, files } = await exportModel(model, { format: 'tfjs' });
    model.dispose();
    expect(files.map(([n]) => n)).toEqual(['model.json', 'weights.bin', 'signature.json']);
    expect(signature.inputs).toEqual([{ name: 'input', shape: [null, 5], dtype: 'float32' }]);
    expect(signature.outputs.map((o) => [o.task, o.kind, o.units, o.classes.length])).toEqual([
      ['click', 'binary', 1, 1],
      ['segment id/2', 'multiclass', 3, 3],
      ['spend', 'regression', 1, 1],
      ['tags', 'multilabel', 2, 2],
    ]);
    expect(signature.outputs[1]!.name).toMatch(/^segment_id_2/);
  });

  it('refuses an unknown format with the known ones', async () => {
    const model = exportFixture();
    await expect(exportModel(model, { format: 'keras' })).rejects.toThrow(OptionsError);
    await expect(exportModel(model, { format: 'keras' })).rejects.toThrow(/expected one of tfjs/);
    model.dispose();
  });
});
