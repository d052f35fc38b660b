import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Objective, sharedRepresentation, taskParameters } from '../../src/train/index.js';
import { strategyNames } from '../../src/plan/index.js';
import { prepareData, toTensors } from '../../src/data/index.js';
import { cpu, features, fixtureModel, type FixtureOptions } from './fixture.js';

beforeAll(cpu);

/** Four tasks, two related pairs and a conflict between them (so clustered makes two groups). */
const FOUR: FixtureOptions = {
  features: 5,
  trunk: [6, 4],
  tower: [3],
  tasks: {
    a: { kind: 'regression' },
    b: { kind: 'binary' },
    c: { kind: 'multiclass', classes: 3 },
    d: { kind: 'regression', outputs: 2 },
  },
  edges: [
    ['a', 'b', 0.8],
    ['c', 'd', 0.7],
    ['b', 'c', -0.5],
  ],
};

function fourData(rows: number) {
  const x = features(rows, 5, 2);
  return {
    x,
    y: {
      a: x.map((v) => v[0]!),
      b: x.map((v) => (v[1]! > 0 ? 1 : 0)),
      c: x.map((_, i) => i % 3),
      d: x.map((v) => [v[2]!, v[3]!]),
    },
  };
}

describe.each(strategyNames())('taskParameters on strategy %s', (strategy) => {
  it(`taskParameters on ${strategy} splits the variables exactly as the task gradients reach them`, () => {
    const model = fixtureModel({ ...FOUR, strategy });
    const objective = new Objective(model.plan, model.outputIndex);
    const data = toTensors(
      prepareData(model.plan, fourData(12), { scope: 'test' }),
      objective.order,
    );
    try {
      const params = taskParameters(model);
      // A partition of the trainable variables.
      const all = [params.shared, ...params.own.values()].flat();
      expect(new Set(all).size).toBe(all.length);
      expect(new Set(all)).toEqual(new Set(model.trainableVariables));
      // Which tasks' losses reach each variable, measured with one variableGrads per task.
      const reached = new Map<string, number>();
      objective.order.forEach((_, t) => {
        const { value, grads } = tf.variableGrads(() => {
          const outputs = model.model.apply(data.x, { training: true }) as tf.Tensor[];
          const { num, den } = objective.taskSums(
            t,
            outputs[objective.outputs[t]!]!,
            data.y,
            data.mask,
          );
          return tf.div(num, tf.maximum(den, 1)) as tf.Scalar;
        }, model.trainableVariables);
        for (const name of Object.keys(grads)) reached.set(name, (reached.get(name) ?? 0) + 1);
        tf.dispose([value, ...Object.values(grads)]);
      });
      for (const v of model.trainableVariables) {
        expect(
          params.shared.includes(v),
          `${v.name} reached by ${reached.get(v.name)} task(s)`,
        ).toBe((reached.get(v.name) ?? 0) >= 2);
      }
      for (const [task, vars] of params.own) {
        expect(vars.length, task).toBeGreaterThan(0);
        for (const v of vars) expect(reached.get(v.name), `${task}: ${v.name}`).toBe(1);
      }
      // The last shared layers are shared kernels (none without shared parameters).
      for (const v of params.last) expect(params.shared).toContain(v);
      expect(params.last.length > 0).toBe(params.shared.length > 0);
    } finally {
      tf.dispose([data.x, data.y, data.mask]);
      model.dispose();
    }
  });
});

describe('taskParameters', () => {
  it('taskParameters on a hard model names the trunk as shared and its last kernel as the last shared layer', () => {
    const model = fixtureModel({ ...FOUR, strategy: 'hard' });
    const params = taskParameters(model);
    const trunk = model.layerNames.blocks.get(model.plan.blocks[0]!.id)!;
    const trunkVars = trunk.flatMap((s) =>
      model.model.getLayer(s.dense).trainableWeights.map((w) => w.read()),
    );
    expect(params.shared).toEqual(trunkVars);
    expect(params.last).toEqual([
      model.model.getLayer(trunk.at(-1)!.dense).trainableWeights[0]!.read(),
    ]);
    expect(params.last[0]!.shape).toEqual([6, 4]);
    model.dispose();
  });
});

describe('sharedRepresentation', () => {
  it('sharedRepresentation decode(encode(x)) gives the model outputs on a hard model with batch norm', () => {
    const model = fixtureModel({
      ...FOUR,
      strategy: 'hard',
      extra: { trunk: { units: [6, 4], batchNorm: true } },
    });
    const split = sharedRepresentation(model)!;
    expect(split.block).toBe(model.plan.blocks.at(-1)!.id);
    tf.tidy(() => {
      const x = tf.tensor2d(features(7, 5, 3));
      const outputs = model.model.apply(x, { training: false }) as tf.Tensor[];
      const z = split.encode(x, false);
      expect(z.shape).toEqual([7, 4]);
      for (const task of model.plan.tasks) {
        const mine = split.decode(task.id, z, false).dataSync();
        const theirs = outputs[model.outputIndex.get(task.id)!]!.dataSync();
        expect(
          Array.from(mine)
            .map((v, i) => Math.abs(v - theirs[i]!))
            .every((d) => d < 1e-6),
          task.id,
        ).toBe(true);
      }
    });
    model.dispose();
  });

  it('sharedRepresentation is undefined where the tasks do not all read one block', () => {
    for (const strategy of ['single', 'clustered', 'mmoe', 'cross-stitch', 'soft']) {
      const model = fixtureModel({ ...FOUR, strategy });
      expect(sharedRepresentation(model), strategy).toBeUndefined();
      model.dispose();
    }
  });
});
