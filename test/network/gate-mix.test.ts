import * as tf from '@tensorflow/tfjs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { compile } from '../../src/network/index.js';
import { GateMix, gateMix } from '../../src/network/layers/gate-mix.js';
import { loadModel, saveModel } from '../../src/index.js';
import { sha256 } from '../../src/io/model-file.js';
import { removeDir, tempDir } from '../hardening/helpers.js';
import { smallGraph } from './helpers.js';

let root: string;
beforeAll(async () => {
  await initBackend();
  root = await tempDir('gate-mix');
});
afterAll(() => removeDir(root));

const maxDiff = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('GateMix', () => {
  it("computes Keras's Dot(axes 1) of gate weights and stacked experts, with the same gradients", () => {
    const w = tf.softmax(tf.randomNormal([7, 3], 0, 1, 'float32', 1)) as tf.Tensor2D;
    const E = tf.randomNormal([7, 3, 5], 0, 1, 'float32', 2) as tf.Tensor3D;
    const probe = tf.randomNormal([7, 5], 0, 1, 'float32', 3);
    const dot = tf.layers.dot({ axes: 1 });
    const loss = (mix: (a: tf.Tensor2D, b: tf.Tensor3D) => tf.Tensor) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(mix(a as tf.Tensor2D, b as tf.Tensor3D), probe)),
      );
    tf.dispose(dot.apply([w, E]) as tf.Tensor); // builds the Dot layer
    const before = tf.memory().numTensors;
    const ours = loss(gateMix)([w, E]);
    const keras = loss((a, b) => dot.apply([a, b]) as tf.Tensor)([w, E]);
    const value = gateMix(w, E);
    const reference = dot.apply([w, E]) as tf.Tensor;
    expect(value.shape).toEqual([7, 5]);
    expect(maxDiff(value, reference)).toBeLessThan(1e-5);
    expect(maxDiff(ours[0]!, keras[0]!)).toBeLessThan(1e-5);
    expect(maxDiff(ours[1]!, keras[1]!)).toBeLessThan(1e-5);
    expect(tf.tidy(() => tf.sum(tf.abs(ours[0]!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([...ours, ...keras, value, reference]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, E, probe]);
  });

  it('is serialisable and refuses inputs of the wrong rank', () => {
    const layer = new GateMix({ name: 'g.mix' });
    const config = layer.getConfig();
    const again = tf.layers.Layer.fromConfig(
      GateMix,
      JSON.parse(JSON.stringify(config)),
    ) as GateMix;
    expect(again.getConfig()).toEqual(config);
    expect(tf.serialization.SerializationMap.getMap().classNameMap.MtgraphGateMix?.[0]).toBe(
      GateMix,
    );
    expect(() =>
      layer.computeOutputShape([
        [null, 3],
        [null, 3],
      ]),
    ).toThrow(/experts \[batch, k, d\]/);
  });

  it('an MMoE saved with Dot layers (before GateMix) loads and predicts as the same model with GateMix', async () => {
    const model = compile(smallGraph(), {
      strategy: 'mmoe',
      trunk: { units: [6] },
      mmoe: { experts: 3 },
    });
    const dir = path.join(root, 'old-mmoe');
    await saveModel(model, dir);
    const file = path.join(dir, 'model.json');
    const json = await readFile(file, 'utf8');
    const old = json.replaceAll(
      '"class_name":"MtgraphGateMix","config":{',
      '"class_name":"Dot","config":{"axes":1,"normalize":false,',
    );
    expect(old).not.toBe(json);
    await writeFile(file, old);
    // As the older save recorded it: metadata.json holds each file's SHA-256.
    const metaFile = path.join(dir, 'metadata.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8'));
    meta.sha256['model.json'] = sha256(old);
    await writeFile(metaFile, JSON.stringify(meta));
    const loaded = await loadModel(dir);
    expect(loaded.model.layers.filter((l) => l.getClassName() === 'Dot')).toHaveLength(
      model.plan.gates.length,
    );
    const x = tf.randomNormal([6, model.plan.input.features], 0, 1, 'float32', 4);
    const a = model.model.predict(x) as tf.Tensor[];
    const b = loaded.model.predict(x) as tf.Tensor[];
    a.forEach((t, i) => expect(maxDiff(t, b[i]!)).toBeLessThan(1e-6));
    tf.dispose([x, ...a, ...b]);
    model.dispose();
    loaded.dispose();
  });
});
