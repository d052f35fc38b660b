import * as tf from '@tensorflow/tfjs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { compile } from '../../src/network/index.js';
import { DataError, FileError, OptionsError } from '../../src/errors.js';
import { TaskGraph } from '../../src/graph/index.js';
import { loadModel, saveModel } from '../../src/io/index.js';
import { fit, predict } from '../../src/train/index.js';
import {
  parsePreprocessing,
  readCsv,
  readCsvTable,
  splitRows,
  taskResolver,
  type FlatMatrix,
} from '../../src/data/index.js';

let dir: string;

beforeAll(async () => {
  await initBackend();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mtgraph-csv-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  return file;
}

function shopGraph(input?: object): TaskGraph {
  const g = new TaskGraph(input ? { input } : {});
  g.addTask('spend', { kind: 'regression' });
  g.addTask('click', { kind: 'binary' });
  g.addTask('segment', { kind: 'multiclass', classes: ['new', 'casual', 'loyal'] });
  g.addAffinity('spend', 'click', { weight: 0.5 });
  return g;
}

const SHOP = [
  'age,city,plan,spend,click,segment',
  '20,paris,a,1.5,1,new',
  '30,rome,b,,0,casual',
  '40,paris,a,3.5,,loyal',
  '50,oslo,c,4.5,1,',
  '60,rome,b,5.5,0,new',
].join('\n');

describe('readCsv', () => {
  it('readCsv standardises numbers, one-hot encodes detected categories and masks empty labels', async () => {
    const file = await write('shop.csv', SHOP);
    const csv = await readCsv(file, shopGraph());
    expect(csv.rows).toBe(5);
    expect(csv.columns).toEqual([
      'age',
      'city=oslo',
      'city=paris',
      'city=rome',
      'plan=a',
      'plan=b',
      'plan=c',
    ]);
    expect(csv.notes.join(' ')).toMatch(/2 column\(s\) are mostly not numbers.*"city", "plan"/);
    const x = csv.data.x.values as Float32Array;
    const ages = [0, 1, 2, 3, 4].map((r) => x[r * 7]!);
    expect(ages.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 5);
    expect(ages[4]).toBeCloseTo(Math.SQRT2, 5); // (60 - 40) / std 14.14
    expect(Array.from(x.subarray(1, 7))).toEqual([0, 1, 0, 1, 0, 0]);
    expect(Array.from(csv.data.y.spend as Float32Array)).toEqual([1.5, NaN, 3.5, 4.5, 5.5]);
    expect(Array.from(csv.data.y.click as Float32Array)).toEqual([1, 0, NaN, 1, 0]);
    expect(Array.from(csv.data.y.segment as Float32Array)).toEqual([0, 1, 2, NaN, 0]);
    expect(Array.from(csv.lines)).toEqual([2, 3, 4, 5, 6]);
    expect(csv.preprocessing.features[0]).toMatchObject({
      column: 'age',
      type: 'numeric',
      mean: 40,
    });
  });

  it('readCsv uses the graph input columns and categorical list, and integer codes above maxOneHot', async () => {
    const file = await write('shop.csv', SHOP);
    const csv = await readCsv(file, shopGraph({ columns: ['age', 'city'], categorical: ['age'] }), {
      maxOneHot: 3,
      standardize: false,
    });
    expect(csv.preprocessing.features.map((f) => f.type)).toEqual(['codes', 'one-hot']);
    expect(csv.columns).toEqual(['age', 'city=oslo', 'city=paris', 'city=rome']);
    expect(Array.from(csv.data.x.values as Float32Array).filter((_, k) => k % 4 === 0)).toEqual([
      0, 1, 2, 3, 4,
    ]);
  });

  it('readCsv reads multi-output and multilabel targets from lists of columns', async () => {
    const g = new TaskGraph();
    g.addTask('pos', { kind: 'regression', outputs: ['px', 'py'], target: ['px', 'py'] });
    g.addTask('tags', { kind: 'multilabel', labels: ['red', 'big'], target: ['red', 'big'] });
    const file = await write('multi.csv', 'f,px,py,red,big\n1,0.5,-1,yes,0\n2,,2,false,1\n');
    const csv = await readCsv(file, g);
    expect(csv.data.y.pos).toEqual({ values: Float32Array.from([0.5, -1, NaN, 2]), shape: [2, 2] });
    expect(Array.from((csv.data.y.tags as FlatMatrix).values)).toEqual([1, 0, 0, 1]);
  });

  it('readCsv in long format labels each row for its own task only', async () => {
    const g = new TaskGraph();
    for (const id of ['school_000', 'school_001', 'school_002'])
      g.addTask(id, { kind: 'regression', target: 'score' });
    const file = await write('long.csv', 'task,f,score\n0,1,10\n1,2,20\n02,3,30\n0,4,40\n');
    const csv = await readCsv(file, g, { taskColumn: 'task' });
    expect(csv.columns).toEqual(['f']);
    expect(csv.rowTasks).toEqual(['school_000', 'school_001', 'school_002', 'school_000']);
    expect(Array.from(csv.data.y.school_000 as Float32Array)).toEqual([10, NaN, NaN, 40]);
    expect(Array.from(csv.data.y.school_002 as Float32Array)).toEqual([NaN, NaN, 30, NaN]);
    const bad = await write('long-bad.csv', 'task,f,score\n0,1,10\n9,2,20\n');
    await expect(readCsv(bad, g, { taskColumn: 'task' })).rejects.toThrow(
      /task column names no task of the graph \(got "9".*line 3, column "task"/,
    );
  });

  it('readCsv warns when tasks share a label column without a task column', async () => {
    const g = new TaskGraph();
    g.addTask('a', { kind: 'regression', target: 'score' });
    g.addTask('b', { kind: 'regression', target: 'score' });
    const csv = await readCsv(await write('shared.csv', 'f,score\n1,2\n3,4\n'), g);
    expect(csv.notes.join(' ')).toMatch(/read the same label column "score".*--task-column/);
  });

  it('readCsv leaves out and masks a task without a single label', async () => {
    const csv = await readCsv(
      await write('nolabel.csv', 'age,spend,click,segment\n1,,1,new\n2,,0,loyal\n'),
      shopGraph(),
    );
    expect(csv.unlabelled).toEqual(['spend']);
    expect(csv.data.y.spend).toBeUndefined();
    expect(Array.from(csv.data.mask!.spend!)).toEqual([0, 0]);
  });

  it('readCsv refuses bad files with the file, line and column', async () => {
    const g = shopGraph();
    await expect(readCsv(path.join(dir, 'nope.csv'), g)).rejects.toThrow(FileError);
    await expect(readCsv(await write('empty.csv', ''), g)).rejects.toThrow(
      /the file is empty \(no header row\)/,
    );
    await expect(
      readCsv(await write('header.csv', 'age,spend,click,segment\n'), g),
    ).rejects.toThrow(/header but no data rows/);
    await expect(
      readCsv(await write('ragged.csv', 'age,spend,click,segment\n1,2,1,new\n3,4,0\n'), g),
    ).rejects.toThrow(
      /the row has 3 cells \(expected 4, one per header column\) → at .*ragged\.csv, line 3\./,
    );
    await expect(
      readCsv(await write('dup.csv', 'age,age,spend,click,segment\n1,1,2,1,new\n'), g),
    ).rejects.toThrow(/"age" appears twice/);
    await expect(
      readCsv(await write('notarget.csv', 'age,spend,click\n1,2,1\n'), g),
    ).rejects.toThrow(
      /the column "segment" \(the target of task "segment"\) is not in the header.*Set the task's target/,
    );
    const badCell = await write(
      'badcell.csv',
      'age,spend,click,segment\n1,2,1,new\n2,3,0,new\nabc,4,1,new\n4,5,1,new\n',
    );
    const error = await readCsv(badCell, g).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toMatch(
      /the cell is not a number \(got "abc"\) in a numeric column.*line 4, column "age"/,
    );
    expect((error as DataError).path).toBe(`${badCell}:4:age`);
    await expect(
      readCsv(await write('badlabel.csv', 'age,spend,click,segment\n1,2,1,vip\n'), g),
    ).rejects.toThrow(
      /not a label of multiclass task "segment" \(got "vip".*"new", "casual", "loyal".*line 2, column "segment"/,
    );
    await expect(
      readCsv(await write('quote.csv', 'age,spend,click,segment\n1,"2,1,new\n'), g),
    ).rejects.toThrow(/quoted cell is never closed/);
  });

  it('readCsv refuses a graph that does not match the file', async () => {
    const file = await write('shop.csv', SHOP);
    await expect(readCsv(file, shopGraph({ features: 5 }))).rejects.toThrow(
      /the graph declares 5 input feature\(s\) but the file has 3 feature column\(s\)/,
    );
    await expect(readCsv(file, shopGraph({ columns: ['age', 'income'] }))).rejects.toThrow(
      /"income" \(a feature, from the graph's input.columns\) is not in the header/,
    );
    await expect(readCsv(file, shopGraph({ columns: ['age', 'spend'] }))).rejects.toThrow(
      /both a feature .* and the target of task "spend"/,
    );
  });

  it('readCsv imputes a missing feature with the mean only when asked', async () => {
    const file = await write(
      'gap.csv',
      'age,spend,click,segment\n10,1,1,new\n,2,0,new\n30,3,1,loyal\n',
    );
    await expect(readCsv(file, shopGraph())).rejects.toThrow(
      /feature cell is empty or missing.*line 3, column "age".*--impute mean/,
    );
    const csv = await readCsv(file, shopGraph(), { impute: 'mean' });
    expect((csv.data.x.values as Float32Array)[1]).toBeCloseTo(0, 6);
  });

  it('readCsv refuses bad options', async () => {
    await expect(
      readCsv(await write('shop.csv', SHOP), shopGraph(), { maxOneHot: 0 }),
    ).rejects.toThrow(OptionsError);
  });
});

describe('saved preprocessing', () => {
  it('a model saved with its preprocessing predicts the same from a new file', async () => {
    const graph = shopGraph();
    const train = await readCsv(await write('shop.csv', SHOP), graph);
    const model = compile(graph, {
      strategy: 'hard',
      trunk: { units: [4] },
      seed: 1,
      input: { columns: train.columns },
    });
    await fit(model, train.data, { epochs: 2, seed: 1, metrics: false });
    model.metadata.preprocessing = train.preprocessing;
    const out = path.join(dir, 'model');
    await saveModel(model, out);
    const loaded = await loadModel(out);
    // Same rows in another order, without label columns, and one unseen city.
    const fresh = await readCsv(
      await write('new.csv', 'plan,city,age\nb,rome,60\na,paris,20\nc,lima,35\n'),
      loaded,
      { labels: 'optional' },
    );
    expect(fresh.columns).toEqual(train.columns);
    expect(fresh.notes.join(' ')).toMatch(/column "city": 1 row\(s\) hold a category not seen/);
    const a = predict(model, train.data.x);
    const b = predict(loaded, fresh.data.x);
    for (const task of ['spend', 'click', 'segment']) {
      const va = a[task]!.arraySync() as number[][];
      const vb = b[task]!.arraySync() as number[][];
      for (const [i, j] of [
        [4, 0],
        [0, 1],
      ] as const)
        vb[j]!.forEach((v, k) => expect(v).toBeCloseTo(va[i]![k]!, 5));
    }
    tf.dispose([...Object.values(a), ...Object.values(b)]);
    model.dispose();
    loaded.dispose();
  });

  it('parsePreprocessing refuses a damaged preprocessing', () => {
    expect(() => parsePreprocessing({ format: 'mtgraph-preprocessing' })).toThrow(FileError);
    expect(() => parsePreprocessing('x')).toThrow(/not a saved preprocessing/);
    expect(() =>
      parsePreprocessing({
        format: 'mtgraph-preprocessing',
        version: 1,
        features: [{ column: 'a', type: 'numeric', mean: 0, scale: 1, fill: null }],
        columns: ['a', 'b'],
        targets: {},
        missing: [],
        delimiter: ',',
      }),
    ).toThrow(/makes? 1 inputs but it names 2/);
  });
});

describe('splitRows', () => {
  it('splitRows is seeded and keeps the fractions', () => {
    const a = splitRows(100, { seed: 3, valid: 0.1, test: 0.2 });
    const b = splitRows(100, { seed: 3, valid: 0.1, test: 0.2 });
    expect(a).toEqual(b);
    expect([a.train.length, a.valid.length, a.test.length]).toEqual([70, 10, 20]);
    expect(new Set([...a.train, ...a.valid, ...a.test]).size).toBe(100);
    expect(splitRows(100, { seed: 4, valid: 0.1, test: 0.2 }).test).not.toEqual(a.test);
  });

  it('splitRows stratifies every stratum and keeps groups whole', () => {
    const strata = Array.from({ length: 90 }, (_, i) => (i < 60 ? 'a' : i < 80 ? 'b' : 'c'));
    const s = splitRows(90, { seed: 1, test: 0.3, stratify: strata });
    const count = (rows: Int32Array, k: string) =>
      Array.from(rows).filter((r) => strata[r] === k).length;
    expect([count(s.test, 'a'), count(s.test, 'b'), count(s.test, 'c')]).toEqual([18, 6, 3]);
    const groups = Array.from({ length: 90 }, (_, i) => `g${Math.floor(i / 9)}`);
    const g = splitRows(90, { seed: 1, test: 0.2, groups });
    const testGroups = new Set(Array.from(g.test, (r) => groups[r]));
    for (const r of g.train) expect(testGroups.has(groups[r])).toBe(false);
    expect(g.test.length).toBe(18);
  });

  it('splitRows refuses bad fractions', () => {
    expect(() => splitRows(10, { valid: 0.5, test: 0.5 })).toThrow(
      /valid \+ test must leave rows for training/,
    );
    expect(() => splitRows(10, { test: 1.5 })).toThrow(OptionsError);
    expect(() => splitRows(10, { stratify: ['a'] })).toThrow(/one value per row/);
  });
});

describe('readCsvTable and taskResolver', () => {
  it('readCsvTable skips blank lines and strips a BOM', async () => {
    const t = await readCsvTable(await write('bom.csv', '\ufeffa,b\r\n\r\n1,"x, y"\r\n2,z\r\n'));
    expect(t.header).toEqual(['a', 'b']);
    expect(t.columns.get('b')).toEqual(['x, y', 'z']);
    expect(Array.from(t.lines)).toEqual([3, 4]);
  });

  it('taskResolver matches ids, explicit names and unique trailing numbers', () => {
    const tasks = ['s_1', 's_02', 'x_2', 'other'].map((id) => ({
      id,
      kind: 'binary' as const,
      outputs: 1,
      outputNames: [id],
      target: [id],
    }));
    const resolve = taskResolver(tasks, { o: 'other' });
    expect(['s_1', '1', '001', '2', 'o', 'nope'].map(resolve)).toEqual([0, 0, 0, -1, 3, -1]);
  });
});
