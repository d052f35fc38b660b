import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataError, TrainingError } from '../../src/errors.js';
import { prepareData } from '../../src/data/prepare.js';
import { fit } from '../../src/train/index.js';
import { cpu, fixtureModel, fixturePlan, type FixtureOptions } from '../train/fixture.js';

/**
 * Data at the edges: every value that cannot be trained on is a DataError naming the row and
 * column, raised before any tensor exists; every value that is accepted has a documented meaning.
 */

const KINDS: FixtureOptions = {
  features: 2,
  trunk: [4],
  tasks: {
    r: { kind: 'regression' },
    b: { kind: 'binary' },
    m: { kind: 'multiclass', classes: 3 },
    l: { kind: 'multilabel', labels: 2 },
  },
};
const PLAN = fixturePlan(KINDS);
const X = [
  [1, 2],
  [3, 4],
];
const Y = {
  r: [1, 2],
  b: [0, 1],
  m: [0, 2],
  l: [
    [0, 1],
    [1, 0],
  ],
};

function prepare(data: unknown) {
  return prepareData(PLAN, data, { scope: 'mtgraph/fit' });
}

/** Asserts a DataError at `path`, raised before any tensor is created. */
function refused(data: unknown, path: string, message: RegExp): void {
  const before = tf.memory().numTensors;
  let error: unknown;
  try {
    prepare(data);
  } catch (e) {
    error = e;
  }
  expect(error, `${path}: expected a DataError`).toBeInstanceOf(DataError);
  expect((error as DataError).path).toBe(path);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).toMatch(/^mtgraph\/fit: .* → at \S+\. \S/);
  expect(tf.memory().numTensors).toBe(before);
}

beforeAll(cpu);

