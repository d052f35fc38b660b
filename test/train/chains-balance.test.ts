import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, predict, TaskGraph } from '../../src/index.js';
import { fit, Objective, taskParameters } from '../../src/train/index.js';
import { prepareData, toTensors } from '../../src/data/index.js';
import type { MtgraphModel } from '../../src/network/types.js';
import { cpu, features, weightsOf } from './fixture.js';

beforeAll(cpu);

const COLUMNS = ['c0', 'c1', 'c2', 'c3', 'c4'];

/**
 * Every chain attribute on a hard trunk: purchase is conditioned on click (its loss reaches click's
 * head and tower), spend reads click's tower (gradients flow), score reads base's tower with
 * stopped gradients (its loss does not reach base), and own reads only its column c4 (no trunk).
 */
function chainGraph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 5, columns: COLUMNS } });
  g.addTask('click', { kind: 'binary' });
  g.addTask('purchase', { kind: 'binary', condition: 'click' } as never);
  g.addTask('spend', { kind: 'regression', reads: ['click'] } as never);
  g.addTask('base', { kind: 'binary' });
  g.addTask('score', { kind: 'regression', reads: ['base'], readsStopGradient: true } as never);
  g.addTask('own', { kind: 'binary', inputs: ['c4'], inputsOnly: true } as never);
  return g;
}

function chainModel(seed = 2): MtgraphModel {
  return compile(chainGraph(), {
    strategy: 'hard',
    trunk: { units: [4] },
    tower: { units: [3] },
    seed,
  });
}

function chainData(rows: number, seed = 3) {
  const x = features(rows, 5, seed);
  const click = x.map((r) => (r[0]! > 0 ? 1 : 0));
  return {
    x,
    y: {
      click,
      purchase: x.map((r, i) => (click[i]! && r[1]! > 0 ? 1 : 0)),
      spend: x.map((r) => r[0]! + r[2]!),
      base: x.map((r) => (r[2]! > 0 ? 1 : 0)),
      score: x.map((r) => r[3]! - r[2]!),
      own: x.map((r) => (r[4]! > 0 ? 1 : 0)),
    },
  };
}

/** Each task's loss gradient on every trainable variable, by hand, from the model's own outputs. */
function taskGradients(model: MtgraphModel, data: ReturnType<typeof chainData>) {
  const objective = new Objective(model.plan, model.outputIndex);
  const tensors = toTensors(prepareData(model.plan, data, { scope: 'test' }), objective.order);
  const perTask = objective.order.map((_, t) =>
    tf.variableGrads(() => {
      const outputs = model.model.apply(tensors.x, { training: true }) as tf.Tensor[];
      const { num, den } = objective.taskSums(
        t,
        outputs[objective.outputs[t]!]!,
        tensors.y,
        tensors.mask,
      );
      return tf.div(num, tf.maximum(den, 1)) as tf.Scalar;
    }, model.trainableVariables),
  );
  // A variable a task's loss does not reach has no entry: zeros.
  const grads = perTask.map((p) =>
    Object.fromEntries(
      model.trainableVariables.map((v) => [
        v.name,
        p.grads[v.name] ? Array.from(p.grads[v.name]!.dataSync()) : new Array(v.size).fill(0),
      ]),
    ),
  );
  tf.dispose(perTask.flatMap((p) => [p.value, ...Object.values(p.grads)]));
  tf.dispose([tensors.x, tensors.y, tensors.mask]);
  return { order: objective.order, grads };
}

const reaches = (g: number[]) => g.some((v) => v !== 0);

