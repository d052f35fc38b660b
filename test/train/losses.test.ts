import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { getLoss, lossNames, Objective } from '../../src/train/index.js';
import { TASK_KINDS } from '../../src/schema/kinds/index.js';
import { cpu, fixtureModel } from './fixture.js';

beforeAll(cpu);

function perElement(name: string, yTrue: number[][], yPred: number[][]): number[][] {
  return tf.tidy(
    () => getLoss(name)!.compute(tf.tensor2d(yTrue), tf.tensor2d(yPred)).arraySync() as number[][],
  );
}

describe('losses', () => {
  it('every loss a task kind can name is registered', () => {
    for (const kind of Object.values(TASK_KINDS))
      for (const l of kind.losses) expect(lossNames()).toContain(l);
  });

  it('per-element values match hand computation', () => {
    expect(perElement('mse', [[1], [2]], [[0], [4]])).toEqual([[1], [4]]);
    expect(perElement('mae', [[1], [2]], [[0], [4]])).toEqual([[1], [2]]);
    const huber = perElement('huber', [[0], [0]], [[0.5], [3]]);
    expect(huber[0]![0]).toBeCloseTo(0.125, 6);
    expect(huber[1]![0]).toBeCloseTo(2.5, 6);
    const bce = perElement(
      'binary-crossentropy',
      [
        [1, 0],
        [1, 0],
      ],
      [
        [0.9, 0.2],
        [0, 1],
      ],
    );
    expect(bce[0]![0]).toBeCloseTo(-Math.log(0.9), 5);
    expect(bce[0]![1]).toBeCloseTo(-Math.log(0.8), 5);
    expect(bce[1]![0]).toBeCloseTo(-Math.log(1e-7), 1); // clipped, finite
    expect(Number.isFinite(bce[1]![1]!)).toBe(true);
    const ce = perElement(
      'crossentropy',
      [[0], [2]],
      [
        [0.7, 0.2, 0.1],
        [0.1, 0.3, 0.6],
      ],
    );
    expect(ce[0]![0]).toBeCloseTo(-Math.log(0.7), 5);
    expect(ce[1]![0]).toBeCloseTo(-Math.log(0.6), 5);
  });

  it('a NaN output gives a NaN loss even where a clip would hide it', () => {
    expect(perElement('binary-crossentropy', [[1]], [[NaN]])[0]![0]).toBeNaN();
    expect(perElement('crossentropy', [[0]], [[NaN, 0.5]])[0]![0]).toBeNaN();
  });

  it('Objective reduces sum(mask * loss) / max(1, sum(mask)) per task', () => {
    const model = fixtureModel({
      features: 2,
      tasks: {
        a: { kind: 'regression', outputs: 2 },
        b: { kind: 'regression' },
        c: { kind: 'multiclass', classes: 3 },
      },
    });
    const objective = new Objective(model.plan, model.outputIndex);
    try {
      expect(objective.order).toEqual(['a', 'b', 'c']);
      const [num, den] = tf.tidy(() => {
        const outputs = [
          tf.tensor2d([
            [1, 2],
            [3, 4],
          ]),
          tf.tensor2d([[0], [1]]),
          tf.tensor2d([
            [0.5, 0.25, 0.25],
            [0.1, 0.1, 0.8],
          ]),
        ];
        const y = tf.tensor2d([
          [0, 0, 5, 2],
          [3, 3, 1, 0],
        ]);
        const mask = tf.tensor2d([
          [1, 1, 0, 1],
          [0, 1, 0, 0],
        ]);
        const s = objective.sums(outputs, y, mask);
        return [s.num.arraySync(), s.den.arraySync()];
      });
      // a: (1 + 4) + 1 over 3 labelled values; b: nothing labelled; c: -log(0.25) for row 0
      expect(num[0]).toBeCloseTo(6, 5);
      expect(den).toEqual([3, 0, 1]);
      expect(num[1]).toBe(0);
      expect(num[2]).toBeCloseTo(-Math.log(0.25), 5);
    } finally {
      objective.dispose();
      model.dispose();
    }
  });
});
