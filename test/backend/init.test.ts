import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertTrainable,
  initBackend,
  loadFailureReason,
  untrainableLayers,
  wasmKernelsVeto,
  type BackendReport,
} from '../../src/backend/index.js';
import { BackendError } from '../../src/errors.js';
import { plan } from '../../src/plan/compile-plan.js';
import { compile } from '../../src/network/index.js';
import { STRATEGIES, smallGraph } from '../network/helpers.js';

let report: BackendReport;
const env = process.env.MTGRAPH_BACKEND;

beforeAll(async () => {
  delete process.env.MTGRAPH_BACKEND;
  report = await initBackend();
});

afterAll(async () => {
  if (env === undefined) delete process.env.MTGRAPH_BACKEND;
  else process.env.MTGRAPH_BACKEND = env;
  await initBackend({ backend: report.backend });
});

describe('initBackend', () => {
  it('initBackend picks the first backend that loads and says why the others were skipped', () => {
    expect(report.tried.at(-1)).toMatchObject({ name: report.backend, ok: true });
    expect(report.tried.slice(0, -1).every((t) => !t.ok && t.reason.length > 0)).toBe(true);
    expect(tf.getBackend()).toBe(report.backend);
    if (report.backend === 'wasm') {
      expect(report.tried[0]).toMatchObject({ name: 'tensorflow', ok: false });
      expect(report.tried[1]!.reason).toMatch(/tfjs-backend-wasm-simd\.wasm/);
    }
  });

  it('initBackend is idempotent: a second call returns the same report at once', async () => {
    const start = performance.now();
    expect(await initBackend()).toBe(report);
    expect(performance.now() - start).toBeLessThan(50);
  });

  it('initBackend can be forced by option and by MTGRAPH_BACKEND', async () => {
    const cpu = await initBackend({ backend: 'cpu' });
    expect(cpu).toMatchObject({
      backend: 'cpu',
      forcedBy: 'option',
      tried: [{ name: 'cpu', ok: true }],
    });
    expect(tf.getBackend()).toBe('cpu');
    process.env.MTGRAPH_BACKEND = 'wasm';
    try {
      expect(await initBackend()).toMatchObject({ backend: 'wasm', forcedBy: 'env' });
      expect(tf.getBackend()).toBe('wasm');
    } finally {
      delete process.env.MTGRAPH_BACKEND;
    }
  });

  it('initBackend refuses an unknown backend name', async () => {
    process.env.MTGRAPH_BACKEND = 'gpu';
    try {
      await expect(initBackend()).rejects.toThrow(BackendError);
      await expect(initBackend()).rejects.toThrow(
        /unknown backend \(got "gpu"; expected one of tensorflow, wasm, cpu\) → at MTGRAPH_BACKEND/,
      );
    } finally {
      delete process.env.MTGRAPH_BACKEND;
    }
  });

  it('initBackend raises when the forced backend cannot load', async () => {
    if (report.backend === 'tensorflow') return;
    const before = await initBackend();
    await expect(initBackend({ backend: 'tensorflow' })).rejects.toThrow(
      /the forced backend "tensorflow" cannot load/,
    );
    expect(tf.getBackend()).toBe(before.backend);
    expect(await initBackend()).toBe(before);
  });
});

describe('loadFailureReason', () => {
  const fail = (message: string, code?: string) =>
    Object.assign(new Error(message), code ? { code } : {});

  it('loadFailureReason tells a missing package from a half-installed one', () => {
    const module = '@tensorflow/tfjs-node';
    expect(
      loadFailureReason(
        fail(`Cannot find package '${module}' imported from /x.js`, 'ERR_MODULE_NOT_FOUND'),
        module,
      ),
    ).toBe('not installed (ERR_MODULE_NOT_FOUND)');
    expect(
      loadFailureReason(
        fail(
          "Cannot find module './lib/napi-v8/tfjs_binding.node'\nRequire stack: ...",
          'MODULE_NOT_FOUND',
        ),
        module,
      ),
    ).toBe("installed but incomplete: Cannot find module './lib/napi-v8/tfjs_binding.node'");
    expect(
      loadFailureReason(
        fail('The Node.js native addon module (tfjs_binding.node) can not be found'),
        module,
      ),
    ).toMatch(/^The Node.js native addon/);
    expect(loadFailureReason('not an error')).toBe('not an error');
  });
});

describe('untrainableLayers', () => {
  it('untrainableLayers finds nothing in any plan on wasm and cpu', () => {
    for (const strategy of STRATEGIES) {
      const p = plan(smallGraph(), {
        strategy,
        trunk: { units: [4], batchNorm: true, dropout: 0.1 },
      });
      expect(untrainableLayers(p, 'wasm')).toEqual([]);
      expect(untrainableLayers(p, 'cpu')).toEqual([]);
      expect(() => assertTrainable(p, 'wasm')).not.toThrow();
    }
  });

  it('untrainableLayers reads the layers of a built model', () => {
    const m = compile(smallGraph(), { strategy: 'cross-stitch', trunk: { units: [4] } });
    expect(untrainableLayers(m)).toEqual([]);
    expect(untrainableLayers(m.model, 'wasm')).toEqual([]);
    m.dispose();
  });

  it('assertTrainable refuses conv2d on wasm, not on cpu; embedding trains on both (mtgraph registers UnsortedSegmentSum for wasm)', () => {
    expect(untrainableLayers(['Dense', 'Conv2D', 'Embedding'], 'wasm')).toEqual(
      wasmKernelsVeto() === undefined
        ? [{ layer: 'Conv2D', missing: ['Conv2DBackpropFilter'] }]
        : [
            { layer: 'Conv2D', missing: ['Conv2DBackpropFilter'] },
            { layer: 'Embedding', missing: ['UnsortedSegmentSum'] },
          ],
    );
    expect(() => assertTrainable(['Conv2D'], 'wasm')).toThrowErrorMatchingInlineSnapshot(
      `[BackendError: mtgraph/backend: the "wasm" backend cannot train Conv2D (needs Conv2DBackpropFilter). Install @tensorflow/tfjs-node, or set MTGRAPH_BACKEND=cpu, or use only dense layers.]`,
    );
    expect(untrainableLayers(['Conv2D', 'Embedding'], 'cpu')).toEqual([]);
  });
});
