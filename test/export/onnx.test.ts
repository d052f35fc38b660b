import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportModel } from '../../src/export/index.js';
import { compile, OptionsError, predict, readCsv, TaskGraph } from '../../src/index.js';
import type { MtgraphModel } from '../../src/network/types.js';
import { scrambleWeights } from '../network/helpers.js';
import { cpu } from '../train/fixture.js';
import {
  caseName,
  exportCases,
  exportFixture,
  inputRows,
  maxDiff,
  mtgraphPredictions,
} from './helpers.js';
import { scaled } from '../timeouts.js';

beforeAll(cpu);

async function onnxOf(model: MtgraphModel, withPreprocessing = false) {
  const result = await exportModel(model, { format: 'onnx', withPreprocessing });
  const bytes = result.files.find(([n]) => n === 'model.onnx')![1] as Uint8Array;
  return { result, bytes, session: await ort.InferenceSession.create(bytes) };
}

async function runOnnx(
  session: ort.InferenceSession,
  input: string,
  x: number[][],
): Promise<Record<string, Float32Array>> {
  const flat = Float32Array.from(x.flat());
  const out = await session.run({
    [input]: new ort.Tensor('float32', flat, [x.length, x[0]!.length]),
  });
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

describe('exportModel onnx', () => {
  it('onnxruntime-node predicts what predict does, for every strategy, fused and scaled heads', {
    timeout: scaled(240_000),
  }, async () => {
    const x = inputRows(29);
    for (const c of exportCases()) {
      const model = exportFixture(c);
      const before = tf.memory().numTensors;
      const { result, bytes, session } = await onnxOf(model);
      expect(tf.memory().numTensors).toBe(before);
      const decoded = onnxProto.onnx.ModelProto.decode(bytes);
      expect(Number(decoded.opsetImport[0]!.version)).toBeGreaterThanOrEqual(13);
      expect(session.outputNames).toEqual(model.plan.tasks.map((t) => t.id));
      expect(result.signature.outputs.map((o) => o.name)).toEqual(session.outputNames);
      const want = mtgraphPredictions(model, x);
      const got = await runOnnx(session, 'input', x);
      for (const t of model.plan.tasks) {
        expect(got[t.id]!.length, `${caseName(c)} ${t.id}`).toBe(x.length * t.outputs);
        expect(maxDiff(got[t.id]!, want[t.id]!), `${caseName(c)} ${t.id}`).toBeLessThanOrEqual(
          1e-5,
        );
      }
      await session.release();
      model.dispose();
    }
  });

  it.each([
    ['one-hot', {}],
    ['codes', { maxOneHot: 2 }],
  ] as const)(
    'with preprocessing, takes the raw columns (category indices) and standardises, fills and encodes them (%s)',
    async (encoding, options) => {
      const rows: string[] = ['size,colour,age,y,z'];
      const colours = ['red', 'green', 'blue'];
      for (let i = 0; i < 60; i++) {
        const size = i % 7 === 0 ? '' : String(10 + ((i * 37) % 23));
        const age = String(((i * 13) % 50) + 0.5);
        rows.push(`${size},${colours[i % 3]},${age},${(i * 7) % 11},${i % 2}`);
      }
      const g = new TaskGraph();
      g.addTask('y', { kind: 'regression' });
      g.addTask('z', { kind: 'binary' });
      g.addAffinity('y', 'z', { weight: 0.5 });
      const csv = await readCsv({ text: rows.join('\n') }, g, { impute: 'mean', ...options });
      const model = compile(g, {
        strategy: 'hard',
        trunk: { units: [6] },
        input: { columns: csv.columns },
        seed: 1,
      });
      scrambleWeights(model.model, 4);
      model.metadata.preprocessing = csv.preprocessing;
      const { result, session } = await onnxOf(model, true);
      expect(result.signature.inputs[0]).toMatchObject({
        name: 'features',
        columns: ['size', 'colour', 'age'],
      });
      expect(result.signature.preprocessing?.included).toBe(true);
      const features = csv.preprocessing.features;
      const raw = rows.slice(1).map((line) =>
        line
          .split(',')
          .slice(0, 3)
          .map((cell, j) => {
            const f = features[j]!;
            if (f.type === 'numeric') return cell === '' ? Number.NaN : Number(cell);
            return 'categories' in f ? f.categories.indexOf(cell) : Number.NaN;
          }),
      );
      expect(features.map((f) => f.type)).toEqual(['numeric', encoding, 'numeric']);
      const got = await runOnnx(session, 'features', raw);
      const out = predict(model, csv.data.x);
      for (const t of ['y', 'z']) {
        expect(maxDiff(got[t]!, out[t]!.dataSync()), t).toBeLessThanOrEqual(1e-5);
        out[t]!.dispose();
      }
      await session.release();
      model.dispose();
    },
  );

  it('refuses withPreprocessing for a model without a saved preprocessing, and for tfjs', async () => {
    const model = exportFixture();
    await expect(exportModel(model, { format: 'tfjs', withPreprocessing: true })).rejects.toThrow(
      /the tfjs format cannot include the input preprocessing.*expected it with onnx/,
    );
    await expect(exportModel(model, { format: 'onnx', withPreprocessing: true })).rejects.toThrow(
      OptionsError,
    );
    model.dispose();
  });
});
