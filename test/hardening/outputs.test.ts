import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compile, type MtgraphModel } from '../../src/network/index.js';
import { FileError } from '../../src/errors.js';
import { loadGraph } from '../../src/io/graph-file.js';
import { loadModel, saveModel } from '../../src/io/model-file.js';
import { checkOutputs, commitOutputs, STAGING_MARKER } from '../../src/io/outputs.js';
import { readCsvTable } from '../../src/data/index.js';
import { fit } from '../../src/train/index.js';
import { terminalSafe } from '../../src/cli/io.js';
import { cpu } from '../train/fixture.js';
import { smallGraph } from '../network/helpers.js';
import { cli, SHOP_GRAPH, shopCsv } from '../cli/helpers.js';
import { removeDir, tempDir, thrown } from './helpers.js';

/**
 * Issue 14, points 1-6, 14 and 15: nothing mtgraph did not write is ever deleted, outputs are
 * checked before any work and committed together, killed saves leave nothing for long, every
 * file-system error is a FileError in words, special files never hang a read, and nothing read
 * from a file or a task name reaches the terminal or the report raw.
 */

let root: string;
let graphFile: string;
let dataFile: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('outputs');
  graphFile = path.join(root, 'g.json');
  dataFile = path.join(root, 'd.csv');
  await fs.writeFile(graphFile, JSON.stringify(SHOP_GRAPH));
  await fs.writeFile(dataFile, shopCsv(60));
});
afterAll(() => removeDir(root));

let counter = 0;
async function fresh(name: string): Promise<string> {
  const dir = path.join(root, `${name}-${++counter}`);
  await fs.mkdir(dir);
  return dir;
}

function model(): MtgraphModel {
  return compile(smallGraph(), { strategy: 'hard', trunk: { units: [4] } });
}

/** Every path under `dir`, relative, sorted (folders end with /). */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const rel = path.relative(dir, path.join(e.parentPath ?? e.path, e.name));
    out.push(e.isDirectory() ? `${rel}/` : rel);
  }
  return out.sort();
}

/** The hidden temporaries next to `dir`. */
async function hidden(dir: string): Promise<string[]> {
  const base = path.basename(dir);
  return (await fs.readdir(path.dirname(dir))).filter((f) => f.startsWith(`.${base}.`)).sort();
}

function canMkfifo(): boolean {
  return spawnSync('mkfifo', ['--version']).status === 0;
}

