import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../../src/network/types.js';
import type { Plan } from '../../src/plan/types.js';
import type { TaskAttributes } from '../../src/schema/kinds/index.js';
import { TaskGraph } from '../../src/graph/index.js';
import { plan as makePlan } from '../../src/plan/index.js';
import { build } from '../../src/network/index.js';
import { initBackend } from '../../src/backend/index.js';
import type { TaskData } from '../../src/data/index.js';

/** A small graph → plan → model, through the real planner and builder. */
export interface FixtureOptions {
  features: number;
  tasks: Record<string, TaskAttributes>;
  /** Affinities [a, b, weight]. */
  edges?: Array<[string, string, number]>;
  strategy?: string;
  trunk?: number[];
  tower?: number[];
  seed?: number;
  /** Extra strategy sections, e.g. { soft: { strength: 0.1 } }. */
  extra?: Record<string, unknown>;
}

export function fixturePlan(o: FixtureOptions): Plan {
  const g = new TaskGraph({ input: { features: o.features } });
  for (const [id, attrs] of Object.entries(o.tasks)) g.addTask(id, attrs);
  for (const [a, b, weight] of o.edges ?? []) g.addAffinity(a, b, { weight });
  return makePlan(g, {
    strategy: o.strategy ?? 'hard',
    trunk: { units: o.trunk ?? [8] },
    ...(o.tower ? { tower: { units: o.tower } } : {}),
    seed: o.seed ?? 0,
    ...(o.extra ?? {}),
  });
}

export function fixtureModel(o: FixtureOptions): MtgraphModel {
  return build(fixturePlan(o));
}

/** Every variable value of a model, as plain arrays (for equality checks). */
export function weightsOf(model: MtgraphModel): Float32Array[] {
  return model.model.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** Seeded uniform numbers in [0, 1). */
export function rng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** Roughly normal, mean 0, variance 1/3. */
export function gaussian(random: () => number): number {
  return random() + random() + random() + random() - 2;
}

/** rows × d features. */
export function features(rows: number, d: number, seed = 1): number[][] {
  const r = rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: d }, () => gaussian(r)));
}

/**
 * Uses the cpu backend (fast to start, deterministic); call in beforeAll.
 * MTGRAPH_TEST_BACKEND=wasm runs the same tests on wasm.
 */
export async function cpu(): Promise<void> {
  if (process.env.MTGRAPH_TEST_BACKEND === 'wasm') {
    await initBackend({ backend: 'wasm' });
    return;
  }
  // initBackend, not tf.setBackend: fit leaves a backend chosen with initBackend alone (#14)
  await initBackend({ backend: 'cpu' });
}

/** Four tasks of every kind: a two-output regression, a binary, a 3-class and a 2-label task. */
export const FOUR_TASKS: FixtureOptions['tasks'] = {
  price: { kind: 'regression', outputs: 2 },
  click: { kind: 'binary' },
  segment: { kind: 'multiclass', classes: 3 },
  tags: { kind: 'multilabel', labels: 2 },
};

/**
 * Learnable labels for FOUR_TASKS on `rows` rows of `features` features (at least 5); the first tag
 * reads feature `tagFeature`. With `missing` (default), some price and click labels are missing;
 * with `mask`, every sixth segment label is masked out too.
 */
export function fourTaskData(
  rows: number,
  o: { seed?: number; features: number; tagFeature: number; missing?: boolean; mask?: boolean },
): TaskData {
  const seed = o.seed ?? 1;
  const missing = o.missing ?? true;
  const x = features(rows, o.features, seed);
  const r = rng(seed + 100);
  return {
    x,
    y: {
      price: x.map((v, i) => [v[0]! + v[1]!, missing && i % 5 === 0 ? NaN : v[2]! - v[3]!]),
      click: x.map((v, i) => (missing && i % 7 === 0 ? -1 : v[0]! + 0.2 * gaussian(r) > 0 ? 1 : 0)),
      segment: x.map((v) => (v[4]! > 0.3 ? 2 : v[4]! > -0.3 ? 1 : 0)),
      tags: x.map((v) => [v[o.tagFeature]! > 0 ? 1 : 0, v[1]! > 0 ? 1 : 0]),
    },
    ...(o.mask ? { mask: { segment: x.map((_, i) => (i % 6 === 0 ? 0 : 1)) } } : {}),
  };
}
