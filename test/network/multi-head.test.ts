import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import {
  build,
  deriveSeed,
  FusedHeadLaplacian,
  fusedHeadGroups,
  LaplacianPenalty,
  MultiHead,
  planLayerClasses,
} from '../../src/network/index.js';
import { plan } from '../../src/plan/compile-plan.js';
import type { Plan } from '../../src/plan/types.js';
import { taskParameters } from '../../src/train/parameters.js';
import { smallGraph } from './helpers.js';
import { TaskGraph } from '../../src/graph/index.js';

beforeAll(async () => {
  await initBackend();
});

const TRUNK = { units: [6, 4] };

/** Two regression tasks and two two-label tasks. */
function fourHeads(): TaskGraph {
  const g = new TaskGraph({ input: { features: 5 } });
  g.addTask('a', { kind: 'regression' });
  g.addTask('b', { kind: 'regression' });
  g.addTask('c', { kind: 'multilabel', labels: ['x', 'y'] });
  g.addTask('d', { kind: 'multilabel', labels: ['x', 'y'] });
  g.addAffinity('a', 'b', { weight: 0.5 });
  g.addAffinity('c', 'd', { weight: 0.5 });
  return g;
}

/** The trunk's output of a hard model: x through the one block's layers. */
function trunkOutput(m: ReturnType<typeof build>, x: tf.Tensor): tf.Tensor2D {
  let h = x;
  for (const steps of m.layerNames.blocks.values()) {
    for (const s of steps)
      for (const name of [s.dense, s.batchNorm, s.activation, s.dropout])
        if (name) h = m.model.getLayer(name).apply(h) as tf.Tensor;
  }
  return h as tf.Tensor2D;
}