describe('features at the edges', () => {
  it.each([
    ['NaN', NaN, /x\[0\]\[1\] is NaN \(features must be finite numbers\).*Impute missing features/],
    ['Infinity', Infinity, /x\[0\]\[1\] is Infinity/],
    ['-Infinity', -Infinity, /x\[0\]\[1\] is -Infinity/],
    [
      '1e300 (float32 overflow)',
      1e300,
      /x\[0\]\[1\] is 1e\+300 \(features must be finite numbers within float32 range\)/,
    ],
    [
      '3.5e38 (just over float32)',
      3.5e38,
      /x\[0\]\[1\] is 3\.5e\+38 \(features must be finite numbers within float32 range\)/,
    ],
    ['a string', '3', /x\[0\]\[1\] is not a number \(got "3"\)/],
    ['a boolean', true, /x\[0\]\[1\] is not a number \(got true\)/],
    ['a nested array', [3], /x\[0\]\[1\] is not a number \(got an array of 1\)/],
    ['null', null, /x\[0\]\[1\] is not a number \(got null\)/],
    ['a bigint', 3n, /x\[0\]\[1\] is not a number \(got bigint\)/],
    ['a hole', undefined, /x\[0\]\[1\] is not a number \(got undefined\)/],
  ])('a feature that is %s is a DataError naming x[0][1]', (_what, value, message) => {
    refused(
      {
        x: [
          [1, value],
          [3, 4],
        ],
        y: Y,
      },
      'x[0][1]',
      message,
    );
  });

  it('huge values in a Float64Array or a list behind { values, shape } are reported as given, not as float32 Infinity', () => {
    refused(
      { x: { values: new Float64Array([1, 1e300, 3, 4]), shape: [2, 2] }, y: Y },
      'x[0][1]',
      /x\[0\]\[1\] is 1e\+300 \(features must be finite numbers within float32 range\)/,
    );
    refused({ x: { values: [1, 2, 3, -1e40], shape: [2, 2] }, y: Y }, 'x[1][1]', /is -1e\+40/);
    refused(
      { x: { values: [1, '2', 3, 4], shape: [2, 2] }, y: Y },
      'x[0][1]',
      /not a number \(got "2"\)/,
    );
    const t = tf.tensor2d([
      [1, NaN],
      [3, 4],
    ]);
    refused({ x: t, y: Y }, 'x[0][1]', /is NaN/);
    t.dispose();
  });

  it('features below float32 precision (1e-300) become 0, as a Float32Array would hold them (documented)', () => {
    expect(
      Array.from(
        prepare({
          x: [
            [1e-300, 2],
            [3, 4],
          ],
          y: Y,
        }).x,
      ),
    ).toEqual([0, 2, 3, 4]);
  });

  it('no rows, ragged rows and wrong widths are DataErrors', () => {
    refused({ x: [], y: { r: [], b: [], m: [], l: [] } }, 'x', /x has no rows/);
    refused({ x: { values: new Float32Array(0), shape: [0, 2] }, y: Y }, 'x', /x has no rows/);
    refused({ x: [[1, 2], [3]], y: Y }, 'x[1]', /row 1 of x has 1 values \(expected 2/);
    refused(
      {
        x: [
          [1, 2, 3],
          [3, 4, 5],
        ],
        y: Y,
      },
      'x[0]',
      /x has 3 features per row \(expected 2/,
    );
  });
});

describe('labels at the edges', () => {
  it.each([
    [
      'r',
      'a regression label of 1e300',
      [1e300, 2],
      'y.r[0]',
      /not a finite number for regression task "r" \(got 1e\+300/,
    ],
    ['r', 'a regression label of Infinity', [Infinity, 2], 'y.r[0]', /got Infinity/],
    ['r', 'a regression label that is a string', ['1', 2], 'y.r[0]', /got "1"/],
    ['r', 'a regression label that is a boolean', [true, 2], 'y.r[0]', /got true/],
    ['r', 'a regression label nested too deep', [[[1]], 2], 'y.r[0]', /got an array of 1/],
    [
      'b',
      'a binary label of 2',
      [2, 1],
      'y.b[0]',
      /outside its classes for binary task "b" \(got 2; expected 0 or 1/,
    ],
    ['b', 'a binary label of 0.5', [0.5, 1], 'y.b[0]', /got 0\.5/],
    ['b', 'a binary label that is a string', ['1', 1], 'y.b[0]', /got "1"/],
    [
      'm',
      'a multiclass label of 1.5',
      [1.5, 1],
      'y.m[0]',
      /got 1\.5; expected a whole class index 0\.\.2/,
    ],
    ['m', 'a multiclass label of 3', [0, 3], 'y.m[1]', /got 3/],
    ['m', 'an unknown class name', ['gold', 1], 'y.m[0]', /got "gold"/],
    [
      'l',
      'a multilabel row nested too deep',
      [
        [[0], 1],
        [1, 0],
      ],
      'y.l[0][0]',
      /outside its classes for multilabel task "l" \(got an array of 1/,
    ],
    [
      'l',
      'a multilabel row too short',
      [[0], [1, 0]],
      'y.l[0]',
      /row 0 of the labels of task "l" has 1 values \(expected 2/,
    ],
  ])('y.%s: %s is a DataError', (task, _what, labels, path, message) => {
    refused({ x: X, y: { ...Y, [task]: labels } }, path, message);
  });

  it('accepted label forms: booleans for binary, class names, typed arrays, [value] rows, and missing markers', () => {
    const p = prepare({
      x: X,
      y: {
        r: new Float64Array([NaN, 1e30]),
        b: [true, false],
        m: ['class_2', -1],
        l: [
          [NaN, 1],
          [null, 0],
        ],
      },
    });
    const [r, b, m, l] = p.tasks;
    expect(Array.from(r!.mask)).toEqual([0, 1]); // NaN: missing; 1e30 is a float32 number: kept (its mse may overflow: see non-finite)
    expect(Array.from(b!.labels)).toEqual([1, 0]);
    expect(Array.from(m!.labels)).toEqual([2, 0]);
    expect(Array.from(m!.mask)).toEqual([1, 0]);
    expect(Array.from(l!.mask)).toEqual([0, 1, 0, 1]); // multilabel: missing per label column
    expect(prepare({ x: X, y: { ...Y, r: [[1], [2]] } }).tasks[0]!.labelled).toBe(2);
  });

  it('a task without a single labelled row is a DataError unless it is masked out on purpose', () => {
    refused(
      { x: X, y: { ...Y, b: [-1, NaN] } },
      'y.b',
      /task "b" has no labelled row \(all 2 labels are missing or masked\)/,
    );
    refused({ x: X, y: { ...Y, r: [null, NaN] } }, 'y.r', /task "r" has no labelled row/);
    refused({ x: X, y: { r: Y.r, m: Y.m, l: Y.l } }, 'y.b', /task "b" has no labels in y/);
    const p = prepare({ x: X, y: { r: Y.r, m: Y.m, l: Y.l }, mask: { b: [0, 0] } });
    expect(p.tasks[1]).toMatchObject({ id: 'b', labelled: 0, excluded: true });
  });

  it('unknown tasks (even __proto__), bad masks and length mismatches are DataErrors', () => {
    refused(
      {
        x: X,
        y: JSON.parse('{"r":[1,2],"b":[0,1],"m":[0,2],"l":[[0,1],[1,0]],"__proto__":[1,2]}'),
      },
      'y.__proto__',
      /unknown task "__proto__" in y/,
    );
    refused(
      { x: X, y: Y, mask: { b: [2, 1] } },
      'mask.b[0]',
      /a mask value must be 0 or 1 \(got 2\)/,
    );
    refused(
      { x: X, y: { ...Y, b: [1] } },
      'y.b',
      /task "b" has 1 labels \(expected 2, one per row of x\)/,
    );
    refused({ x: X, y: Y, extra: 1 }, 'extra', /unknown key "extra"/);
  });
});

describe('fit at the edges of size', () => {
  it('fit trains on a single row (metrics that need two classes are NaN) and refuses to split it', async () => {
    const model = fixtureModel(KINDS);
    const one = { x: [[0.5, -0.5]], y: { r: [1], b: [1], m: [2], l: [[1, 0]] } };
    const history = await fit(model, one, { epochs: 3, batchSize: 4 });
    expect(history.loss.every(Number.isFinite)).toBe(true);
    expect(history.trainRows).toBe(1);
    expect(Number.isNaN(history.metrics!.b!.auc![0])).toBe(true);
    await expect(fit(model, one, { epochs: 1, validationSplit: 0.5 })).rejects.toThrow(
      /validationSplit 0\.5 of 1 rows leaves 1 row\(s\) for training and 0 for validation/,
    );
    model.dispose();
  });

  it('fit trains more tasks than rows, each labelled on one row, with a finite loss for every task', async () => {
    const tasks = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [
        `t${i}`,
        { kind: i % 2 ? ('binary' as const) : ('regression' as const) },
      ]),
    );
    const model = fixtureModel({ features: 2, trunk: [4], tasks });
    const y = Object.fromEntries(
      Object.keys(tasks).map((id, i) => [
        id,
        [0, 1, 2].map((row) => (row === i % 3 ? i % 2 : NaN)),
      ]),
    );
    const history = await fit(
      model,
      {
        x: [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        y,
      },
      { epochs: 4, batchSize: 2, metrics: false },
    );
    for (const losses of Object.values(history.taskLoss))
      expect(losses.every(Number.isFinite)).toBe(true);
    model.dispose();
  });

  it('fit with a task masked out entirely trains the others and reports NaN for it', async () => {
    const model = fixtureModel(KINDS);
    const history = await fit(
      model,
      { x: X, y: { r: Y.r, m: Y.m, l: Y.l }, mask: { b: [0, 0] } },
      { epochs: 2, metrics: false },
    );
    expect(history.taskLoss.b!.every(Number.isNaN)).toBe(true);
    expect(history.taskLoss.r!.every(Number.isFinite)).toBe(true);
    model.dispose();
  });

  it('fit on a regression label of 1e30 is a TrainingError (its squared error overflows float32), not silent garbage', async () => {
    const model = fixtureModel(KINDS);
    await expect(
      fit(model, { x: X, y: { ...Y, r: [1e30, 1] } }, { epochs: 2, metrics: false }),
    ).rejects.toThrow(TrainingError);
    model.dispose();
  });
});
