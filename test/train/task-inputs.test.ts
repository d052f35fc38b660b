import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compile,
  fit,
  loadModel,
  plan,
  predict,
  renderPlanSvg,
  saveModel,
  TaskGraph,
} from '../../src/index.js';
import { GraphSpecError } from '../../src/errors.js';
import { explain } from '../../src/plan/index.js';
import { cpu, features } from './fixture.js';
import { removeDir, tempDir } from '../hardening/helpers.js';

let root: string;
beforeAll(async () => {
  await cpu();
  root = await tempDir('task-inputs');
});
afterAll(async () => removeDir(root));

const COLUMNS = ['age', 'visits', 'city=paris', 'city=rome'];

function graph(inputs: unknown): TaskGraph {
  const g = new TaskGraph({ input: { features: 4, columns: COLUMNS } });
  g.addTask('spend', { kind: 'regression' });
  g.addTask('click', { kind: 'binary', inputs } as never);
  return g;
}

describe('per-task inputs', () => {
  it('resolves names (a one-hot source column gives all of its columns) and counts them in the tower', () => {
    const p = plan(graph(['visits', 'city']), {
      strategy: 'hard',
      trunk: { units: [5] },
      tower: { units: [3] },
    });
    const click = p.tasks.find((t) => t.id === 'click')!;
    expect(click.inputColumns).toEqual([1, 2, 3]);
    // click's tower reads the trunk (5) and its 3 columns: 8 * 3 + 3.
    expect(p.params.towers.click).toBe(8 * 3 + 3);
    expect(p.params.towers.spend).toBe(5 * 3 + 3);
  });

  it('unknown columns, or inputs without named columns, are a GraphSpecError with the path', () => {
    expect(() => plan(graph(['visits', 'income']))).toThrow(GraphSpecError);
    expect(() => plan(graph(['visits', 'income']))).toThrow(
      /task "click" reads an unknown input column \(got "income"; expected one of age, visits, city=paris, city=rome\) → at tasks\.click\.inputs\[1\]/,
    );
    const g = new TaskGraph({ input: { features: 4 } });
    g.addTask('click', { kind: 'binary', inputs: ['age'] } as never);
    expect(() => plan(g)).toThrow(/lists inputs but the graph's input has no column names/);
  });

  it('the tower reads exactly those columns: its output changes with them and with no other column', async () => {
    const model = compile(graph(['visits']), {
      strategy: 'hard',
      trunk: { units: [4] },
      tower: { units: [3] },
      seed: 3,
    });
    expect(model.plan.params.total).toBe(model.model.countParams());
    const x = features(64, 4, 2);
    const y = { spend: x.map((r) => r[0]!), click: x.map((r) => (r[1]! > 0 ? 1 : 0)) };
    const before = tf.memory().numTensors;
    await fit(model, { x, y }, { epochs: 3, batchSize: 16, metrics: false });
    expect(tf.memory().numTensors).toBe(before);
    // Through the Pick layer alone: click's concat layer holds [trunk, visits].
    const pick = model.model.getLayer(model.layerNames.reads.get('click')!.pick!);
    const picked = tf.tidy(() =>
      (pick.apply(tf.tensor2d([[1, 2, 3, 4]])) as tf.Tensor).arraySync(),
    );
    expect(picked).toEqual([[2]]);
    const dir = path.join(root, 'model');
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    expect(predict(loaded, x.slice(0, 8), { as: 'arrays' })).toEqual(
      predict(model, x.slice(0, 8), { as: 'arrays' }),
    );
    model.dispose();
    loaded.dispose();
  });
});

function ownGraph(inputsOnly: boolean, weights: { spend?: number; click?: number } = {}) {
  const g = new TaskGraph({ input: { features: 4, columns: COLUMNS } });
  g.addTask('spend', { kind: 'regression', weight: weights.spend ?? 1 });
  g.addTask('click', {
    kind: 'binary',
    weight: weights.click ?? 1,
    inputs: ['visits', 'city'],
    ...(inputsOnly ? { inputsOnly: true } : {}),
  } as never);
  return g;
}

describe('per-task inputs instead of the shared representation (inputsOnly)', () => {
  it('the tower reads only its columns: parent null, params from its columns alone, blocks and gates only others read are dropped', () => {
    const options = { trunk: { units: [5] }, tower: { units: [3] } };
    const hard = plan(ownGraph(true), { strategy: 'hard', ...options });
    const click = hard.tasks.find((t) => t.id === 'click')!;
    expect([click.inputColumns, click.inputsOnly]).toEqual([[1, 2, 3], true]);
    expect(hard.towers.click!.parent).toBeNull();
    // 3 columns -> 3 units: 3 * 3 + 3; its head 3 + 1. spend keeps the trunk: 4 * 5 + 5, 5 * 3 + 3, 3 + 1.
    expect(hard.params.towers.click).toBe(3 * 3 + 3);
    expect(hard.params.total).toBe(25 + 18 + 4 + 12 + 4);
    expect(hard.blocks.map((b) => [b.id, b.tasks])).toEqual([['trunk', ['spend']]]);
    // mmoe: click's gate is gone, the experts are spend's alone.
    const mmoe = plan(ownGraph(true), { strategy: 'mmoe', ...options, mmoe: { experts: 2 } });
    expect(mmoe.gates.map((g) => g.id)).toEqual(['gate.spend']);
    for (const b of mmoe.blocks) expect(b.tasks).toEqual(['spend']);
    // every task reading its own columns: no shared block is left.
    const g = new TaskGraph({ input: { features: 4, columns: COLUMNS } });
    g.addTask('a', { kind: 'regression', inputs: ['age'], inputsOnly: true } as never);
    g.addTask('b', { kind: 'binary', inputs: ['visits'], inputsOnly: true } as never);
    const none = plan(g, { strategy: 'hard', ...options });
    expect([none.blocks, none.params.total]).toEqual([[], 2 * (1 * 3 + 3 + 3 + 1)]);
    for (const s of ['hard', 'mmoe', 'ple', 'single', 'clustered']) {
      const m = compile(ownGraph(true), { strategy: s, ...options });
      expect(m.plan.params.total, s).toBe(m.model.countParams());
      m.dispose();
    }
  });

  it('inputsOnly without inputs, or with an unknown column, is a GraphSpecError naming the task', () => {
    const g = new TaskGraph({ input: { features: 4, columns: COLUMNS } });
    g.addTask('click', { kind: 'binary', inputsOnly: true } as never);
    expect(() => plan(g)).toThrow(GraphSpecError);
    expect(() => plan(g)).toThrow(
      /task "click" sets inputsOnly but lists no inputs \(got inputsOnly: true; expected inputs: \[columns\.\.\.\]\) → at tasks\.click\.inputsOnly/,
    );
    const h = new TaskGraph({ input: { features: 4, columns: COLUMNS } });
    h.addTask('click', { kind: 'binary', inputs: ['income'], inputsOnly: true } as never);
    expect(() => plan(h)).toThrow(/unknown input column \(got "income"/);
    const k = new TaskGraph({ input: { features: 4, columns: COLUMNS } });
    expect(() =>
      k.addTask('click', { kind: 'binary', inputs: ['age'], inputsOnly: 'yes' } as never),
    ).toThrow(/inputsOnly must be true or false \(got "yes"\)/);
  });

  it('without a tower, the prediction is sigmoid(b + w · its columns), whatever the other columns hold', () => {
    const model = compile(ownGraph(true), {
      strategy: 'hard',
      trunk: { units: [4] },
      tower: { units: [] },
      seed: 1,
    });
    const head = model.model.getLayer(model.layerNames.heads.get('click')!);
    head.setWeights([tf.tensor2d([[0.5], [-1], [2]]), tf.tensor1d([0.25])]);
    const rows = [
      [9, 1, 1, 0],
      [-3, 1, 1, 0],
      [0, -2, 0, 1],
    ];
    const before = tf.memory().numTensors;
    const got = predict(model, rows, { as: 'arrays' }).click!.values.map((r) => r[0]!);
    expect(tf.memory().numTensors).toBe(before);
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    const want = rows.map((r) => sigmoid(0.25 + 0.5 * r[1]! - 1 * r[2]! + 2 * r[3]!));
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    // age (column 0) is not read: rows 0 and 1 differ only there.
    expect(got[0]).toBe(got[1]);
    model.dispose();
  });

  it('its loss trains no shared block: the trunk ends the same whatever the task weight; with inputs in addition it does not', async () => {
    const x = features(64, 4, 5);
    const y = { spend: x.map((r) => r[0]! + r[1]!), click: x.map((r) => (r[1]! > 0 ? 1 : 0)) };
    const run = async (inputsOnly: boolean, click: number) => {
      const model = compile(ownGraph(inputsOnly, { click }), {
        strategy: 'hard',
        trunk: { units: [4] },
        tower: { units: [3] },
        seed: 3,
      });
      const before = tf.memory().numTensors;
      await fit(model, { x, y }, { epochs: 3, batchSize: 16, metrics: false, seed: 2 });
      expect(tf.memory().numTensors).toBe(before);
      const trunk = model.model
        .getLayer(model.layerNames.blocks.get('trunk')![0]!.dense)
        .getWeights()
        .map((w) => Array.from(w.dataSync()));
      const out = predict(model, x.slice(0, 8), { as: 'arrays' }).click!.values;
      model.dispose();
      return { trunk, out };
    };
    const [a, b] = [await run(true, 1), await run(true, 0)];
    expect(a.trunk).toEqual(b.trunk);
    expect(a.out).not.toEqual(b.out);
    const [c, d] = [await run(false, 1), await run(false, 0)];
    expect(c.trunk).not.toEqual(d.trunk);
  });

  it('explain and the plan diagram say which form a task reads; save/load keeps it', async () => {
    const own = plan(ownGraph(true), { strategy: 'hard' });
    expect(explain(own)).toMatch(
      /task inputs:\n {2}click \(inputs only\): its tower reads only its 3 input column\(s\) \(visits, city\), instead of the shared representation: its loss trains no shared block/,
    );
    expect(explain(plan(ownGraph(false), { strategy: 'hard' }))).toMatch(
      /click \(inputs\): its tower also reads 3 input column\(s\) \(visits, city\) beside the shared representation/,
    );
    expect(renderPlanSvg(own)).toMatch(
      /reads only its input columns visits, city, not the shared representation/,
    );
    expect(renderPlanSvg(plan(ownGraph(false), { strategy: 'hard' }))).toMatch(
      /also reads its input columns visits, city/,
    );
    const model = compile(ownGraph(true), { strategy: 'hard', seed: 4 });
    const dir = path.join(root, 'inputs-only');
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    expect(loaded.plan.tasks[1]!.inputsOnly).toBe(true);
    const x = features(8, 4, 6);
    expect(predict(loaded, x, { as: 'arrays' })).toEqual(predict(model, x, { as: 'arrays' }));
    model.dispose();
    loaded.dispose();
  });
});
