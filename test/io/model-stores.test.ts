/** saveModel / loadModel's forms besides folders: the files in memory, http(s) URLs, IndexedDB outside a browser. */
import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileError,
  OptionsError,
  compile,
  loadModel,
  saveModel,
  type MtgraphModel,
} from '../../src/index.js';
import { MAX_JSON_BYTES } from '../../src/io/limits.js';
import { scrambleWeights, smallGraph } from '../network/helpers.js';
import { cpu } from '../train/fixture.js';

let model: MtgraphModel;
let root: string;
let server: Server;
let base: string;
const x = tf.tensor2d(
  Array.from({ length: 5 * 5 }, (_, i) => Math.sin(i)),
  [5, 5],
);

beforeAll(async () => {
  await cpu();
  model = compile(smallGraph(), { strategy: 'hard', trunk: { units: [6, 4] } });
  scrambleWeights(model.model, 3);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'mtgraph-stores-'));
  await saveModel(model, path.join(root, 'm'));
  // A static server for the saved folder, with a route that lies about its size.
  server = createServer(async (req, res) => {
    const name = decodeURIComponent(req.url!.split('?')[0]!).replace(/^\/+/, '');
    if (name === 'huge/model.json') {
      res.writeHead(200, { 'content-length': String(MAX_JSON_BYTES + 1) });
      res.end();
      return;
    }
    try {
      const bytes = await fs.readFile(path.join(root, name));
      res.writeHead(200, { 'content-length': bytes.length });
      res.end(bytes);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  x.dispose();
  model.model.dispose();
  await new Promise((resolve) => server.close(resolve));
  await fs.rm(root, { recursive: true, force: true });
});

function maxDiff(a: MtgraphModel, b: MtgraphModel): number {
  return tf.tidy(() => {
    const ya = a.model.predict(x) as tf.Tensor[];
    const yb = b.model.predict(x) as tf.Tensor[];
    return Math.max(...ya.map((y, i) => tf.max(tf.abs(tf.sub(y, yb[i]!))).dataSync()[0]!));
  });
}

describe('saveModel / loadModel in memory and over http', () => {
  it('saveModel(model) returns the files in memory, and loadModel({ files }) gives the same predictions', async () => {
    const memory = await saveModel(model);
    expect(Object.keys(memory.files).sort()).toEqual([
      'graph.json',
      'metadata.json',
      'model.json',
      'plan.json',
      'weights.bin',
    ]);
    expect(Object.values(memory.files).every((f) => f instanceof Uint8Array)).toBe(true);
    const before = tf.memory().numTensors;
    const again = await loadModel(memory);
    expect(maxDiff(model, again)).toBe(0);
    expect(again.plan).toEqual(model.plan);
    again.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the in-memory files are byte for byte the files of a saved folder (but the time stamp)', async () => {
    const memory = await saveModel(model);
    for (const name of ['model.json', 'weights.bin', 'plan.json', 'graph.json']) {
      const file = await fs.readFile(path.join(root, 'm', name));
      expect(Buffer.from(memory.files[name]!).equals(file), name).toBe(true);
    }
  });

  it('loadModel refuses in-memory files whose checksum, size or finiteness is wrong, as for folders', async () => {
    const memory = await saveModel(model);
    const tampered = {
      files: { ...memory.files, 'weights.bin': memory.files['weights.bin']!.slice() },
    };
    tampered.files['weights.bin'][0]! ^= 1;
    await expect(loadModel(tampered)).rejects.toThrow(
      /weights\.bin in the in-memory files does not match metadata\.json \(its SHA-256 differs/,
    );
    const short = {
      files: { ...memory.files, 'weights.bin': memory.files['weights.bin']!.slice(4) },
    };
    await expect(loadModel(short)).rejects.toThrow(
      /weights in the in-memory files do not match .*model\.json \(got \d+ bytes; the manifest needs \d+\)/,
    );
    const { 'plan.json': _, ...rest } = memory.files;
    await expect(loadModel({ files: rest })).rejects.toThrow(FileError);
    await expect(loadModel({ files: rest })).rejects.toThrow(
      /plan file plan\.json is missing from the in-memory files/,
    );
  });

  it('loadModel takes picked files named <name>-<file>, as a downloads:// save names them', async () => {
    const memory = await saveModel(model);
    const picked = Object.entries(memory.files).map(([name, bytes]) => ({
      name: `mine-${name}`,
      arrayBuffer: async () => bytes.slice().buffer,
    }));
    const again = await loadModel(picked);
    expect(maxDiff(model, again)).toBe(0);
    again.model.dispose();
  });

  it('loadModel reads an http URL of a saved folder (or its model.json) with the same checks', async () => {
    for (const url of [`${base}/m`, `${base}/m/`, `${base}/m/model.json`]) {
      const again = await loadModel(url);
      expect(maxDiff(model, again), url).toBe(0);
      again.model.dispose();
    }
    await expect(loadModel(`${base}/missing`)).rejects.toThrow(
      /cannot read the model file http:\/\/127\.0\.0\.1:\d+\/missing\/model\.json \(got HTTP 404\)/,
    );
    await expect(loadModel(`${base}/huge`)).rejects.toThrow(
      new RegExp(`too large \\(got ${MAX_JSON_BYTES + 1} bytes; the limit is ${MAX_JSON_BYTES}\\)`),
    );
  });

  it('indexeddb:// outside a browser, downloads:// for loading and a URL for saving are refused in words', async () => {
    await expect(saveModel(model, 'indexeddb://m')).rejects.toThrow(
      /indexeddb:\/\/m needs IndexedDB, which this environment does not have/,
    );
    await expect(loadModel('downloads://m')).rejects.toThrow(OptionsError);
    await expect(saveModel(model, 'https://example.com/m')).rejects.toThrow(
      /saveModel cannot write to a URL/,
    );
    await expect(saveModel(model, 'indexeddb://')).rejects.toThrow(
      /needs a model name after the scheme/,
    );
  });
});
