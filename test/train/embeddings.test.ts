import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  fit,
  fitVocabularies,
  initBackend,
  loadModel,
  predict,
  saveModel,
  TaskGraph,
} from '../../src/index.js';
import { rocAuc } from '../../src/train/metrics/functions.js';
import type { MtgraphModel } from '../../src/network/types.js';
import { removeDir, tempDir, thrown } from '../hardening/helpers.js';
import { scaled } from '../timeouts.js';
import { cpu, rng, weightsOf } from './fixture.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('train-embeddings');
});
afterAll(() => removeDir(root));

/**
 * A family where a high-cardinality category drives the targets: `user` has V values, each with
 * its own effect (no order: its code says nothing), plus two numeric columns; click is binary,
 * spend regression, both from the user's effect.
 */
function family(rows: number, V: number, seed: number) {
  const next = rng(seed);
  const effect = Array.from({ length: V }, () => next() * 2 - 1);
  const x: number[][] = [];
  const click: number[] = [];
  const spend: number[] = [];
  for (let r = 0; r < rows; r++) {
    const u = Math.floor(next() * V);
    const a = next() * 2 - 1;
    const b = next() * 2 - 1;
    x.push([a, 100 + u * 7, b]);
    const z = 2.5 * effect[u]! + 0.5 * a;
    click.push(next() < 1 / (1 + Math.exp(-3 * z)) ? 1 : 0);
    spend.push(effect[u]! + 0.2 * b);
  }
  return { x, y: { click, spend } };
}

const COLUMNS = ['a', 'user', 'b'];

function graph(embed = true, chains = false): TaskGraph {
  const g = new TaskGraph({
    input: { columns: COLUMNS, ...(embed ? { embed: { user: { dim: 6, minCount: 2 } } } : {}) },
  });
  g.addTask('click', { kind: 'binary' });
  g.addTask('spend', {
    kind: 'regression',
    ...(chains ? { reads: ['click'], inputs: ['b'] } : {}),
  } as never);
  g.addAffinity('click', 'spend', { weight: 0.7 });
  return g;
}

const STRATEGIES = [
  'single',
  'hard',
  'clustered',
  'tree',
  'soft',
  'cross-stitch',
  'mmoe',
  'ple',
  'auto',
] as const;

function model(strategy: string, train: { x: number[][] }, seed = 1, g = graph()): MtgraphModel {
  return compile(g, {
    strategy,
    seed,
    trunk: { units: [8] },
    tower: { units: [4] },
    mmoe: { experts: 2 },
    vocabularies: fitVocabularies(g, train),
  });
}