describe('fused heads', () => {
  it('hard fuses every head into one MultiHead; single, soft and mmoe fuse none', () => {
    const hard = plan(smallGraph(), { strategy: 'hard', trunk: TRUNK });
    expect(fusedHeadGroups(hard)).toEqual([
      { parent: hard.blocks[0]!.id, tasks: hard.tasks.map((t) => t.id) },
    ]);
    expect(planLayerClasses(hard)).toEqual(
      expect.arrayContaining(['MtgraphMultiHead', 'MtgraphColumns']),
    );
    for (const strategy of ['single', 'soft', 'mmoe', 'cross-stitch'] as const) {
      expect(fusedHeadGroups(plan(smallGraph(), { strategy, trunk: TRUNK }))).toEqual([]);
    }
  });

  it('clustered fuses the heads of each group of two or more tasks, and keeps a lone head a Dense', () => {
    const p = plan(smallGraph(), {
      strategy: 'clustered',
      trunk: TRUNK,
      clustered: { groups: [['click', 'spend', 'tags'], ['segment id/2']] },
    });
    const groups = fusedHeadGroups(p);
    expect(groups.map((g) => g.tasks)).toEqual([['click', 'spend', 'tags']]);
    const m = build(p);
    try {
      expect(m.model.layers.filter((l) => l instanceof MultiHead)).toHaveLength(1);
      expect(m.model.getLayer(m.layerNames.heads.get('segment id/2')!).getClassName()).toBe(
        'Dense',
      );
      expect(m.model.outputNames).toEqual(p.tasks.map((t) => m.layerNames.heads.get(t.id)));
    } finally {
      m.dispose();
    }
  });

  it('heads a head Laplacian reads are fused when all of them read one block, and the penalty reads the fused columns', () => {
    const p = plan(fourHeads(), { strategy: 'hard', trunk: TRUNK, seed: 5 });
    // Two one-unit heads and two two-unit heads: column c of a head is paired with column c of its partner.
    const pairs: Array<[string, string, number]> = [
      ['a', 'b', 0.5],
      ['c', 'd', 0.25],
      ['b', 'a', 0.1],
    ];
    const coupled: Plan = {
      ...p,
      couplings: [{ kind: 'laplacian', layer: 'head', strength: 0.3, pairs }],
    } as Plan;
    expect(fusedHeadGroups(coupled).map((g) => g.tasks)).toEqual([p.tasks.map((t) => t.id)]);
    const m = build(coupled);
    try {
      expect(m.penalties).toHaveLength(1);
      expect(m.penalties[0]).toBeInstanceOf(FusedHeadLaplacian);
      const [name, tasks] = [...m.layerNames.fusedHeads][0]!;
      const layer = m.model.getLayer(name) as MultiHead;
      const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable) as [
        tf.Variable,
        tf.Variable,
      ];
      // Reference: strength * sum w ||W_a - W_b||^2 over each head's own columns of the fused kernel and bias.
      const offset = (t: string) =>
        tasks.slice(0, tasks.indexOf(t)).reduce((n, u) => n + layer.units[tasks.indexOf(u)]!, 0);
      const own = (t: string) => [
        tf.slice(kernel, [0, offset(t)], [-1, layer.units[tasks.indexOf(t)]!]),
        tf.slice(bias, [offset(t)], [layer.units[tasks.indexOf(t)]!]),
      ];
      const reference = () =>
        tf.addN(
          pairs.map(([a, b, w]) => {
            const [ka, ba] = own(a);
            const [kb, bb] = own(b);
            return tf.mul(
              tf.add(
                tf.sum(tf.squaredDifference(ka!, kb!)),
                tf.sum(tf.squaredDifference(ba!, bb!)),
              ),
              0.3 * w,
            );
          }),
        ) as tf.Scalar;
      // A bias that is not zero, so that its part is checked too.
      bias.assign(tf.randomNormal(bias.shape, 0, 1, 'float32', 3));
      const before = tf.memory().numTensors;
      const ours = tf.variableGrads(() => m.penalty(), [kernel, bias]);
      const theirs = tf.variableGrads(reference, [kernel, bias]);
      expect(ours.value.dataSync()[0]).toBeGreaterThan(0);
      expect(ours.value.dataSync()[0]).toBeCloseTo(theirs.value.dataSync()[0]!, 5);
      for (const v of [kernel, bias]) {
        const diff = tf.tidy(
          () => tf.max(tf.abs(tf.sub(ours.grads[v.name]!, theirs.grads[v.name]!))).dataSync()[0]!,
        );
        expect(diff).toBeLessThan(1e-5);
      }
      tf.dispose([
        ours.value,
        theirs.value,
        ...Object.values(ours.grads),
        ...Object.values(theirs.grads),
      ]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  });

  it('heads a head Laplacian reads keep their own Dense when they read different blocks', () => {
    const p = plan(fourHeads(), {
      strategy: 'clustered',
      trunk: TRUNK,
      clustered: {
        groups: [
          ['a', 'c'],
          ['b', 'd'],
        ],
      },
    });
    expect(fusedHeadGroups(p).map((g) => g.tasks)).toEqual([
      ['a', 'c'],
      ['b', 'd'],
    ]);
    // a and b read different blocks: the coupling keeps both Dense, and with them their partners' groups shrink to one head.
    const coupled: Plan = {
      ...p,
      couplings: [{ kind: 'laplacian', layer: 'head', strength: 0.1, pairs: [['a', 'b', 0.5]] }],
    } as Plan;
    expect(fusedHeadGroups(coupled)).toEqual([]);
    const m = build(coupled);
    try {
      expect(m.penalties).toHaveLength(1);
      expect(m.penalties[0]).toBeInstanceOf(LaplacianPenalty);
      expect(m.model.getLayer(m.layerNames.heads.get('a')!).getClassName()).toBe('Dense');
      expect(tf.tidy(() => m.penalty().dataSync()[0]!)).toBeGreaterThan(0);
    } finally {
      m.dispose();
    }
  });

  it("each output equals its activation of the trunk times the task's column block, and starts from its own seeded Dense init", () => {
    const p = plan(smallGraph(), { strategy: 'hard', trunk: TRUNK, seed: 11 });
    const m = build(p);
    try {
      const [name, tasks] = [...m.layerNames.fusedHeads][0]!;
      const layer = m.model.getLayer(name) as MultiHead;
      const [kernel, bias] = layer.getWeights() as [tf.Tensor2D, tf.Tensor1D]; // the variables themselves
      expect(kernel.shape).toEqual([4, tasks.reduce((s, id) => s + p.heads[id]!.units, 0)]);
      // The initial kernel: block i = glorotUniform seeded for head i's layer name, as an unfused Dense head.
      let offset = 0;
      for (const id of tasks) {
        const units = p.heads[id]!.units;
        const own = tf.initializers
          .glorotUniform({ seed: deriveSeed(11, m.layerNames.heads.get(id)!) })
          .apply([4, units]);
        const block = tf.slice(kernel, [0, offset], [-1, units]);
        expect(Array.from(block.dataSync())).toEqual(Array.from(own.dataSync()));
        tf.dispose([own, block]);
        offset += units;
      }
      // Move the weights off their start, then compare outputs with the column-block arithmetic.
      const scrambled = [
        tf.randomNormal(kernel.shape, 0, 1, 'float32', 2),
        tf.randomNormal(bias.shape, 0, 1, 'float32', 3),
      ];
      layer.setWeights(scrambled);
      const x = tf.randomNormal([9, 5], 0, 1, 'float32', 4);
      const ys = m.model.predict(x) as tf.Tensor[];
      const z = trunkOutput(m, x);
      offset = 0;
      for (const id of tasks) {
        const units = p.heads[id]!.units;
        const logits = tf.add(
          tf.matMul(z, tf.slice(scrambled[0]!, [0, offset], [-1, units])),
          tf.slice(scrambled[1]!, [offset], [units]),
        );
        const activation = p.heads[id]!.activation;
        const expected =
          activation === 'softmax'
            ? tf.softmax(logits)
            : activation === 'sigmoid'
              ? tf.sigmoid(logits)
              : logits;
        const got = ys[m.outputIndex.get(id)!]!;
        expect(got.shape).toEqual([9, units]);
        expect(tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]).toBeLessThan(1e-5);
        offset += units;
      }
      tf.dispose([...scrambled, x, ...ys]); // kernel and bias are the layer's own variables
    } finally {
      m.dispose();
    }
  });

  it("lists a fused head's kernel and bias under each of its tasks, never as shared", () => {
    const m = build(plan(smallGraph(), { strategy: 'hard', trunk: TRUNK }));
    try {
      const params = taskParameters(m);
      const [name] = [...m.layerNames.fusedHeads][0]!;
      const fused = m.model
        .getLayer(name)
        .trainableWeights.map((w) => (w.read() as tf.Variable).name);
      expect(fused).toHaveLength(2);
      expect(params.shared.map((v) => v.name)).not.toEqual(expect.arrayContaining([fused[0]]));
      for (const t of m.plan.tasks) expect(params.own.get(t.id)!.map((v) => v.name)).toEqual(fused);
    } finally {
      m.dispose();
    }
  });
});

