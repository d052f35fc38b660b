import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareData, prepareFeatures, selectRows } from '../../src/data/index.js';
import { DataError } from '../../src/errors.js';
import { cpu, features, fixturePlan } from '../train/fixture.js';

beforeAll(cpu);

const plan = fixturePlan({
  features: 3,
  tasks: {
    price: { kind: 'regression', outputs: 2 },
    click: { kind: 'binary' },
    segment: { kind: 'multiclass', classes: ['low', 'mid', 'high'] },
    tags: { kind: 'multilabel', labels: 2 },
  },
});
const N = 16;
const x = features(N, 3);
const good = () => ({
  x: x.map((r) => [...r]),
  y: {
    price: x.map((r) => [r[0]!, r[1]!]) as (number | null)[][],
    click: x.map((r) => (r[2]! > 0 ? 1 : 0)) as unknown[],
    segment: x.map((_, i) => i % 3) as unknown[],
    tags: x.map((_, i) => [i % 2, (i + 1) % 2]) as unknown[],
  } as Record<string, any>,
  mask: undefined as Record<string, unknown> | undefined,
});

/** Runs prepareData expecting a DataError; returns it. */
function fails(data: unknown): DataError {
  const before = tf.memory().numTensors;
  try {
    prepareData(plan, data, { scope: 'mtgraph/fit' });
  } catch (e) {
    expect(tf.memory().numTensors).toBe(before);
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
}

describe('prepareData', () => {
  it('prepareData reads every form of features and labels into typed arrays', () => {
    const d = good();
    const a = prepareData(plan, d, { scope: 'mtgraph/fit' });
    const flat = { values: Float32Array.from(x.flat()), shape: [N, 3] };
    const t = tf.tensor2d(x);
    const b = prepareData(plan, { ...d, x: flat }, { scope: 'mtgraph/fit' });
    const c = prepareData(
      plan,
      {
        x: t,
        y: {
          price: tf.tensor2d(d.y.price as number[][]),
          click: Float32Array.from(d.y.click as number[]),
          segment: (d.y.segment as number[]).map((k) => ['low', 'mid', 'high'][k]),
          tags: { values: (d.y.tags as number[][]).flat(), shape: [N, 2] },
        },
      },
      { scope: 'mtgraph/fit' },
    );
    t.dispose();
    for (const p of [b, c]) {
      expect(p.x).toEqual(a.x);
      p.tasks.forEach((task, i) => {
        expect(task.labels).toEqual(a.tasks[i]!.labels);
        expect(task.mask).toEqual(a.tasks[i]!.mask);
      });
    }
    expect(a.rows).toBe(N);
    expect(a.tasks.map((t) => t.width)).toEqual([2, 1, 1, 2]);
    expect(a.tasks.every((t) => t.labelled === N)).toBe(true);
  });

  it('prepareData treats NaN, null and -1 as missing labels and honours an explicit mask', () => {
    const d = good();
    (d.y.price as (number | null)[][])[0] = [NaN, 2];
    (d.y.price as (number | null)[][])[1] = [null, null];
    d.y.click[2] = -1;
    d.y.segment[3] = NaN;
    d.y.segment[4] = 7; // masked out below, so never checked
    (d.y.tags as unknown[])[5] = [1, -1];
    d.mask = {
      segment: x.map((_, i) => (i === 4 ? 0 : 1)),
      tags: x.map((_, i) => (i === 6 ? [0, 1] : [1, 1])),
    };
    const p = prepareData(plan, d, { scope: 'mtgraph/fit' });
    const [price, click, segment, tags] = p.tasks;
    expect(Array.from(price!.mask.slice(0, 4))).toEqual([0, 1, 0, 0]);
    expect(price!.labels[0]).toBe(0);
    expect(price!.labelled).toBe(N - 1);
    expect(click!.mask[2]).toBe(0);
    expect(segment!.mask[3]).toBe(0);
    expect(segment!.mask[4]).toBe(0);
    expect(segment!.labelled).toBe(N - 2);
    expect(Array.from(tags!.mask.slice(10, 14))).toEqual([1, 0, 0, 1]);
  });

  it('prepareData lets a task be left out on purpose with an all-zero mask', () => {
    const d = good();
    delete d.y.tags;
    d.mask = { tags: new Array(N).fill(0) };
    const p = prepareData(plan, d, { scope: 'mtgraph/fit' });
    expect(p.tasks[3]).toMatchObject({ id: 'tags', labelled: 0, excluded: true });
  });

  it('selectRows picks rows and recounts labels', () => {
    const d = good();
    d.y.click = d.y.click.map((v: number, i: number) => (i < 8 ? -1 : v));
    const p = selectRows(prepareData(plan, d, { scope: 'mtgraph/fit' }), [9, 0, 3]);
    expect(p.rows).toBe(3);
    expect(Array.from(p.x.slice(0, 3))).toEqual(Array.from(Float32Array.from(x[9]!)));
    expect(p.tasks[1]!.labelled).toBe(1);
  });
});

describe('prepareData bad data', () => {
  const cases: Array<[string, (d: ReturnType<typeof good>) => unknown, string, RegExp]> = [
    [
      'wrong number of features',
      (d) => ({ ...d, x: d.x.map((r) => [...r, 0]) }),
      'x[0]',
      /4 features per row \(expected 3/,
    ],
    [
      'a ragged row of x',
      (d) => {
        d.x[3] = [1, 2];
        return d;
      },
      'x[3]',
      /row 3 of x has 2 values/,
    ],
    [
      'NaN in x',
      (d) => {
        d.x[3]![2] = NaN;
        return d;
      },
      'x[3][2]',
      /x\[3\]\[2\] is NaN.*Impute/,
    ],
    [
      'Infinity in x',
      (d) => {
        d.x[5]![0] = Infinity;
        return d;
      },
      'x[5][0]',
      /Infinity/,
    ],
    [
      'a string in x',
      (d) => {
        (d.x[1] as unknown[])[1] = '3';
        return d;
      },
      'x[1][1]',
      /not a number/,
    ],
    [
      'a flat x whose shape disagrees',
      (d) => ({ ...d, x: { values: new Float32Array(N * 3), shape: [N, 4] } }),
      'x',
      /4 features per row/,
    ],
    [
      'a flat x with too few values',
      (d) => ({ ...d, x: { values: new Float32Array(5), shape: [N, 3] } }),
      'x.values',
      /5 numbers \(expected 16 × 3/,
    ],
    ['a rank-3 tensor x', (d) => ({ ...d, x: 'tensor3' }), 'x', /rank-2/],
    ['no rows', (d) => ({ ...d, x: [] }), 'x', /no rows/],
    [
      'a task missing from y',
      (d) => {
        delete d.y.click;
        return d;
      },
      'y.click',
      /task "click" has no labels in y.*mask: \{ click:/,
    ],
    [
      'a multiclass label outside its classes',
      (d) => {
        d.y.segment[12] = 3;
        return d;
      },
      'y.segment[12]',
      /outside its classes .*got 3; expected a whole class index 0\.\.2/,
    ],
    [
      'a fractional class',
      (d) => {
        d.y.segment[2] = 1.5;
        return d;
      },
      'y.segment[2]',
      /got 1\.5/,
    ],
    [
      'an unknown class name',
      (d) => {
        d.y.segment[2] = 'top';
        return d;
      },
      'y.segment[2]',
      /got "top"/,
    ],
    [
      'a binary label that is not 0/1',
      (d) => {
        d.y.click[4] = 2;
        return d;
      },
      'y.click[4]',
      /got 2; expected 0 or 1/,
    ],
    [
      'a multilabel row of the wrong width',
      (d) => {
        d.y.tags[2] = [1];
        return d;
      },
      'y.tags[2]',
      /has 1 values \(expected 2/,
    ],
    [
      'a multilabel value that is not 0/1',
      (d) => {
        (d.y.tags as unknown[][])[2] = [1, 0.5];
        return d;
      },
      'y.tags[2][1]',
      /got 0\.5/,
    ],
    [
      'a regression label that is infinite',
      (d) => {
        (d.y.price as number[][])[5] = [1, Infinity];
        return d;
      },
      'y.price[5][1]',
      /not a finite number/,
    ],
    [
      'a single regression label where two are needed',
      (d) => {
        (d.y.price as unknown[])[5] = 3;
        return d;
      },
      'y.price[5]',
      /row of 2 labels/,
    ],
    [
      'labels shorter than x',
      (d) => {
        d.y.click.pop();
        return d;
      },
      'y.click',
      /15 labels \(expected 16/,
    ],
    [
      'a label tensor of the wrong shape',
      (d) => ({ ...d, y: { ...d.y, price: 'tensor[16,3]' } }),
      'y.price',
      /shape \[16, 3\] \(expected \[16, 2\]/,
    ],
    [
      'an unknown task in y',
      (d) => {
        d.y.clik = d.y.click;
        return d;
      },
      'y.clik',
      /unknown task "clik" in y \(expected any of: price, click, segment, tags\)/,
    ],
    [
      'an unknown task in mask',
      (d) => ({ ...d, mask: { sgement: [] } }),
      'mask.sgement',
      /unknown task "sgement" in mask/,
    ],
    [
      'a mask of the wrong length',
      (d) => ({ ...d, mask: { click: [1, 0] } }),
      'mask.click',
      /2 values \(expected 16/,
    ],
    [
      'a mask value that is not 0/1',
      (d) => ({ ...d, mask: { click: x.map((_, i) => (i === 3 ? 2 : 1)) } }),
      'mask.click[3]',
      /must be 0 or 1 \(got 2\)/,
    ],
    [
      'a task with no labelled row',
      (d) => {
        d.y.click = d.y.click.map(() => -1);
        return d;
      },
      'y.click',
      /no labelled row \(all 16 labels are missing or masked\)/,
    ],
    [
      'y that is not an object',
      (d) => ({ ...d, y: [1, 2] }),
      'y',
      /must be an object keyed by task id/,
    ],
    ['an unknown key in the data', (d) => ({ ...d, labels: {} }), 'labels', /unknown key "labels"/],
  ];

  it.each(cases)('prepareData rejects %s', (_name, change, path, message) => {
    const d = change(good()) as Record<string, unknown>;
    const tensors: tf.Tensor[] = [];
    if (d.x === 'tensor3') tensors.push((d.x = tf.zeros([N, 3, 1])));
    const y = d.y as Record<string, unknown>;
    if (y?.price === 'tensor[16,3]') tensors.push((y.price = tf.zeros([N, 3]) as tf.Tensor));
    try {
      const error = fails(d);
      expect(error.path).toBe(path);
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(
        new RegExp(`^mtgraph/fit: .* → at ${path.replace(/[[\].]/g, '\\$&')}\\. `),
      );
    } finally {
      tf.dispose(tensors);
    }
  });

  it('prepareData names the data it reads with a prefix (validation data)', () => {
    const d = good();
    d.x[1]![0] = NaN;
    expect(() =>
      prepareData(plan, d, { scope: 'mtgraph/fit', prefix: 'options.validationData' }),
    ).toThrowError(expect.objectContaining({ path: 'options.validationData.x[1][0]' }));
  });

  it('prepareData error text reads scope, what, where and fix', () => {
    const d = good();
    d.y.segment[12] = 3;
    expect(() => prepareData(plan, d, { scope: 'mtgraph/fit' })).toThrowErrorMatchingInlineSnapshot(
      `[DataError: mtgraph/fit: a label outside its classes for multiclass task "segment" (got 3; expected a whole class index 0..2 or a class name ("low", "mid", "high") (-1, NaN or null for a missing label)) → at y.segment[12]. Fix the label, or mark it missing with -1 / NaN or a 0 in mask.]`,
    );
  });

  it('prepareFeatures validates x alone', () => {
    expect(prepareFeatures(plan, x, { scope: 'mtgraph/predict' }).rows).toBe(N);
    expect(() => prepareFeatures(plan, [[1, 2]], { scope: 'mtgraph/predict' })).toThrowError(
      /mtgraph\/predict: x has 2 features per row/,
    );
  });
});
