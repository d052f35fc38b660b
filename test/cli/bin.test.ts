import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHOP_GRAPH, shopCsv, tempDir } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'mtgraph.js');
let dir: string;

beforeAll(async () => {
  dir = await tempDir('bin');
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function mtgraph(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
}

describe('bin/mtgraph.js', () => {
  it('runs from a clone without a build and exits with 0 on --help', () => {
    const r = mtgraph('--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: mtgraph \[options\] \[command\]/);
    const v = mtgraph('--version');
    expect(v.stdout.trim()).toBe(
      JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version,
    );
  });

  it('npx mtgraph --help works in the repository', () => {
    const r = spawnSync('npx', ['--no-install', 'mtgraph', 'validate', '--help'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: mtgraph validate/);
  });

  it('exits with 1 and one message for a user error', async () => {
    await fs.writeFile(
      path.join(dir, 'bad.json'),
      JSON.stringify({ nodes: [{ key: 'a', attributes: { kind: 'ranking' } }] }),
    );
    const r = mtgraph('validate', 'bad.json');
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^GraphSpecError: mtgraph\/spec: unknown task kind \(got "ranking"; expected one of regression, binary, multiclass, multilabel\) → at tasks\.a\.kind/,
    );
    expect(mtgraph('nope').status).toBe(1);
  });

  it('a run killed during training leaves no model folder behind', async () => {
    await fs.writeFile(path.join(dir, 'shop.json'), JSON.stringify(SHOP_GRAPH));
    await fs.writeFile(path.join(dir, 'shop.csv'), shopCsv(400, 3));
    const child = spawn(
      process.execPath,
      [
        bin,
        'train',
        'shop.json',
        '--data',
        'shop.csv',
        '--epochs',
        '500',
        '--batch-size',
        '8',
        '--out',
        'killed',
      ],
      { cwd: dir },
    );
    await new Promise<void>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        if (/^epoch +2\//m.test(err)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`train ended before it was killed:\n${err}`)));
    });
    await new Promise((resolve) => child.on('close', resolve));
    expect(existsSync(path.join(dir, 'killed'))).toBe(false);
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('.killed'))).toEqual([]);
  });
});
