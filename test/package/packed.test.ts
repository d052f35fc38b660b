/**
 * The package as users install it: the tree is built and packed (`npm pack`), the tarball is
 * installed into a temporary app next to its own @tensorflow/tfjs (npm, as a user would; the
 * registry or npm's cache), and then: esbuild bundles a page for the browser as it is (no stubs,
 * no shims) and Chromium trains a 3-task graph on it; Vite builds the same page; a TypeScript
 * consumer type-checks under bundler and nodenext resolution with skipLibCheck off; publint and
 * @arethetypeswrong/cli check the package; require() fails in words; the app has one tfjs.
 * Chromium is Debian's (`.ci/run` installs it); without it the browser test is skipped.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from './serve.js';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO, 'node_modules/.bin');
const CHROMIUM = process.env.MTGRAPH_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TEN_MINUTES = 600_000;

let work: string;
let app: string;
let stage: string;
let tarball: string;

/** Runs a command; on failure the error says what it printed. */
async function sh(file: string, args: string[], cwd: string, timeout = TEN_MINUTES) {
  try {
    return await run(file, args, {
      cwd,
      timeout,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${file} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`,
    );
  }
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(tmpdir(), 'mtgraph-pack-'));
  stage = path.join(work, 'package');
  app = path.join(work, 'app');
  // The package folder as `npm pack` sees it: package.json's files, dist built from src.
  const pkg = JSON.parse(await fs.readFile(path.join(REPO, 'package.json'), 'utf8'));
  await fs.mkdir(stage);
  for (const entry of ['package.json', ...pkg.files.filter((f: string) => f !== 'dist')])
    await fs.cp(path.join(REPO, entry), path.join(stage, entry), { recursive: true });
  await sh(
    process.execPath,
    [
      path.join(REPO, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      path.join(stage, 'dist'),
      '--noEmitOnError',
      'false',
    ],
    REPO,
  ).catch(
    // Type errors elsewhere in the tree do not stop the emit; the consumer check below is the judge.
    () => undefined,
  );
  const packed = await sh(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    stage,
  );
  tarball = path.join(work, JSON.parse(packed.stdout)[0].filename);
  // The app: its own tfjs 4.22 and mtgraph from the tarball.
  await fs.mkdir(app);
  await fs.writeFile(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      type: 'module',
      dependencies: { '@tensorflow/tfjs': '4.22.0', mtgraph: `file:${tarball}` },
    }),
  );
  // --omit=optional: tfjs-node would download libtensorflow (no internet in CI).
  await sh(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--omit=optional',
      '--ignore-scripts',
    ],
    app,
  );
  await fs.cp(path.join(import.meta.dirname, 'page'), path.join(app, 'web'), { recursive: true });
  await fs.cp(path.join(import.meta.dirname, 'consumer'), app, { recursive: true });
  await fs.copyFile(path.join(app, 'check.ts'), path.join(app, 'check.mts'));
}, TEN_MINUTES);

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('the packed package in a consumer app', () => {
  it(
    'npm pack ships dist (with types and source maps that carry their sources), LICENSE and CHANGELOG, and no tests',
    async () => {
      const { stdout } = await sh('tar', ['tzf', tarball], work);
      const files = stdout.split('\n').filter(Boolean);
      for (const f of [
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/dist/node.js',
        'package/dist/require.cjs',
        'package/dist/backend/index.js',
        'package/LICENSE',
        'package/CHANGELOG.md',
        'package/README.md',
      ])
        expect(files, f).toContain(f);
      expect(
        files.filter((f) => f.startsWith('package/test/') || f.startsWith('package/src/')),
      ).toEqual([]);
      const map = JSON.parse(await fs.readFile(path.join(stage, 'dist/index.js.map'), 'utf8'));
      expect(map.sourcesContent?.[0]).toContain('export');
    },
    TEN_MINUTES,
  );

  it(
    "npm ls @tensorflow/tfjs in the app shows one copy (mtgraph uses the app's)",
    async () => {
      const { stdout } = await sh('npm', ['ls', '@tensorflow/tfjs', '--all', '--parseable'], app);
      const copies = stdout
        .split('\n')
        .filter((l) => l.endsWith(path.join('node_modules', '@tensorflow', 'tfjs')));
      expect(copies).toEqual([path.join(app, 'node_modules/@tensorflow/tfjs')]);
      const tree = (await sh('npm', ['ls', '@tensorflow/tfjs'], app)).stdout;
      expect(tree).toMatch(/mtgraph@[\d.]+\n\s+└── @tensorflow\/tfjs@4\.22\.0 deduped/);
    },
    TEN_MINUTES,
  );

  it(
    'require("mtgraph") fails with a message that says to use import; import works in Node',
    async () => {
      const failed = await run(process.execPath, ['-e', "require('mtgraph')"], { cwd: app }).catch(
        (e) => e,
      );
      expect(failed.stderr).toMatch(/mtgraph is an ES module: load it with `import/);
      const { stdout } = await sh(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "import { TaskGraph, plan } from 'mtgraph'; const g = new TaskGraph({ input: { features: 2 } }); g.addTask('a', { kind: 'binary' }); console.log(plan(g, { strategy: 'hard' }).tasks.length, g.order)",
        ],
        app,
      );
      expect(stdout.trim()).toBe('1 1');
    },
    TEN_MINUTES,
  );

  it(
    'a TypeScript consumer type-checks under bundler and nodenext resolution with skipLibCheck off (no error from mtgraph)',
    async () => {
      const tsc = path.join(REPO, 'node_modules/typescript/bin/tsc');
      for (const config of ['tsconfig.bundler.json', 'tsconfig.nodenext.json']) {
        const out = await run(process.execPath, [tsc, '-p', config], { cwd: app }).then(
          (r) => r.stdout,
          (e) => e.stdout as string,
        );
        // tfjs 4.22's own .d.ts files do not pass skipLibCheck: false (Long, PyJsonValue): not ours.
        const ours = out
          .split('\n')
          .filter((l) => /^\S/.test(l) && !l.startsWith('node_modules/@tensorflow/'));
        expect(ours, config).toEqual([]);
      }
    },
    TEN_MINUTES,
  );

  it(
    'publint and @arethetypeswrong/cli find no problem in the package',
    async () => {
      const lint = await sh(path.join(BIN, 'publint'), ['--strict', stage], work);
      // --strict: a warning fails too; suggestions ("sideEffects": mtgraph registers kernels and
      // layer classes when loaded, so it has side effects) are not problems.
      expect(lint.stdout).not.toMatch(/^(Errors|Warnings):/m);
      const attw = await run(
        path.join(BIN, 'attw'),
        [tarball, '--profile', 'esm-only', '--format', 'ascii'],
        { cwd: work },
      ).then(
        (r) => ({ ok: true, out: r.stdout }),
        (e) => ({ ok: false, out: `${e.stdout}${e.stderr}` }),
      );
      // The esm-only profile leaves out node10 and CJS: every other resolution must be green.
      expect(attw.ok, attw.out).toBe(true);
      const checked = attw.out.split('\n').filter((l) => /^(node16 \(from ESM\)|bundler):/.test(l));
      expect(checked.length).toBeGreaterThanOrEqual(4);
      expect(
        checked.filter((l) => !l.includes('🟢')),
        attw.out,
      ).toEqual([]);
    },
    TEN_MINUTES,
  );

  it(
    'Vite builds the page for the browser as it is',
    async () => {
      const { stdout } = await sh(
        path.join(BIN, 'vite'),
        [
          'build',
          '--logLevel',
          'warn',
          '--outDir',
          path.join(work, 'vite-out'),
          path.join(app, 'web'),
        ],
        app,
      );
      expect(stdout).not.toMatch(/externalized for browser compatibility/);
      const assets = await fs.readdir(path.join(work, 'vite-out/assets'));
      expect(assets.some((f) => f.endsWith('.js'))).toBe(true);
    },
    TEN_MINUTES,
  );

  describe.skipIf(!existsSync(CHROMIUM))('in Chromium', () => {
    it(
      'esbuild bundles the page (--platform=browser) and Chromium trains a 3-task graph, saves it to IndexedDB and memory, with no console error',
      async () => {
        const out = path.join(app, 'web/dist/page.js');
        const built = await sh(
          path.join(BIN, 'esbuild'),
          [
            'web/page.js',
            '--bundle',
            '--platform=browser',
            '--format=esm',
            '--minify',
            `--outfile=${out}`,
            '--metafile=web/meta.json',
            '--log-level=warning',
          ],
          app,
        );
        expect(built.stderr).toBe('');
        const meta = JSON.parse(await fs.readFile(path.join(app, 'web/meta.json'), 'utf8'));
        const inputs = Object.keys(meta.inputs);
        expect(
          inputs.filter((f) =>
            /^node:|mtgraph\/dist\/(platform\/node|io\/(files|folder|outputs|model-file)|data\/csv-file|train\/checkpoint|cli\/)/.test(
              f,
            ),
          ),
        ).toEqual([]);
        // index.html loads the source page (for Vite); the esbuild page loads the bundle.
        const html = await fs.readFile(path.join(app, 'web/index.html'), 'utf8');
        await fs.writeFile(
          path.join(app, 'web/esbuild.html'),
          html.replace('src="./page.js"', 'src="./dist/page.js"'),
        );
        const bytes = await fs.readFile(out);
        const size = { minified: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
        console.info(
          `test/package: the browser page's bundle: ${size.minified} bytes minified, ${size.gzip} gzip`,
        );

        const { url, server } = await serve({
          '/wasm/': path.join(app, 'node_modules/@tensorflow/tfjs-backend-wasm/dist'),
          '/': path.join(app, 'web'),
        });
        const browser = await chromium.launch({
          executablePath: CHROMIUM,
          args: ARGS,
          timeout: 60_000,
        });
        try {
          const problems: string[] = [];
          const downloads: string[] = [];
          const open = async (query: string) => {
            const page = await browser.newPage({ acceptDownloads: true });
            page.on('download', (d) => downloads.push(d.suggestedFilename()));
            page.on('console', (m) => {
              if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
            });
            page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
            await page.goto(`${url}/esbuild.html${query}`);
            // The result, or the first page error (a script that dies never writes one).
            const died = new Promise<never>((_, reject) =>
              page
                .on('pageerror', (e) => reject(new Error(`page error: ${e.message}`)))
                .on('console', (m) => {
                  if (m.type() === 'error') reject(new Error(`console error: ${m.text()}`));
                }),
            );
            await Promise.race([
              page.waitForFunction(
                () =>
                  (
                    globalThis as unknown as {
                      document: { querySelector(s: string): { textContent: string | null } | null };
                    }
                  ).document.querySelector('#result')?.textContent !== 'running',
                null,
                { timeout: 300_000 },
              ),
              died,
            ]);
            return JSON.parse((await page.textContent('#result')) ?? '{}');
          };
          // initBackend's own choice: webgpu is skipped (its package is not imported), then webgl, wasm or cpu.
          const auto = await open('?only=backend');
          expect(auto.tried[0]).toMatchObject({ name: 'webgpu', ok: false });
          expect(['webgpu', 'webgl', 'wasm', 'cpu'].slice(0, auto.tried.length)).toEqual(
            auto.tried.map((t: { name: string }) => t.name),
          );
          // Training on wasm (its .wasm files from /wasm/ via setWasmPaths): SwiftShader's WebGL is slow.
          const r = await open('?backend=wasm');
          expect(r.error, r.stack).toBeUndefined();
          expect(r.backend).toBe('wasm');
          expect(r.tried[0].reason).toMatch(/tfjs-backend-wasm(-simd)?\.wasm/);
          expect(r.epochs).toBe(40);
          expect(r.lastLoss).toBeLessThan(r.firstLoss / 5);
          expect(r.scores.click.accuracy).toBeGreaterThan(0.95);
          expect(r.scores.click.auc).toBeGreaterThan(0.98);
          expect(r.scores.segment.accuracy).toBeGreaterThan(0.9);
          expect(r.scores.watch.r2).toBeGreaterThan(0.95);
          expect(r.leakedTensors).toBe(0);
          expect(r.graphSvg).toBeGreaterThan(500);
          expect(r.planSvg).toBeGreaterThan(500);
          expect(r.indexeddbSame).toBe(true);
          expect(r.memorySame).toBe(true);
          expect(r.memoryFiles).toEqual([
            'graph.json',
            'metadata.json',
            'model.json',
            'plan.json',
            'weights.bin',
          ]);
          expect(r.csv).toEqual({ rows: 2, columns: ['a', 'b', 'c', 'd'] });
          expect(r.affinityTasks).toEqual(['click', 'segment', 'watch']);
          expect(r.affinityFinite).toBeGreaterThanOrEqual(6); // the off-diagonal pairs, measured
          expect(r.groups.flat().sort()).toEqual(['click', 'segment', 'watch']);
          expect(r.groups.length).toBeLessThanOrEqual(2);
          expect(r.explain).toMatch(/^browser: strategy hard/);
          expect(r.report.html).toBe(true);
          expect(r.report.svg).toBeGreaterThanOrEqual(2); // the task graph and the network at least
          // saveModel(model, 'downloads://browser-test') offered the five files.
          await expect.poll(() => downloads.length, { timeout: 10_000 }).toBe(5);
          expect(downloads.sort()).toEqual(
            ['graph.json', 'metadata.json', 'model.json', 'plan.json', 'weights.bin'].map(
              (f) => `browser-test-${f}`,
            ),
          );
          expect(problems).toEqual([]);
        } finally {
          await browser.close();
          server.close();
        }
      },
      TEN_MINUTES,
    );
  });
});
