/**
 * exportModel in a browser: the package's entry bundled by esbuild for the browser, run in Debian's
 * chromium (playwright-core); the ONNX bytes it makes run in onnxruntime-node and predict what
 * mtgraph predicts. Skipped with a message where there is no chromium.
 */
import { build } from 'esbuild';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, TaskGraph } from '../../src/index.js';
import { removeDir, tempDir } from '../hardening/helpers.js';
import { cpu } from '../train/fixture.js';
import { maxDiff, mtgraphPredictions } from './helpers.js';

const CHROMIUM = process.env.MTGRAPH_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available)
  console.warn(
    `test/export/browser.test.ts skipped: no chromium at ${CHROMIUM} (apt-get install -y chromium, as .ci/run does).`,
  );

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('export-browser');
});
afterAll(() => removeDir(root));

describe.skipIf(!available)('exportModel in headless chromium', () => {
  it('exports every format in memory, and the ONNX bytes predict what predict does', async () => {
    const bundle = path.join(root, 'page.js');
    await build({
      entryPoints: [path.join(import.meta.dirname, 'browser-page.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
    });
    const html = path.join(root, 'page.html');
    await fs.writeFile(html, '<!doctype html><script type="module" src="page.js"></script>');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--allow-file-access-from-files',
      ],
    });
    const problems: string[] = [];
    let exported: unknown;
    try {
      const page = await browser.newPage();
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      await page.goto(`file://${html}`);
      await page.waitForFunction(
        () => (globalThis as { exported?: unknown }).exported !== undefined,
        null,
        {
          timeout: 120_000,
        },
      );
      exported = await page.evaluate(() => (globalThis as { exported?: unknown }).exported);
    } finally {
      await browser.close();
    }
    expect(problems).toEqual([]);
    expect(exported).not.toHaveProperty('error');
    const { formats, onnx } = exported as { formats: Record<string, string[]>; onnx: string };
    expect(formats).toEqual({
      tfjs: ['model.json', 'weights.bin', 'signature.json'],
      onnx: ['model.onnx', 'signature.json'],
      pytorch: ['model.py', 'weights.safetensors', 'train.py', 'plan.json', 'signature.json'],
    });
    // The same seeded model in Node: the browser's ONNX file predicts what it predicts.
    const g = new TaskGraph({ input: { features: 4 } });
    g.addTask('a', { kind: 'binary' });
    g.addTask('b', { kind: 'regression' });
    g.addTask('c', { kind: 'multiclass', classes: 3 });
    g.addAffinity('a', 'b', { weight: 0.5 });
    const model = compile(g, { strategy: 'mmoe', trunk: { units: [6] }, seed: 4 });
    const x = [
      [0.5, -1, 2, 0.1],
      [-0.3, 0.8, -1.5, 1.2],
    ];
    const want = mtgraphPredictions(model, x);
    const session = await ort.InferenceSession.create(Buffer.from(onnx, 'base64'));
    const got = await session.run({
      input: new ort.Tensor('float32', Float32Array.from(x.flat()), [2, 4]),
    });
    for (const t of ['a', 'b', 'c'])
      expect(maxDiff(got[t]!.data as Float32Array, want[t]!), t).toBeLessThanOrEqual(1e-5);
    await session.release();
    model.dispose();
  }, 240_000);
});
