import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, TaskGraph, compile, OptionsError, DataError } from '../../src/index.js';
import { measureAffinity, AFFINITY_DEFAULTS } from '../../src/affinity/index.js';

beforeAll(async () => {
  await initBackend();
});

function small(): TaskGraph {
  const g = new TaskGraph({ input: { features: 2 } });
  g.addTask('a', { kind: 'regression' });
  g.addTask('b', { kind: 'binary' });
  return g;
}

const rows = 24;
const data = {
  x: Array.from({ length: rows }, (_, i) => [i / rows, (i % 5) / 5]),
  y: {
    a: Array.from({ length: rows }, (_, i) => i / rows),
    b: Array.from({ length: rows }, (_, i) => i % 2),
  },
};

async function failure(
  options: unknown,
  graph: unknown = small(),
  input: unknown = data,
): Promise<Error> {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    await measureAffinity(graph, input, options as Parameters<typeof measureAffinity>[2]);
  } catch (error) {
    caught = error;
  }
  expect(tf.memory().numTensors).toBe(before); // refused before any tensor exists
  expect(caught).toBeInstanceOf(Error);
  return caught as Error;
}

describe('measureAffinity options', () => {
  it.each([
    [{ method: 'magic' }, 'options.method'],
    [{ method: 3 }, 'options.method'],
    [{ threshold: 2 }, 'options.threshold'],
    [{ steps: 0 }, 'options.steps'],
    [{ steps: 2.5 }, 'options.steps'],
    [{ batchSize: -1 }, 'options.batchSize'],
    [{ warmup: 10, steps: 10 }, 'options.warmup'],
    [{ lookaheadRate: 0 }, 'options.lookaheadRate'],
    [{ optimizer: 'newton' }, 'options.optimizer'],
    [{ optimizer: { name: 'adam', learningRate: -1 } }, 'options.optimizer.learningRate'],
    [{ scale: 'tanh' }, 'options.scale'],
    [{ stepz: 3 }, 'options.stepz'],
    [{ method: 'lookahead', minRows: 5 }, 'options.minRows'],
    [{ method: 'label-correlation', steps: 5 }, 'options.steps'],
    [{ method: 'gradient-cosine', scale: 'max' }, 'options.scale'],
    [{ minRows: 1, method: 'label-correlation' }, 'options.minRows'],
    [{ plan: { strategy: 'single' } }, 'options.plan.strategy'],
    [{ plan: { strategy: 'hard', trunk: { units: [0] } } }, 'options.plan.trunk.units[0]'],
    [{ plan: { strategy: 'warp' } }, 'options.plan.strategy'],
    [{ model: {} }, 'options.model'],
    ['fast', 'options'],
  ])('measureAffinity bad options %j raise OptionsError at %s', async (options, path) => {
    const error = await failure(options);
    expect(error).toBeInstanceOf(OptionsError);
    expect((error as OptionsError).path).toBe(path);
    expect(error.message).toContain(`→ at ${path}`);
    expect(error.message.startsWith('mtgraph/measureAffinity: ')).toBe(true);
  });

  it('measureAffinity option errors name what was found and how to fix it', async () => {
    const error = await failure({ method: 'lookahead', minRows: 5 });
    expect(error.message).toMatchInlineSnapshot(
      `"mtgraph/measureAffinity: option "minRows" does not apply to method 'lookahead' (it is read by 'label-correlation') → at options.minRows. Remove it, or choose one of those methods."`,
    );
    const single = await failure({ plan: { strategy: 'single' } });
    expect(single.message).toMatch(
      /shares none → at options.plan.strategy\. Use a plan with shared blocks/,
    );
  });

  it('measureAffinity refuses a model whose tasks differ from the graph', async () => {
    const other = new TaskGraph({ input: { features: 2 } });
    other.addTask('a', { kind: 'regression' });
    other.addTask('c', { kind: 'binary' });
    const model = compile(other, { strategy: 'hard', trunk: { units: [4] } });
    try {
      const error = await failure({ model });
      expect(error).toBeInstanceOf(OptionsError);
      expect((error as OptionsError).path).toBe('options.model');
      const both = await failure({ model, plan: { strategy: 'hard' } });
      expect((both as OptionsError).path).toBe('options.plan');
    } finally {
      model.dispose();
    }
  });

  it.each(['lookahead', 'gradient-cosine', 'label-correlation'])(
    'measureAffinity %s raises DataError for bad data before any tensor',
    async (method) => {
      const missing = await failure({ method }, small(), { x: data.x, y: { a: data.y.a } });
      expect(missing).toBeInstanceOf(DataError);
      expect((missing as DataError).path).toBe('y.b');
      const badLabel = await failure({ method }, small(), {
        x: data.x,
        y: { a: data.y.a, b: data.y.b.map((v, i) => (i === 3 ? 2 : v)) },
      });
      expect((badLabel as DataError).path).toBe('y.b[3]');
      const badX = await failure({ method }, small(), {
        x: data.x.map((r, i) => (i === 4 ? [r[0]!, NaN] : r)),
        y: data.y,
      });
      expect((badX as DataError).path).toBe('x[4][1]');
    },
  );

  it('measureAffinity defaults are visible and a run on them frees every tensor', async () => {
    expect(AFFINITY_DEFAULTS).toMatchObject({
      method: 'lookahead',
      steps: 50,
      warmup: 10,
      batchSize: 32,
      scale: 'self',
      minRows: 10,
    });
    const before = tf.memory().numTensors;
    const r = await measureAffinity(small(), data, {
      steps: 4,
      plan: { strategy: 'hard', trunk: { units: [4] } },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.method).toBe('lookahead');
    expect(r.steps).toBe(2); // warm-up defaults to half of a short run
    expect(r.tasks).toEqual(['a', 'b']);
  });
});
