/**
 * The root entry bundles for the browser as it is (esbuild, --platform=browser): no Node module in
 * its graph, and none of mtgraph's own files in it reaches `process`, `Buffer` or `node:*` (they
 * go through src/platform). Fast: no packing (test/package/packed.test.ts does the real thing).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');

/** The files reachable from an entry when bundled for the browser. */
async function browserGraph(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [path.join(REPO, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    outdir: path.join(REPO, '.scratch/browser-bundle'),
  });
  return Object.keys(result.metafile.inputs);
}

/** Source text without comments (enough to find identifiers used in code). */
const code = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

describe('the browser bundle of mtgraph', () => {
  for (const entry of ['src/index.ts', 'src/backend/index.ts']) {
    it(`${entry} bundles for the browser with no Node-only module in its graph`, async () => {
      const inputs = await browserGraph(entry);
      expect(inputs.length).toBeGreaterThan(20);
      const own = inputs.filter((f) => f.startsWith('src/'));
      expect(own).toContain('src/platform/index.ts');
      expect(
        own.filter((f) =>
          /^src\/(platform\/node|cli\/)|\/(csv-file|checkpoint|files|folder|outputs|fs-errors|model-file)\.ts$/.test(
            f,
          ),
        ),
      ).toEqual([]);
      expect(inputs.filter((f) => f.startsWith('node:'))).toEqual([]);
      // The CLI's dependencies belong to the CLI only.
      expect(inputs.filter((f) => /node_modules\/(commander|cli-progress)\//.test(f))).toEqual([]);
      const offenders: string[] = [];
      for (const file of own) {
        const text = code(await fs.readFile(path.join(REPO, file), 'utf8'));
        for (const [what, pattern] of [
          ['process', /\bprocess\s*\./],
          ['Buffer', /\bBuffer\s*\./],
          ['node: import', /from\s+['"]node:/],
        ] as const)
          if (pattern.test(text)) offenders.push(`${file}: ${what}`);
      }
      expect(offenders).toEqual([]);
    });
  }
});