describe('gradient balancers on chained models', () => {
  it('taskParameters: every variable a task loss reaches is shared or its own, and no other task reaches its own', () => {
    const model = chainModel();
    const data = chainData(32);
    const { order, grads } = taskGradients(model, data);
    const params = taskParameters(model);
    const shared = new Set(params.shared.map((v) => v.name));
    order.forEach((task, t) => {
      const own = new Set(params.own.get(task)!.map((v) => v.name));
      for (const v of model.trainableVariables) {
        if (reaches(grads[t]![v.name]!))
          expect(shared.has(v.name) || own.has(v.name), `${task} reaches ${v.name}`).toBe(true);
        if (!own.has(v.name)) continue;
        order.forEach((other, u) => {
          const alsoOwn = params.own.get(other)!.some((w) => w.name === v.name);
          if (u !== t && !alsoOwn)
            expect(reaches(grads[u]![v.name]!), `${other} reaches ${task}'s ${v.name}`).toBe(false);
        });
      }
    });
    // click's head and tower: click, purchase (condition) and spend (reads) reach them; base's tower
    // only base (score's read stops gradients); own reaches no trunk variable.
    const layerVars = (name: string) =>
      model.model.getLayer(name).trainableWeights.map((w) => (w.read() as tf.Variable).name);
    const clickTower = layerVars(model.layerNames.towers.get('click')![0]!.dense);
    const clickHead = layerVars(model.layerNames.heads.get('click')!);
    for (const v of [...clickTower, ...clickHead]) expect(shared.has(v), v).toBe(true);
    const baseTower = layerVars(model.layerNames.towers.get('base')![0]!.dense);
    const baseOwn = params.own.get('base')!.map((v) => v.name);
    for (const v of baseTower) expect(baseOwn).toContain(v);
    const trunk = layerVars(model.layerNames.blocks.get('trunk')![0]!.dense);
    const ownIndex = order.indexOf('own');
    for (const v of trunk) {
      expect(shared.has(v)).toBe(true);
      expect(reaches(grads[ownIndex]![v]!)).toBe(false);
    }
    model.dispose();
  });

  it('pcgrad: one SGD step moves each variable by the balanced sum of the task gradients that reach it', async () => {
    const model = chainModel(4);
    const data = chainData(24, 5);
    const { order, grads } = taskGradients(model, data);
    const before = weightsOf(model);
    const lr = 0.1;
    const history = await fit(model, data, {
      epochs: 1,
      batchSize: 64,
      balance: 'pcgrad',
      metrics: false,
      optimizer: { name: 'sgd', learningRate: lr },
    });
    const w = order.map((task) => history.weights[task]![0]!);
    // The tasks' trunk gradients conflict somewhere: pcgrad's weights are not all 1.
    expect(w.some((x) => Math.abs(x - 1) > 1e-3)).toBe(true);
    const after = weightsOf(model);
    const index = new Map(model.model.weights.map((wt, i) => [(wt.read() as tf.Variable).name, i]));
    let checked = 0;
    for (const v of model.trainableVariables) {
      const users = order.flatMap((_, t) => (reaches(grads[t]![v.name]!) ? [t] : []));
      // Reached by two tasks or more: the balanced combination; by one: that task's own gradient.
      const coef = (t: number) => (users.length >= 2 ? w[t]! : 1);
      const i = index.get(v.name)!;
      after[i]!.forEach((value, k) => {
        const step = users.reduce((s, t) => s + coef(t) * grads[t]![v.name]![k]!, 0);
        expect(value, `${v.name}[${k}]`).toBeCloseTo(before[i]![k]! - lr * step, 5);
        checked++;
      });
    }
    expect(checked).toBe(model.model.countParams());
    model.dispose();
  });

  it('mgda: a task reaching no shared variable (inputsOnly) gets weight 0 and the trunk still moves', async () => {
    const model = chainModel(6);
    const trunk = model.model.getLayer(model.layerNames.blocks.get('trunk')![0]!.dense);
    const start = trunk.getWeights().map((t) => Array.from(t.dataSync()));
    const history = await fit(model, chainData(48, 7), {
      epochs: 1,
      batchSize: 64,
      balance: 'mgda',
      metrics: false,
      optimizer: { name: 'sgd', learningRate: 0.1 },
    });
    expect(history.weights.own![0]).toBe(0);
    const rest = Object.entries(history.weights).filter(([t]) => t !== 'own');
    expect(rest.reduce((s, [, ws]) => s + ws[0]!, 0)).toBeCloseTo(1, 5);
    const moved = trunk.getWeights().map((t) => Array.from(t.dataSync()));
    expect(moved.flat().some((v, k) => Math.abs(v - start.flat()[k]!) > 1e-6)).toBe(true);
    model.dispose();
  });

  it.each(['pcgrad', 'gradnorm', 'mgda', 'cagrad'])(
    'fit with %s trains a chained model: the losses fall, p(purchase) <= p(click), no tensor leaks',
    async (balance) => {
      const model = chainModel(8);
      const data = chainData(128, 9);
      const before = tf.memory().numTensors;
      const history = await fit(model, data, {
        epochs: 8,
        batchSize: 32,
        balance,
        metrics: false,
        optimizer: { name: 'adam', learningRate: 0.02 },
      });
      expect(tf.memory().numTensors).toBe(before);
      for (const [task, losses] of Object.entries(history.taskLoss))
        expect(losses.at(-1)!, `${balance} ${task}`).toBeLessThan(losses[0]!);
      const p = predict(model, data.x.slice(0, 32), { as: 'arrays' });
      p.purchase!.values.forEach((v, i) =>
        expect(v[0]!).toBeLessThanOrEqual(p.click!.values[i]![0]! + 1e-7),
      );
      model.dispose();
    },
  );
});
