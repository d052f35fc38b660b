import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { predict } from '../../src/train/index.js';
import { OptionsError } from '../../src/errors.js';
import { cpu, features, fixtureModel, FOUR_TASKS } from './fixture.js';

beforeAll(cpu);

describe('predict as arrays', () => {
  it('returns the tensors values as rows, with the decided classes, and leaks nothing', () => {
    const model = fixtureModel({ features: 6, trunk: [8], tasks: FOUR_TASKS });
    const x = features(5, 6, 3);
    const tensors = predict(model, x);
    const before = tf.memory().numTensors;
    const arrays = predict(model, x, { as: 'arrays' });
    expect(tf.memory().numTensors).toBe(before);
    for (const t of model.plan.tasks) {
      const rows = tensors[t.id]!.arraySync() as number[][];
      expect(arrays[t.id]!.values).toEqual(rows);
    }
    const seg = arrays.segment!;
    seg.values.forEach((r, i) => {
      const best = r.indexOf(Math.max(...r));
      expect((seg.classes as number[])[i]).toBe(best);
    });
    arrays.click!.values.forEach((r, i) =>
      expect((arrays.click!.classes as number[])[i]).toBe(r[0]! >= 0.5 ? 1 : 0),
    );
    arrays.tags!.values.forEach((r, i) =>
      expect((arrays.tags!.classes as number[][])[i]).toEqual(r.map((p) => (p >= 0.5 ? 1 : 0))),
    );
    expect(arrays.price!.classes).toBeUndefined();
    expect(arrays.price!.values[0]).toHaveLength(2);
    tf.dispose(Object.values(tensors));
    expect(() => predict(model, x, { as: 'lists' as never })).toThrow(OptionsError);
    model.dispose();
  });
});
