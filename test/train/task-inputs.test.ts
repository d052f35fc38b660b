import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, fit, loadModel, plan, predict, saveModel, TaskGraph } from '../../src/index.js';
import { GraphSpecError } from '../../src/errors.js';
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