/** Runs `fn`, failing (instead of hanging the test) when it takes longer than `ms`. */
async function within<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms (a hang)`)), ms);
  });
  try {
    return await Promise.race([fn(), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('1. a folder is replaced only when mtgraph wrote everything in it', () => {
  it('saveModel refuses a folder with a fake model.json and the user files, naming every file that would be lost', async () => {
    const dir = await fresh('u');
    await fs.writeFile(path.join(dir, 'model.json'), '{}');
    await fs.writeFile(path.join(dir, 'important.txt'), 'x');
    await fs.writeFile(path.join(dir, 'train.csv'), 'a,b\n1,2\n');
    await fs.mkdir(path.join(dir, 'runs'));
    await fs.writeFile(path.join(dir, 'runs', 'r1.txt'), 'y');
    const before = await tree(dir);
    const m = model();
    const error = await thrown(() => saveModel(m, dir));
    expect(error).toBeInstanceOf(FileError);
    expect((error as Error).message).toMatch(
      /cannot save the model to .*: it is not an mtgraph model folder .*would delete important\.txt, model\.json, runs\/, train\.csv\. Choose a new or empty folder, or move those files out\./,
    );
    expect(await tree(dir)).toEqual(before);
    expect(await hidden(dir)).toEqual([]);
    m.dispose();
  });

  it('saveModel replaces its own save, but not one where a user file was added', async () => {
    const dir = path.join(await fresh('own'), 'model');
    const m = model();
    await saveModel(m, dir);
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'metadata.json'), 'utf8'));
    expect(meta.files).toEqual([
      'model.json',
      'weights.bin',
      'plan.json',
      'graph.json',
      'metadata.json',
    ]);
    await saveModel(m, dir); // its own: replaced
    await fs.writeFile(path.join(dir, 'notes.md'), 'mine');
    await expect(saveModel(m, dir)).rejects.toThrow(
      /it holds files that mtgraph did not write there, .*would delete notes\.md\./,
    );
    expect(await fs.readFile(path.join(dir, 'notes.md'), 'utf8')).toBe('mine');
    // a save of an earlier version (no `files` list): the model files and report.html are its own
    delete meta.files;
    await fs.rm(path.join(dir, 'notes.md'));
    await fs.writeFile(path.join(dir, 'metadata.json'), JSON.stringify(meta));
    await fs.writeFile(path.join(dir, 'report.html'), '<html></html>');
    await saveModel(m, dir);
    expect((await fs.readdir(dir)).sort()).toEqual(
      ['graph.json', 'metadata.json', 'model.json', 'plan.json', 'weights.bin'].sort(),
    );
    m.dispose();
  });

  it('train --out refuses the folder of the issue before training and leaves every file', async () => {
    const u = await fresh('u');
    await fs.writeFile(path.join(u, 'model.json'), '{}');
    await fs.writeFile(path.join(u, 'important.txt'), 'x');
    await fs.copyFile(dataFile, path.join(u, 'train.csv'));
    await fs.mkdir(path.join(u, 'sub'));
    const before = await tree(u);
    const r = await cli(
      'train',
      graphFile,
      '--data',
      path.join(u, 'train.csv'),
      '--out',
      u,
      '--epochs',
      '1',
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FileError: .*would delete important\.txt, model\.json, sub\/, train\.csv → at --out\./,
    );
    expect(r.stderr).not.toMatch(/^epoch|backend:/m); // refused before the data and the backend
    expect(await tree(u)).toEqual(before);
  });

  it("fit's checkpoint refuses a folder holding files mtgraph did not write, and keeps them", async () => {
    const dir = await fresh('ckpt');
    await fs.writeFile(path.join(dir, 'data.csv'), 'keep');
    const m = compile(smallGraph(), { strategy: 'hard', trunk: { units: [4] } });
    const x = tf.ones([8, 5]);
    const y = {
      click: tf.zeros([8]),
      'segment id/2': tf.zeros([8]),
      spend: tf.zeros([8]),
      tags: tf.zeros([8, 2]),
    };
    let epochs = 0;
    try {
      const error = await thrown(() =>
        fit(m, { x, y } as never, {
          epochs: 2,
          checkpoint: { dir },
          onEpochEnd: () => {
            epochs++;
          },
        }),
      );
      expect(error).toBeInstanceOf(FileError);
      expect((error as Error).message).toMatch(
        /cannot save the checkpoint to .*would delete data\.csv → at options\.checkpoint\.dir/,
      );
      expect(epochs).toBe(0); // refused before the first epoch
      expect(await fs.readFile(path.join(dir, 'data.csv'), 'utf8')).toBe('keep');
    } finally {
      tf.dispose([x, ...Object.values(y)]);
      m.dispose();
    }
  });
});

describe('2. every output is checked before the work, and all are written or none', () => {
  it('train with a --report that cannot be written fails before training and leaves the previous model and report', async () => {
    const dir = await fresh('two');
    const out = path.join(dir, 'model');
    const report = path.join(dir, 'r', 'report.html');
    const first = await cli(
      'train',
      graphFile,
      '--data',
      dataFile,
      '--out',
      out,
      '--report',
      report,
      '--epochs',
      '1',
    );
    expect(first.code).toBe(0);
    const weights = await fs.readFile(path.join(out, 'weights.bin'));
    const html = await fs.readFile(report, 'utf8');
    // A read-only place for the report (EROFS from the file system, as on a read-only mount).
    const real = fs.access;
    const spy = vi.spyOn(fs, 'access').mockImplementation(async (p, mode) => {
      if (path.resolve(String(p)) === path.dirname(report))
        throw Object.assign(new Error('read-only'), { code: 'EROFS' });
      return real(p, mode);
    });
    try {
      const r = await cli(
        'train',
        graphFile,
        '--data',
        dataFile,
        '--out',
        out,
        '--report',
        report,
        '--epochs',
        '1',
        '--seed',
        '9',
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /cannot write the report to .*report\.html: .* is on a read-only file system \(EROFS\) → at --report\./,
      );
      expect(r.stderr).not.toMatch(/^epoch/m);
    } finally {
      spy.mockRestore();
    }
    expect(await fs.readFile(path.join(out, 'weights.bin'))).toEqual(weights);
    expect(await fs.readFile(report, 'utf8')).toBe(html);
  });

  it('commitOutputs that fails on its last rename puts every output back as it was and leaves no temporary', async () => {
    const dir = await fresh('all-or-none');
    const folder = path.join(dir, 'model');
    const file = path.join(dir, 'report.html');
    const m = model();
    await saveModel(m, folder);
    await fs.writeFile(file, 'old report');
    const before = await tree(folder);
    const weights = await fs.readFile(path.join(folder, 'weights.bin'));
    const { modelFolderFiles, MODEL_FOLDER } = await import('../../src/io/model-file.js');
    const other = compile(smallGraph(), { strategy: 'hard', trunk: { units: [6] } });
    const files = await modelFolderFiles(other);
    const real = fs.rename;
    const spy = vi.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      if (String(to) === file) throw Object.assign(new Error('full'), { code: 'ENOSPC' });
      return real(from, to);
    });
    try {
      const error = await thrown(() =>
        commitOutputs([
          [{ type: 'folder', path: folder, kind: MODEL_FOLDER }, files],
          [{ type: 'file', path: file, what: 'report' }, 'new report'],
        ]),
      );
      expect(error).toBeInstanceOf(FileError);
      expect((error as Error).message).toMatch(
        /cannot move the new outputs into place at .*report\.html: the disk is full \(ENOSPC\)\. .*Nothing was changed\./,
      );
    } finally {
      spy.mockRestore();
    }
    expect(await tree(folder)).toEqual(before);
    expect(await fs.readFile(path.join(folder, 'weights.bin'))).toEqual(weights);
    expect(await fs.readFile(file, 'utf8')).toBe('old report');
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
    [m, other].forEach((x) => x.dispose());
  });

  it('checkOutputs refuses a folder where a file goes, and two outputs at one place', async () => {
    const dir = await fresh('kinds');
    await expect(checkOutputs([{ type: 'file', path: dir, what: 'report' }])).rejects.toThrow(
      /it is a folder, where a file goes/,
    );
    const { MODEL_FOLDER } = await import('../../src/io/model-file.js');
    await expect(
      checkOutputs([
        { type: 'folder', path: path.join(dir, 'm'), kind: MODEL_FOLDER, flag: '--out' },
        { type: 'file', path: path.join(dir, 'm', 'x.html'), what: 'report', flag: '--report' },
      ]),
    ).rejects.toThrow(/report .* \(--report\) is inside the model .* \(--out\)/);
  });
});

describe('3. temporaries of killed saves are removed by the next save or load', () => {
  /** A staging folder as a save killed while writing leaves it: marked, its process gone. */
  async function killedSave(dir: string, tag: string, pid: number): Promise<string> {
    const tmp = path.join(path.dirname(dir), `.${path.basename(dir)}.${tag}.tmp`);
    await fs.mkdir(tmp);
    await fs.writeFile(
      path.join(tmp, STAGING_MARKER),
      JSON.stringify({
        writtenBy: 'mtgraph',
        what: 'model',
        pid,
        host: (await import('node:os')).hostname(),
      }),
    );
    await fs.writeFile(path.join(tmp, 'weights.bin'), new Uint8Array(1024));
    return tmp;
  }

  it('saveModel and loadModel remove marked temporaries of dead processes, and only those', async () => {
    const dir = path.join(await fresh('killed'), 'model');
    const m = model();
    await saveModel(m, dir);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that has exited
    await killedSave(dir, 'aaaaaaaaaaa1', dead);
    await killedSave(dir, 'aaaaaaaaaaa2', dead);
    await killedSave(dir, 'aaaaaaaaaaa3', process.pid); // a save under way in a live process
    const unmarked = path.join(path.dirname(dir), `.${path.basename(dir)}.bbbbbbbbbbbb.tmp`);
    await fs.mkdir(unmarked); // not marked: not known to be mtgraph's
    await saveModel(m, dir);
    expect(await hidden(dir)).toEqual(['.model.aaaaaaaaaaa3.tmp', '.model.bbbbbbbbbbbb.tmp']);
    await killedSave(dir, 'aaaaaaaaaaa4', dead);
    (await loadModel(dir)).dispose();
    expect(await hidden(dir)).toEqual(['.model.aaaaaaaaaaa3.tmp', '.model.bbbbbbbbbbbb.tmp']);
    m.dispose();
  });

  it('a file output (a report) killed while writing leaves a marked temporary that the next write removes', async () => {
    const dir = await fresh('killed-file');
    const report = path.join(dir, 'report.html');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const tmp = await killedSave(report, 'cccccccccccc', dead);
    await fs.writeFile(path.join(tmp, 'report.html'), '<html>half');
    const { writeFileAtomic } = await import('../../src/io/outputs.js');
    await writeFileAtomic(report, '<html></html>', 'report');
    expect(await hidden(report)).toEqual([]);
    expect(await fs.readFile(report, 'utf8')).toBe('<html></html>');
  });

  it('a save killed while writing (a real SIGKILL) leaves a temporary that the next load removes', async () => {
    const dir = path.join(await fresh('sigkill'), 'model');
    const m = model();
    await saveModel(m, dir);
    // A child process that stages a save with the same code and is killed while writing.
    const script = `
      import { commitOutputs } from ${JSON.stringify(path.resolve('src/io/outputs.ts'))};
      import { MODEL_FOLDER } from ${JSON.stringify(path.resolve('src/io/model-file.ts'))};
      import { promises as fs } from 'node:fs';
      const real = fs.writeFile;
      fs.writeFile = async (file, data, o) => {
        if (String(file).endsWith('weights.bin')) { process.kill(process.pid, 'SIGKILL'); await new Promise(() => {}); }
        return real(file, data, o);
      };
      await commitOutputs([[{ type: 'folder', path: ${JSON.stringify(dir)}, kind: MODEL_FOLDER }, [['model.json', '{}'], ['weights.bin', 'x']]]]);
    `;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    expect(child.signal).toBe('SIGKILL');
    expect((await hidden(dir)).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);
    (await loadModel(dir)).dispose();
    expect(await hidden(dir)).toEqual([]);
    m.dispose();
  });
});

describe('4. file-system errors are FileErrors that name the path and the fix', () => {
  it('saveModel and train --out under a file say which path is a file (not a raw ENOTDIR)', async () => {
    const dir = await fresh('notdir');
    const file = path.join(dir, 'x.txt');
    await fs.writeFile(file, 'x');
    const m = model();
    const error = await thrown(() => saveModel(m, path.join(file, 'model')));
    expect(error).toBeInstanceOf(FileError);
    expect((error as Error).message).toMatch(
      /cannot write the model to .*x\.txt\/model: .*x\.txt is a file, not a folder\. Choose a path inside a folder\./,
    );
    m.dispose();
    const r = await cli('train', graphFile, '--data', dataFile, '--out', path.join(file, 'model'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FileError: .*x\.txt is a file, not a folder → at --out/);
  });

  it('a read-only place is called read-only (EROFS), a missing file is ENOENT in words', async () => {
    const dir = await fresh('rofs');
    const real = fs.access;
    const spy = vi.spyOn(fs, 'access').mockImplementation(async (p, mode) => {
      if (path.resolve(String(p)) === dir) throw Object.assign(new Error('ro'), { code: 'EROFS' });
      return real(p, mode);
    });
    const m = model();
    try {
      await expect(saveModel(m, path.join(dir, 'model'))).rejects.toThrow(
        /is on a read-only file system \(EROFS\)\. Choose a path on a writable disk/,
      );
    } finally {
      spy.mockRestore();
      m.dispose();
    }
    await expect(loadGraph(path.join(dir, 'none.json'))).rejects.toThrow(
      /cannot read the graph file .*none\.json: it does not exist \(ENOENT\)\. Check the path\./,
    );
  });
});

describe('5. an --out that is a symbolic link is decided before training: followed', () => {
  it('train --out link writes the model into the folder the link points to and keeps the link', async () => {
    const dir = await fresh('link');
    const real = path.join(dir, 'real');
    await fs.mkdir(real);
    const link = path.join(dir, 'latest');
    await fs.symlink(real, link);
    const r = await cli('train', graphFile, '--data', dataFile, '--out', link, '--epochs', '1');
    expect(r.code, r.stderr).toBe(0);
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    expect((await fs.readdir(real)).sort()).toContain('weights.bin');
    expect((await fs.readdir(real)).sort()).toContain('report.html');
    (await loadModel(link)).dispose();
  });

  it('a link to nothing is refused before any work', async () => {
    const dir = await fresh('dangling');
    const link = path.join(dir, 'out');
    await fs.symlink(path.join(dir, 'missing', 'deeper'), link);
    const r = await cli('train', graphFile, '--data', dataFile, '--out', link, '--epochs', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is a symbolic link to a missing or unreachable place .* → at --out/);
    expect(r.stderr).not.toMatch(/^epoch/m);
  });
});

describe.skipIf(!canMkfifo())(
  '6. a FIFO or other special file is refused before it is opened',
  () => {
    it('loadGraph, readCsvTable, mtgraph validate and loadModel refuse a FIFO at once (no hang)', async () => {
      const dir = await fresh('fifo');
      const fifo = path.join(dir, 'f.json');
      execFileSync('mkfifo', [fifo]);
      await within(5000, () =>
        expect(loadGraph(fifo)).rejects.toThrow(
          /is not a regular file \(got a named pipe \(FIFO\)\)/,
        ),
      );
      await within(5000, () =>
        expect(readCsvTable(fifo)).rejects.toThrow(/not a regular file \(got a named pipe/),
      );
      const r = await within(5000, () => cli('validate', fifo));
      expect(r.code).toBe(1);
      for (const name of ['metadata.json', 'weights.bin', 'model.json']) {
        const folder = path.join(dir, `m-${name}`);
        const m = model();
        await saveModel(m, folder);
        m.dispose();
        await fs.rm(path.join(folder, name));
        execFileSync('mkfifo', [path.join(folder, name)]);
        await within(5000, () =>
          expect(loadModel(folder)).rejects.toThrow(/not a regular file \(got a named pipe/),
        );
      }
    });
  },
);

describe('14. nothing read from a file or a task name reaches a message, the terminal or the report raw', () => {
  it('loadModel with model.json linked to an outside file does not quote that file', async () => {
    const dir = path.join(await fresh('leak'), 'model');
    const m = model();
    await saveModel(m, dir);
    m.dispose();
    const secret = path.join(root, 'secret.txt');
    await fs.writeFile(secret, 'root:SECRET-PASSWORD-hash:0:0\n');
    const secretJson = path.join(root, 'secret.json');
    await fs.writeFile(secretJson, JSON.stringify('SECRET-PASSWORD-in-a-json-string'));
    for (const target of [secret, secretJson]) {
      await fs.rm(path.join(dir, 'model.json'));
      await fs.symlink(target, path.join(dir, 'model.json'));
      const error = await thrown(() => loadModel(dir));
      expect(error).toBeInstanceOf(FileError);
      expect((error as Error).message).not.toMatch(/SECRET|root:/);
    }
  });

  it('a weights file of the wrong size is refused from its size, before it is read', async () => {
    const dir = path.join(await fresh('size'), 'model');
    const m = model();
    await saveModel(m, dir);
    m.dispose();
    await fs.truncate(path.join(dir, 'weights.bin'), 1_900_000_000); // sparse: no disk used
    const opened: string[] = [];
    const real = fs.open;
    const spy = vi.spyOn(fs, 'open').mockImplementation(async (file, ...rest) => {
      opened.push(path.basename(String(file)));
      return real(file, ...(rest as [never]));
    });
    try {
      await expect(loadModel(dir)).rejects.toThrow(
        /the weights in .* do not match .*model\.json \(got 1900000000 bytes; the manifest needs \d+\)/,
      );
    } finally {
      spy.mockRestore();
    }
    expect(opened).not.toContain('weights.bin');
  });

  it('task names with escape and control characters reach neither the terminal nor the report', async () => {
    const dir = await fresh('esc');
    const evil = 'a\u001b]0;owned\u0007\u001b[31mred\u009b\u007f';
    const g = structuredClone(SHOP_GRAPH) as typeof SHOP_GRAPH;
    g.nodes[1]!.key = evil;
    (g.nodes[1]!.attributes as Record<string, unknown>).target = 'click';
    g.edges = g.edges.map((e) => ({
      ...e,
      source: e.source === 'click' ? evil : e.source,
      target: e.target === 'click' ? evil : e.target,
    }));
    const file = path.join(dir, 'g.json');
    await fs.writeFile(file, JSON.stringify(g));
    const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
    const planned = await cli('plan', file, '--data', dataFile);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain('a\\u001b]0;owned');
    expect(planned.stdout).not.toMatch(control);
    const out = path.join(dir, 'model');
    const trained = await cli('train', file, '--data', dataFile, '--out', out, '--epochs', '2');
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout + trained.stderr).not.toMatch(control);
    expect(trained.stdout).toContain('\\u001b');
    const html = await fs.readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(control);
    expect(terminalSafe('tab\tand\nnew line')).toBe('tab\tand\nnew line');
    const json = await cli('plan', file, '--data', dataFile, '--json');
    expect(json.stdout).not.toMatch(control);
    expect(JSON.parse(json.stdout).tasks.map((t: { id: string }) => t.id)).toContain(evil);
  });
});

describe('15. loadModel says what a model folder is and what it could not check', () => {
  it('loadModel of a file, a folder without model.json, or a missing path says "not an mtgraph model folder"', async () => {
    const dir = await fresh('notmodel');
    const file = path.join(dir, 'x.txt');
    await fs.writeFile(file, 'x');
    await expect(loadModel(file)).rejects.toThrow(
      /x\.txt is not an mtgraph model folder: it is a file, not a folder\./,
    );
    await expect(loadModel(dir)).rejects.toThrow(
      /is not an mtgraph model folder: it holds no model\.json\./,
    );
    await expect(loadModel(path.join(dir, 'none'))).rejects.toThrow(
      /none is not an mtgraph model folder: it does not exist \(ENOENT\)/,
    );
    await expect(loadModel(path.join(file, 'model'))).rejects.toThrow(
      /is not an mtgraph model folder: a part of its path is a file \(ENOTDIR\)/,
    );
  });

  it('loadModel of a folder without metadata.json loads unchecked, or is refused with requireChecksums', async () => {
    const dir = path.join(await fresh('nometa'), 'model');
    const m = model();
    await saveModel(m, dir);
    m.dispose();
    await fs.rm(path.join(dir, 'metadata.json'));
    (await loadModel(dir)).dispose();
    await expect(loadModel(dir, { requireChecksums: true })).rejects.toThrow(
      /has no metadata\.json, so its files cannot be checked against each other \(requireChecksums is set\)/,
    );
  });
});
