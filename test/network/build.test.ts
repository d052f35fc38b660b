import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import {
  build,
  compile,
  CrossStitch,
  planLayerClasses,
  registerHead,
  sanitizeName,
} from '../../src/network/index.js';
import { denseHead } from '../../src/network/heads/index.js';
import { OptionsError, PlanError } from '../../src/errors.js';
import { plan } from '../../src/plan/compile-plan.js';
import type { Plan } from '../../src/plan/types.js';
import { TaskGraph } from '../../src/graph/task-graph.js';
import { STRATEGIES, smallGraph } from './helpers.js';

beforeAll(async () => {
  await initBackend();
});

const TRUNK = { units: [6, 4] };

describe('build', () => {
  it.each(STRATEGIES)(
    'build %s gives one output per task of shape batch x head units, finite',
    (strategy) => {
      const p = plan(smallGraph(), { strategy, trunk: TRUNK });
      const m = build(p);
      try {
        expect(m.model.outputs).toHaveLength(p.tasks.length);
        expect(m.model.countParams()).toBe(p.params.total);
        const x = tf.randomNormal([7, 5], 0, 1, 'float32', 3);
        const ys = m.model.predict(x) as tf.Tensor[];
        p.tasks.forEach((t, i) => {
          expect(m.outputIndex.get(t.id)).toBe(i);
          expect(ys[i]!.shape).toEqual([7, p.heads[t.id]!.units]);
          expect(tf.all(tf.isFinite(ys[i]!)).dataSync()[0]).toBe(1);
        });
        tf.dispose([x, ...ys]);
      } finally {
        m.dispose();
      }
    },
  );

  it.each(STRATEGIES)(
    'build %s can be trained: every trainable variable gets a finite gradient',
    (strategy) => {
      const m = compile(smallGraph(), {
        strategy,
        trunk: { units: [4, 4], batchNorm: true, dropout: 0.1 },
      });
      try {
        const x = tf.randomNormal([8, 5], 0, 1, 'float32', 4);
        const { value, grads } = tf.variableGrads(() => {
          const ys = m.model.apply(x, { training: true }) as tf.Tensor[];
          return tf.addN([...ys.map((y) => tf.mean(tf.square(y))), m.penalty()]) as tf.Scalar;
        }, m.trainableVariables);
        expect(Object.keys(grads)).toHaveLength(m.trainableVariables.length);
        for (const g of Object.values(grads)) expect(tf.all(tf.isFinite(g)).dataSync()[0]).toBe(1);
        tf.dispose([x, value, grads]);
      } finally {
        m.dispose();
      }
    },
  );

  it.each(STRATEGIES)(
    'planLayerClasses lists exactly the layer classes of the built %s model, with and without a target scale',
    (strategy) => {
      for (const scale of [{}, { targetScale: { spend: { mean: 3, std: 2 } } }]) {
        const p = plan(smallGraph(), {
          strategy,
          trunk: { units: [4, 4], batchNorm: true, dropout: 0.1 },
          ...scale,
        });
        const m = build(p);
        expect(planLayerClasses(p).sort()).toEqual(
          [...new Set(m.model.layers.map((l) => l.getClassName()))].sort(),
        );
        m.dispose();
      }
    },
  );

  it('build names outputs by task id, sanitised where tfjs cannot hold the characters', () => {
    const m = compile(smallGraph(), { strategy: 'hard', trunk: TRUNK });
    expect(m.model.outputNames).toEqual(['click', 'segment_id_2', 'spend', 'tags']);
    expect(m.layerNames.heads.get('segment id/2')).toBe('segment_id_2');
    expect(m.outputIndex.get('segment id/2')).toBe(1);
    expect(sanitizeName('_x y')).toBe('x_x_y');
    m.dispose();
  });

  it('build keeps layer names unique when a task id collides with an internal name', () => {
    const g = new TaskGraph({ input: { features: 3 } });
    g.addTask('input', { kind: 'regression' });
    g.addTask('trunk.dense0', { kind: 'binary' });
    const m = compile(g, { strategy: 'hard', trunk: { units: [2] } });
    expect(m.model.outputNames).toEqual(['input', 'trunk.dense0']);
    expect(m.layerNames.input).toBe('input_2');
    expect(m.layerNames.blocks.get('trunk')![0]!.dense).toBe('trunk.dense0_2');
    m.dispose();
  });

  it('build with the same seed gives the same weights, another seed others', () => {
    const p = plan(smallGraph(), { strategy: 'ple', trunk: TRUNK });
    const [a, b, c] = [build(p, { seed: 7 }), build(p, { seed: 7 }), build(p, { seed: 8 })];
    const values = (m: typeof a) => m.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(values(a)).toEqual(values(b));
    expect(values(a)).not.toEqual(values(c));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('build defaults the seed to the plan seed', () => {
    const p = plan(smallGraph(), { strategy: 'hard', trunk: TRUNK, seed: 5 });
    const [a, b] = [build(p), build(p, { seed: 5 })];
    expect(a.model.getWeights()[0]!.arraySync()).toEqual(b.model.getWeights()[0]!.arraySync());
    [a, b].forEach((m) => m.dispose());
  });

  it('compile keeps the graph with the model', () => {
    const m = compile(smallGraph(), { strategy: 'soft', trunk: TRUNK });
    expect(m.graph?.nodes.map((n) => n.key)).toEqual(['click', 'segment id/2', 'spend', 'tags']);
    m.dispose();
  });

  it('build leaks no tensors: predict leaves the count unchanged, dispose returns to the baseline', () => {
    for (const strategy of STRATEGIES) {
      const baseline = tf.memory().numTensors;
      const m = compile(smallGraph(), {
        strategy,
        trunk: { units: [4], batchNorm: true, dropout: 0.2 },
      });
      expect(tf.memory().numTensors - baseline).toBe(m.model.weights.length);
      const x = tf.ones([3, 5]);
      const built = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.dispose(m.model.predict(x) as tf.Tensor[]);
      m.penalty().dispose();
      expect(tf.memory().numTensors).toBe(built);
      x.dispose();
      m.dispose();
      m.dispose();
      expect(tf.memory().numTensors).toBe(baseline);
    }
  });
});

describe('build refuses plans it cannot build', () => {
  const base = () => plan(smallGraph(), { strategy: 'cross-stitch', trunk: TRUNK });

  it('build refuses a tower reading an unknown block', () => {
    const p = base();
    p.towers.click!.parent = 'nowhere';
    expect(() => build(p)).toThrow(PlanError);
    expect(() => build(p)).toThrow(/unknown "nowhere"/);
  });

  it('build refuses a cross-stitch alpha of the wrong size', () => {
    const p = base();
    const c = p.couplings[0]!;
    if (c.kind !== 'cross-stitch') throw new Error('expected cross-stitch');
    c.alpha = [[1]];
    expect(() => build(p)).toThrow(/alpha must be a \d x \d matrix/);
  });

  it('build refuses a Laplacian pair whose layers differ in shape', () => {
    const p = plan(smallGraph(), { strategy: 'soft', trunk: TRUNK });
    p.couplings.push({
      kind: 'laplacian',
      layer: 'head',
      strength: 1,
      pairs: [['click', 'segment id/2', 1]],
    });
    expect(() => build(p)).toThrow(/differ in shape/);
  });

  it('build refuses a negative Laplacian weight', () => {
    const p = plan(smallGraph(), { strategy: 'soft', trunk: TRUNK });
    p.couplings.push({
      kind: 'laplacian',
      layer: 0,
      strength: 1,
      pairs: [['click', 'tags', -0.5]],
    });
    expect(() => build(p)).toThrow(/negative weight \(got -0.5\)/);
  });

  it('build refuses an unknown plan version and a bad seed', () => {
    expect(() => build({ ...base(), version: 2 } as unknown as Plan)).toThrow(PlanError);
    expect(() => build(base(), { seed: 1.5 })).toThrow(OptionsError);
  });

  it('build frees what it made when it fails half way', () => {
    const baseline = tf.memory().numTensors;
    const failing = registerHead({
      kinds: ['regression'],
      layerClasses: [],
      build() {
        throw new Error('boom');
      },
    });
    try {
      expect(() => build(base())).toThrow('boom');
    } finally {
      registerHead(denseHead);
    }
    expect(failing.kinds).toEqual(['regression']);
    expect(tf.memory().numTensors).toBe(baseline);
  });
});

describe('cross-stitch', () => {
  it('cross-stitch starts from the plan alpha and mixes the towers with it', () => {
    const p = plan(smallGraph(), { strategy: 'cross-stitch', trunk: TRUNK });
    const m = build(p);
    p.couplings.forEach((c, i) => {
      if (c.kind !== 'cross-stitch') return;
      const layer = m.model.getLayer(m.layerNames.couplings.get(i)!);
      expect(layer).toBeInstanceOf(CrossStitch);
      const alpha = layer.getWeights()[0]!.arraySync() as number[][];
      c.alpha.forEach((row, r) => row.forEach((v, k) => expect(alpha[r]![k]).toBeCloseTo(v, 6)));
    });
    m.dispose();
  });

  it('cross-stitch computes out_i = sum_j alpha_ij * in_j, side by side in one output', () => {
    const unit = new CrossStitch({
      alpha: [
        [0.9, 0.1],
        [0.3, 0.7],
      ],
    });
    const a = tf.tensor2d([
      [1, 2],
      [0, 1],
    ]);
    const b = tf.tensor2d([
      [10, 20],
      [5, 0],
    ]);
    const out = unit.apply([a, b]) as tf.Tensor;
    expect(out.shape).toEqual([2, 4]);
    const expected = [
      [1.9, 3.8, 7.3, 14.6],
      [0.5, 0.9, 3.5, 0.3],
    ];
    Array.from(out.dataSync()).forEach((v, i) =>
      expect(v).toBeCloseTo(expected[Math.floor(i / 4)]![i % 4]!, 5),
    );
    tf.dispose([a, b, out]);
    unit.dispose();
  });

  it('a cross-stitch model runs each unit once per forward pass (one output, then a Columns layer per tower)', () => {
    const g = new TaskGraph({ input: { features: 4 } });
    for (let t = 0; t < 5; t++) g.addTask(`t${t}`, { kind: 'regression' });
    for (let t = 1; t < 5; t++) g.addAffinity('t0', `t${t}`, { weight: 0.5 });
    const m = compile(g, { strategy: 'cross-stitch', trunk: { units: [6, 3] } });
    try {
      const units = m.model.layers.filter((l) => l instanceof CrossStitch);
      expect(units.length).toBeGreaterThan(0);
      let calls = 0;
      for (const u of units) {
        const call = u.call.bind(u);
        u.call = (inputs: tf.Tensor | tf.Tensor[]) => {
          calls++;
          return call(inputs);
        };
      }
      const x = tf.randomNormal([3, 4], 0, 1, 'float32', 1);
      tf.dispose(m.model.predict(x) as tf.Tensor[]);
      expect(calls).toBe(units.length);
      x.dispose();
    } finally {
      m.dispose();
    }
  });

  it('cross-stitch serialises through the tfjs registry', () => {
    const unit = new CrossStitch({
      alpha: [
        [0.8, 0.2],
        [0.25, 0.75],
      ],
      name: 'mix',
    });
    const config = unit.getConfig();
    expect(config.alpha).toEqual([
      [0.8, 0.2],
      [0.25, 0.75],
    ]);
    const json = JSON.parse(JSON.stringify({ className: CrossStitch.className, config }));
    const again = tf.layers.Layer.fromConfig(CrossStitch, json.config) as CrossStitch;
    expect(again.getConfig()).toEqual(config);
    expect(tf.serialization.SerializationMap.getMap().classNameMap.CrossStitch?.[0]).toBe(
      CrossStitch,
    );
  });

  it('cross-stitch refuses a matrix that is not square', () => {
    expect(() => new CrossStitch({ alpha: [[1, 0]] })).toThrow(/square matrix/);
  });
});

describe('gates', () => {
  it('gates over the same experts share one stack (mmoe: one Concatenate for every gate); other gates keep their own (ple)', () => {
    const mmoe = build(
      plan(smallGraph(), { strategy: 'mmoe', trunk: TRUNK, mmoe: { experts: 3 } }),
    );
    const classes = (m: typeof mmoe) => m.model.layers.map((l) => l.getClassName());
    expect(classes(mmoe).filter((c) => c === 'Concatenate')).toHaveLength(1);
    expect(classes(mmoe).filter((c) => c === 'Reshape')).toHaveLength(3);
    expect(classes(mmoe).filter((c) => c === 'MtgraphGateMix')).toHaveLength(
      mmoe.plan.gates.length,
    );
    // Each gate's output is its own weights times the shared stack: sum_e w[e] * expert_e.
    const x = tf.randomNormal([4, 5], 0, 1, 'float32', 3);
    const probe = (name: string) => {
      const out = tf
        .model({
          inputs: mmoe.model.inputs,
          outputs: mmoe.model.getLayer(name).output as tf.SymbolicTensor,
        })
        .predict(x) as tf.Tensor;
      const values = out.arraySync() as number[][];
      out.dispose();
      return values;
    };
    const experts = mmoe.plan.blocks.map((b) =>
      probe(mmoe.layerNames.blocks.get(b.id)!.at(-1)!.dense),
    );
    for (const gate of mmoe.plan.gates) {
      const names = mmoe.layerNames.gates.get(gate.id)!;
      const w = probe(names.weights);
      const mixed = probe(names.mix);
      mixed.forEach((row, r) =>
        row.forEach((v, j) =>
          expect(v).toBeCloseTo(
            gate.experts.reduce((sum, _, e) => sum + w[r]![e]! * experts[e]![r]![j]!, 0),
            5,
          ),
        ),
      );
    }
    x.dispose();
    mmoe.dispose();
    const ple = build(plan(smallGraph(), { strategy: 'ple', trunk: TRUNK }));
    const lists = new Set(ple.plan.gates.map((g) => g.experts.join(',')));
    expect(classes(ple).filter((c) => c === 'Concatenate')).toHaveLength(lists.size);
    ple.dispose();
  });

  it.each(['mmoe', 'ple'] as const)(
    'a %s gate weighs its experts with weights that sum to 1',
    (strategy) => {
      const p = plan(smallGraph(), { strategy, trunk: TRUNK });
      const m = build(p);
      const x = tf.randomNormal([6, 5], 0, 1, 'float32', 9);
      for (const gate of p.gates) {
        const layer = m.model.getLayer(m.layerNames.gates.get(gate.id)!.weights);
        const probe = tf.model({
          inputs: m.model.inputs,
          outputs: layer.output as tf.SymbolicTensor,
        });
        const w = probe.predict(x) as tf.Tensor;
        expect(w.shape).toEqual([6, gate.experts.length]);
        for (const s of w.sum(1).dataSync()) expect(s).toBeCloseTo(1, 5);
        w.dispose();
      }
      x.dispose();
      m.dispose();
    },
  );
});

describe('Laplacian penalty', () => {
  function tiny() {
    const g = new TaskGraph({ input: { features: 2 } });
    g.addTask('a', { kind: 'regression' });
    g.addTask('b', { kind: 'regression' });
    g.addAffinity('a', 'b', { weight: 0.8 });
    return compile(g, { strategy: 'soft', trunk: { units: [2] }, soft: { strength: 0.5 } });
  }
  const set = (layer: tf.layers.Layer, kernel: number[][], bias: number[]) => {
    const values = [tf.tensor2d(kernel), tf.tensor1d(bias)];
    layer.setWeights(values);
    tf.dispose(values);
  };

  it('penalty equals strength * w * ||W_a - W_b||^2 over kernels and biases', () => {
    const m = tiny();
    expect(m.penalties.map((p) => p.name)).toEqual(['laplacian:tower.0', 'laplacian:head']);
    const layer = (name: string) => m.model.getLayer(name);
    set(
      layer(m.layerNames.towers.get('a')![0]!.dense),
      [
        [1, 2],
        [3, 4],
      ],
      [0, 1],
    );
    set(
      layer(m.layerNames.towers.get('b')![0]!.dense),
      [
        [0, 2],
        [3, 5],
      ],
      [1, 1],
    );
    set(layer(m.layerNames.heads.get('a')!), [[1], [1]], [0]);
    set(layer(m.layerNames.heads.get('b')!), [[1], [3]], [2]);
    // tower: (1 + 1) + 1 = 3; head: 4 + 4 = 8; each times 0.5 * 0.8
    const values = m.penalties.map((p) => tf.tidy(() => p.value().dataSync()[0]));
    expect(values[0]).toBeCloseTo(1.2, 6);
    expect(values[1]).toBeCloseTo(3.2, 6);
    expect(tf.tidy(() => m.penalty().dataSync()[0])).toBeCloseTo(4.4, 6);
    m.dispose();
  });

  it('penalty is 0 when the towers are equal, and pulls them together when not', () => {
    const m = tiny();
    const [ta, tb] = ['a', 'b'].map((t) => m.model.getLayer(m.layerNames.towers.get(t)![0]!.dense));
    const [ha, hb] = ['a', 'b'].map((t) => m.model.getLayer(m.layerNames.heads.get(t)!));
    tb!.setWeights(ta!.getWeights());
    hb!.setWeights(ha!.getWeights());
    expect(tf.tidy(() => m.penalty().dataSync()[0])).toBe(0);
    set(
      tb!,
      [
        [0, 0],
        [0, 0],
      ],
      [0, 0],
    );
    const { value, grads } = tf.variableGrads(() => m.penalty(), m.trainableVariables);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    const kernel = grads[(tb!.weights[0]!.read() as tf.Variable).name]!;
    expect(tf.tidy(() => tf.sum(tf.abs(kernel)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([value, grads]);
    m.dispose();
  });

  it('penalty() is a scalar 0 without couplings', () => {
    const m = compile(smallGraph(), { strategy: 'hard', trunk: TRUNK });
    expect(m.penalties).toEqual([]);
    expect(tf.tidy(() => m.penalty().dataSync()[0])).toBe(0);
    m.dispose();
  });
});
