import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit, getLoss } from '../../src/train/index.js';
import { PlanError } from '../../src/errors.js';
import { cpu, features, fixtureModel } from './fixture.js';

beforeAll(cpu);

function perElement(
  name: string,
  yTrue: number[][],
  yPred: number[][],
  options?: Record<string, number>,
): number[][] {
  return tf.tidy(
    () =>
      getLoss(name)!
        .compute(tf.tensor2d(yTrue), tf.tensor2d(yPred), options)
        .arraySync() as number[][],
  );
}

describe('focal and logcosh losses', () => {
  it('focal matches -alpha_t (1 - p_t)^gamma log p_t by hand', () => {
    const v = perElement('focal', [[1, 0]], [[0.8, 0.3]], { gamma: 2, alpha: 0.25 });
    expect(v[0]![0]).toBeCloseTo(0.25 * 0.2 ** 2 * -Math.log(0.8), 6); // 0.0022314
    expect(v[0]![1]).toBeCloseTo(0.75 * 0.3 ** 2 * -Math.log(0.7), 6); // 0.0240756
    // gamma 0, alpha 0.5: half the binary cross-entropy.
    const half = perElement('focal', [[1, 0]], [[0.8, 0.3]], { gamma: 0, alpha: 0.5 });
    expect(half[0]![0]).toBeCloseTo(-0.5 * Math.log(0.8), 6);
    expect(half[0]![1]).toBeCloseTo(-0.5 * Math.log(0.7), 6);
    // Defaults (gamma 2, alpha 0.25) when no options are given.
    expect(perElement('focal', [[1]], [[0.8]])[0]![0]).toBeCloseTo(0.0022314355, 6);
  });

  it('logcosh matches log(cosh(e)) by hand, without overflow for large errors', () => {
    const v = perElement('logcosh', [[0], [1], [0]], [[0.5], [-2], [20]]);
    expect(v[0]![0]).toBeCloseTo(0.1201145069, 5);
    expect(v[1]![0]).toBeCloseTo(2.3093285046, 5);
    expect(v[2]![0]).toBeCloseTo(19.3068528194, 4);
  });

  it('fit trains a binary task with focal loss and a regression task with logcosh', async () => {
    const model = fixtureModel({
      features: 3,
      trunk: [8],
      tasks: {
        click: { kind: 'binary', loss: 'focal', lossOptions: { gamma: 1, alpha: 0.5 } },
        price: { kind: 'regression', loss: 'logcosh' },
      },
    });
    expect(model.plan.tasks[0]!.lossOptions).toEqual({ gamma: 1, alpha: 0.5 });
    const x = features(64, 3, 2);
    const y = { click: x.map((v) => (v[0]! > 0 ? 1 : 0)), price: x.map((v) => v[1]! - v[2]!) };
    const before = tf.memory().numTensors;
    const h = await fit(
      model,
      { x, y },
      {
        epochs: 30,
        batchSize: 16,
        seed: 1,
        metrics: false,
        optimizer: { name: 'adam', learningRate: 0.02 },
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(h.taskLoss.click!.at(-1)!).toBeLessThan(h.taskLoss.click![0]! * 0.8);
    expect(h.taskLoss.price!.at(-1)!).toBeLessThan(h.taskLoss.price![0]! * 0.8);
    model.dispose();
  });

  it('fit refuses lossOptions the loss does not take', async () => {
    const x = features(8, 3, 2);
    const bad = async (attrs: Record<string, unknown>) => {
      const model = fixtureModel({
        features: 3,
        tasks: { click: { kind: 'binary', ...attrs } as never },
      });
      try {
        await fit(model, { x, y: { click: x.map(() => 1) } }, { epochs: 1 });
      } finally {
        model.dispose();
      }
    };
    await expect(bad({ loss: 'focal', lossOptions: { beta: 1 } })).rejects.toThrow(
      /loss "focal" of task "click" has no option "beta" \(expected one of gamma, alpha\)/,
    );
    await expect(bad({ loss: 'focal', lossOptions: { alpha: 2 } })).rejects.toThrow(PlanError);
    await expect(bad({ lossOptions: { gamma: 2 } })).rejects.toThrow(
      /loss "binary-crossentropy" .* has no option "gamma" \(expected none\)/,
    );
  });
});