describe('training view of fused heads', () => {
  it('gives the same masked loss sums and gradients as the per-task outputs, for heads of every kind', async () => {
    const { Objective } = await import('../../src/train/objective.js');
    const { trainingView, forwardView, forward } = await import('../../src/train/forward.js');
    const p = plan(smallGraph(), { strategy: 'hard', trunk: TRUNK, seed: 5 });
    const m = build(p);
    try {
      const view = trainingView(m)!;
      expect(view.model.outputs).toHaveLength(1); // one MultiHead, every head in it
      const objective = new Objective(m.plan, m.outputIndex);
      const rows = 12;
      const x = tf.randomNormal([rows, 5], 0, 1, 'float32', 7);
      // Packed labels in training order: regression values, 0/1 for binary and multilabel, class indexes for multiclass.
      const columns = objective.tasks.flatMap((t) => (t.kind === 'multilabel' ? [t, t] : [t]));
      const y = tf.tensor2d(
        Array.from({ length: rows }, (_, r) =>
          columns.map((t, c) =>
            t.kind === 'regression' ? r / 3 - c : t.kind === 'multiclass' ? r % 3 : (r + c) % 2,
          ),
        ),
        [rows, columns.length],
      );
      const mask = tf.tensor2d(
        Array.from({ length: rows }, (_, r) => columns.map((_, c) => ((r + c) % 4 === 0 ? 0 : 1))),
        [rows, columns.length],
      );
      const via = (useView: boolean) =>
        tf.variableGrads(() => {
          const { num, den } = useView
            ? objective.viewSums(view, forwardView(view, x as tf.Tensor2D, true), y, mask)
            : objective.sums(forward(m, x as tf.Tensor2D, true), y, mask);
          return tf.sum(tf.div(num, tf.maximum(den, 1))) as tf.Scalar;
        }, m.trainableVariables);
      const warm = [via(true), via(false)];
      tf.dispose(warm.flatMap((r) => [r.value, ...Object.values(r.grads)]));
      const before = tf.memory().numTensors;
      const a = via(true);
      const b = via(false);
      expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0]!, 5);
      expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
      for (const name of Object.keys(a.grads)) {
        expect(
          tf.tidy(() => tf.max(tf.abs(tf.sub(a.grads[name]!, b.grads[name]!))).dataSync()[0]),
        ).toBeLessThan(1e-5);
      }
      tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
      expect(tf.memory().numTensors).toBe(before); // nothing kept from either pass
      tf.dispose([x, y, mask]);
    } finally {
      m.dispose();
    }
  });
});
