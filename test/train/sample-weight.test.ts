import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fit, Objective } from '../../src/train/index.js';
import { applySampleWeights } from '../../src/train/sample-weight.js';
import { prepareData, toTensors } from '../../src/data/index.js';
import { OptionsError } from '../../src/errors.js';
import type { TaskData } from '../../src/data/types.js';
import { cpu, features, fixtureModel, weightsOf, type FixtureOptions } from './fixture.js';

beforeAll(cpu);

const TWO: FixtureOptions = {
  features: 3,
  trunk: [4],
  tasks: { click: { kind: 'binary' }, segment: { kind: 'multiclass', classes: 3 } },
  edges: [['click', 'segment', 0.5]],
};
const rows = 8;
const x = features(rows, 3, 7);
const y = {
  click: x.map((v) => (v[0]! > 0 ? 1 : 0)),
  segment: x.map((_, i) => i % 3),
};

function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((w, i) => w.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}

async function trained(options: Record<string, unknown>, data: TaskData = { x, y }) {
  const model = fixtureModel(TWO);
  await fit(model, data, {
    epochs: 2,
    batchSize: 4,
    optimizer: { name: 'sgd', learningRate: 0.5 },
    metrics: false,
    ...options,
  });
  const w = weightsOf(model);
  model.dispose();
  return w;
}

describe('sampleWeight and classWeight', () => {
  it('the objective sums weight * loss and counts the entries with weight > 0', () => {
    const model = fixtureModel(TWO);
    const prepared = prepareData(model.plan, { x, y }, { scope: 'test' });
    const sw = [2, 0, 1, 0.5, 1, 1, 3, 0];
    const weighted = applySampleWeights(model.plan, prepared, { click: sw }, { click: [1, 4] });
    const objective = new Objective(model.plan, model.outputIndex);
    objective.weighted = true;
    const tensors = toTensors(weighted, objective.order);
    const p = [0.9, 0.2, 0.6, 0.3, 0.5, 0.7, 0.1, 0.4];
    const outputs = model.plan.tasks.map((t) =>
      t.id === 'click' ? tf.tensor2d(p, [rows, 1]) : tf.fill([rows, 3], 1 / 3),
    );
    const ordered = objective.order.map(
      (id) => outputs[model.plan.tasks.findIndex((t) => t.id === id)]!,
    );
    const byOutput: tf.Tensor[] = [];
    objective.order.forEach((id, i) => (byOutput[objective.outputs[i]!] = ordered[i]!));
    const { num, den } = objective.sums(byOutput, tensors.y, tensors.mask);
    const c = objective.order.indexOf('click');
    // By hand: sum_i sw_i * cw[y_i] * BCE(y_i, p_i); den = rows with weight > 0.
    let expected = 0;
    let count = 0;
    for (let i = 0; i < rows; i++) {
      const label = y.click[i]!;
      const w = sw[i]! * (label === 1 ? 4 : 1);
      expected += w * -(label === 1 ? Math.log(p[i]!) : Math.log(1 - p[i]!));
      if (w > 0) count++;
    }
    expect(num.dataSync()[c]).toBeCloseTo(expected, 4);
    expect(den.dataSync()[c]).toBe(count);
    // The other task is unweighted: den = rows, loss = log 3 each.
    const s = objective.order.indexOf('segment');
    expect(den.dataSync()[s]).toBe(rows);
    expect(num.dataSync()[s]).toBeCloseTo(rows * Math.log(3), 4);
    tf.dispose([...outputs, num, den, tensors.x, tensors.y, tensors.mask]);
    model.dispose();
  });

  it('fit with a weight of 0 on a row trains exactly as with that label missing', async () => {
    const zero = y.click.map((_, i) => (i === 2 || i === 5 ? 0 : 1));
    const a = await trained({ sampleWeight: { click: zero } });
    const missing = { ...y, click: y.click.map((v, i) => (i === 2 || i === 5 ? -1 : v)) };
    const b = await trained({}, { x, y: missing });
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
  });

  it('fit classWeight [1, 3] equals sampleWeight 3 on the positive rows, and differs from no weights', async () => {
    const a = await trained({ classWeight: { click: [1, 3] } });
    const b = await trained({ sampleWeight: { click: y.click.map((v) => (v === 1 ? 3 : 1)) } });
    const c = await trained({});
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
    expect(maxDiff(a, c)).toBeGreaterThan(1e-3);
  });

  it('fit multiclass classWeight weighs each class', async () => {
    const a = await trained({ classWeight: { segment: [1, 2, 0.5] } });
    const b = await trained({
      sampleWeight: { segment: y.segment.map((c) => [1, 2, 0.5][c]!) },
    });
    expect(maxDiff(a, b)).toBeLessThan(1e-6);
  });

  it('fit refuses bad weights with the path', async () => {
    const model = fixtureModel(TWO);
    const bad = (o: Record<string, unknown>) => fit(model, { x, y }, { epochs: 1, ...o });
    await expect(bad({ sampleWeight: { nope: [1] } })).rejects.toThrow(OptionsError);
    await expect(bad({ sampleWeight: { click: [1, 2] } })).rejects.toThrow(
      /options\.sampleWeight\.click.*one weight per row/,
    );
    await expect(bad({ sampleWeight: { click: y.click.map(() => -1) } })).rejects.toThrow(
      /options\.sampleWeight\.click\[0\]/,
    );
    await expect(bad({ classWeight: { segment: [1, 2] } })).rejects.toThrow(
      /classWeight of multiclass task "segment" must be a list of 3 weights/,
    );
    model.dispose();
  });
});