describe('training with embedded columns', () => {
  it('every strategy builds the shared table, trains (loss falls) and predicts without leaking tensors', {
    timeout: scaled(120_000),
  }, async () => {
    const data = family(300, 40, 3);
    for (const strategy of STRATEGIES) {
      const m = model(strategy, data);
      const tables = m.model.layers.filter((l) => l.getClassName() === 'Embedding');
      expect(
        tables.map((l) => l.name),
        strategy,
      ).toEqual(['embed.user']);
      const before = tf.memory().numTensors;
      const h = await fit(m, data, { epochs: 3, batchSize: 32, seed: 1, metrics: false });
      const out = predict(m, data.x.slice(0, 5), { as: 'arrays' });
      expect(tf.memory().numTensors, strategy).toBe(before);
      expect(h.loss.every(Number.isFinite), strategy).toBe(true);
      expect(h.loss.at(-1)!, strategy).toBeLessThan(h.loss[0]!);
      expect(out.click!.values, strategy).toHaveLength(5);
      m.dispose();
    }
  });

  it('task chains and per-task inputs still work beside an embedding', async () => {
    const data = family(300, 40, 4);
    for (const strategy of ['hard', 'mmoe']) {
      const m = model(strategy, data, 1, graph(true, true));
      const before = tf.memory().numTensors;
      const h = await fit(m, data, { epochs: 2, batchSize: 32, seed: 1, metrics: false });
      expect(tf.memory().numTensors).toBe(before);
      expect(h.loss.at(-1)!).toBeLessThan(h.loss[0]!);
      expect(m.plan.tasks.find((t) => t.id === 'spend')!.inputColumns).toEqual([2]);
      m.dispose();
    }
  });

  it('gradient balancers train it, mgda-UB reading the representation after the embedding', async () => {
    const data = family(200, 30, 9);
    for (const [balance, balanceOptions] of [
      ['pcgrad', undefined],
      ['mgda', { upperBound: true }],
      ['gradnorm', undefined],
    ] as const) {
      const m = model('hard', data);
      const before = tf.memory().numTensors;
      const h = await fit(m, data, {
        epochs: 2,
        batchSize: 32,
        seed: 1,
        metrics: false,
        balance,
        ...(balanceOptions ? { balanceOptions } : {}),
      });
      expect(tf.memory().numTensors, balance).toBe(before);
      expect(h.loss.every(Number.isFinite), balance).toBe(true);
      m.dispose();
    }
  });

  it('trains on wasm as on cpu (the scatter-add kernel): the same weights within float tolerance', {
    timeout: scaled(60_000),
  }, async () => {
    const { backend } = await initBackend();
    await cpu();
    if (backend !== 'wasm') return; // another engine (tfjs-node) has its own scatter-add
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    const data = family(200, 30, 5);
    const run = async (name: string) => {
      await initBackend({ backend: name as 'cpu' });
      const m = model('hard', data);
      await fit(m, data, { epochs: 2, batchSize: 32, seed: 1, metrics: false });
      const w = weightsOf(m).map((a) => Array.from(a));
      m.dispose();
      return w;
    };
    const onWasm = await run('wasm');
    const onCpu = await run('cpu');
    await cpu();
    onCpu.forEach((w, i) => {
      let diff = 0;
      for (let k = 0; k < w.length; k++) diff = Math.max(diff, Math.abs(w[k]! - onWasm[i]![k]!));
      expect(diff, `weight ${i}`).toBeLessThan(1e-4);
    });
  });

  it('an embedded high-cardinality category beats leaving it out and feeding its integer code', {
    timeout: scaled(120_000),
  }, async () => {
    // One family (the same effects), split into training and test rows.
    const all = family(4500, 150, 6);
    const tr = {
      x: all.x.slice(0, 3000),
      y: { click: all.y.click.slice(0, 3000), spend: all.y.spend.slice(0, 3000) },
    };
    const te = { x: all.x.slice(3000), y: { click: all.y.click.slice(3000) } };
    const options = { epochs: 8, batchSize: 64, seed: 2, metrics: false as const };
    const auc = (m: MtgraphModel, x: number[][]) =>
      rocAuc(
        te.y.click,
        (predict(m, x, { as: 'arrays' }).click!.values as number[][]).map((r) => r[0]!),
      );
    const embedded = model('hard', tr);
    await fit(embedded, tr, options);
    const withEmbedding = auc(embedded, te.x);
    // The integer code, standardised as the CSV path codes a high-cardinality column.
    const codes = tr.x.map((r) => r[1]!);
    const mean = codes.reduce((s, v) => s + v, 0) / codes.length;
    const sd = Math.sqrt(codes.reduce((s, v) => s + (v - mean) ** 2, 0) / codes.length);
    const coded = (x: number[][]) => x.map((r) => [r[0]!, (r[1]! - mean) / sd, r[2]!]);
    const code = compile(graph(false), {
      strategy: 'hard',
      seed: 1,
      trunk: { units: [8] },
      tower: { units: [4] },
    });
    await fit(code, { x: coded(tr.x), y: tr.y }, options);
    const withCode = auc(code, coded(te.x));
    const without = (x: number[][]) => x.map((r) => [r[0]!, r[2]!]);
    const g = new TaskGraph({ input: { columns: ['a', 'b'] } });
    g.addTask('click', { kind: 'binary' });
    g.addTask('spend', { kind: 'regression' });
    const none = compile(g, {
      strategy: 'hard',
      seed: 1,
      trunk: { units: [8] },
      tower: { units: [4] },
    });
    await fit(none, { x: without(tr.x), y: tr.y }, options);
    const withNothing = auc(none, without(te.x));
    if (process.env.MTGRAPH_TEST_VERBOSE)
      console.log({ withEmbedding, withCode, withNothing, backend: tf.getBackend() });
    expect(withEmbedding).toBeGreaterThan(withCode + 0.05);
    expect(withEmbedding).toBeGreaterThan(withNothing + 0.05);
    for (const m of [embedded, code, none]) m.dispose();
  });

  it('a checkpointed run resumed equals an uninterrupted one; the saved model keeps the vocabulary', {
    timeout: scaled(60_000),
  }, async () => {
    const data = family(300, 40, 8);
    const options = { epochs: 4, batchSize: 32, seed: 1, metrics: false as const };
    const straight = model('mmoe', data);
    await fit(straight, data, options);
    const dir = path.join(root, 'resume');
    const first = model('mmoe', data);
    const stop = new Error('interrupted');
    expect(
      await thrown(() =>
        fit(first, data, {
          ...options,
          checkpoint: { dir },
          onEpochEnd: (e) => {
            if (e === 1) throw stop;
          },
        }),
      ),
    ).toBe(stop);
    const resumed = model('mmoe', data);
    await fit(resumed, data, { ...options, checkpoint: { dir }, resumeFrom: dir });
    const a = weightsOf(straight);
    weightsOf(resumed).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(a[i]!)));
    const saved = path.join(root, 'model');
    await saveModel(straight, saved);
    const loaded = await loadModel(saved);
    expect(loaded.plan.embeddings).toEqual(straight.plan.embeddings);
    // Unseen users (1, 99999) and a user seen once (folded by minCount 2) all read row 0.
    const rows = [...data.x.slice(0, 10), [0.3, 1, 0.2], [0.3, 99999, 0.2]];
    expect(predict(loaded, rows, { as: 'arrays' })).toEqual(
      predict(straight, rows, { as: 'arrays' }),
    );
    const oov = predict(
      loaded,
      [
        [0.3, 1, 0.2],
        [0.3, 99999, 0.2],
      ],
      { as: 'arrays' },
    );
    expect(oov.click!.values[0]).toEqual(oov.click!.values[1]);
    for (const m of [straight, first, resumed, loaded]) m.dispose();
  });
});
