import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { build } from '../network/build.js';
import { assertTrainable } from '../backend/trainable.js';
import { plan } from '../plan/compile-plan.js';
import type { Plan } from '../plan/types.js';
import { prepareData } from '../data/prepare.js';
import { disposeData, toTensors, type DataTensors } from '../data/tensors.js';
import { seededRandom } from '../graph/random.js';
import { MtgraphError, OptionsError, TrainingError } from '../errors.js';
import { Objective } from '../train/objective.js';
import { forward } from '../train/forward.js';
import { getOptimizer } from '../train/optimizers.js';
import { snapshot, restore } from '../train/weights.js';
import type { AffinityInput } from './registry.js';
import { sharedBlocks, sharedVariables } from './shared.js';

/** What a probe sees at a measured step. Tensors are owned by the loop; the probe runs inside tf.tidy. */
export interface ProbeStep {
  readonly model: MtgraphModel;
  /** The shared variables, in a fixed order. */
  readonly shared: readonly tf.Variable[];
  /** Per task (training order): its loss gradient on each shared variable, or null when the task has no label in the batch. */
  readonly grads: ReadonlyArray<readonly tf.Tensor[] | null>;
  /** Per-task losses of the batch before any change (training order). */
  readonly before: tf.Tensor1D;
  /** Per-task losses of the batch with the model's current weights (inference mode), training order. */
  losses(): tf.Tensor1D;
}

/** A pairwise measurement of one step: `[T, T]` in training order; non-finite entries are skipped. */
export type Probe = (step: ProbeStep) => tf.Tensor2D;

export interface LoopResult {
  /** Mean of the probe's finite values per pair over the measured steps, graph order; NaN where never measured. */
  mean: number[][];
  steps: number;
  trainingSteps: number;
  /** Shared variables and their parameter count, for notes. */
  sharedBlocks: string[];
  sharedParams: number;
}

/** Re-roots an options error of `plan()` under `options.plan`. */
function underPlan(error: unknown): unknown {
  if (!(error instanceof OptionsError) || !error.path.startsWith('options')) return error;
  const path = `options.plan${error.path.slice('options'.length)}`;
  const message = error.message
    .replace('mtgraph/plan:', 'mtgraph/measureAffinity:')
    .replace(`→ at ${error.path}`, `→ at ${path}`);
  return new OptionsError(message, { path, got: error.got, cause: error });
}

/**
 * Trains a model jointly for `options.steps` steps and, at every measured step, computes each
 * task's loss gradient on the shared parameters and hands them to `probe` (before the joint
 * step on the same batch). Measurements run in inference mode (no dropout; batch
 * normalisation uses its moving statistics) so that they depend on the weights only.
 * Validation (options, data, a plan with shared parameters) happens before any tensor exists.
 */
export async function measureWhileTraining(
  input: AffinityInput,
  method: string,
  probe: Probe,
): Promise<LoopResult> {
  const { spec, options, scope } = input;
  const given = options.model;
  let p: Plan;
  if (given) {
    p = given.plan;
    const ids = new Set(spec.tasks.map((t) => t.id));
    const mismatch =
      p.tasks.find((t) => !ids.has(t.id)) ??
      (p.tasks.length !== ids.size
        ? spec.tasks.find((t) => !p.tasks.some((q) => q.id === t.id))
        : undefined);
    if (mismatch) {
      throw new OptionsError(
        `${scope}: the model's tasks do not match the graph's (task "${mismatch.id}" is in one but not the other) → at options.model. Pass the model compiled from this graph.`,
        { path: 'options.model', got: mismatch.id },
      );
    }
  } else {
    try {
      p = plan(input.graph, {
        ...options.plan,
        seed: typeof options.plan.seed === 'number' ? options.plan.seed : options.seed,
      });
    } catch (error) {
      if (error instanceof MtgraphError) throw underPlan(error);
      throw error;
    }
  }
  const blocks = sharedBlocks(p);
  if (blocks.length === 0) {
    const path = given ? 'options.model' : 'options.plan.strategy';
    throw new OptionsError(
      `${scope}: method '${method}' measures how tasks affect each other through shared parameters, but the plan (strategy '${p.strategy}') shares none → at ${path}. Use a plan with shared blocks, e.g. plan: { strategy: 'hard' } (the default).`,
      { path, got: p.strategy },
    );
  }
  const prepared = prepareData(p, input.data, { scope });
  const model = given ?? build(p, { graph: input.graph as { export(): unknown } });
  let data: DataTensors | undefined;
  let optimizer: tf.Optimizer | undefined;
  try {
    assertTrainable(model);
    const objective = new Objective(model.plan, model.outputIndex);
    const T = objective.order.length;
    const shared = sharedVariables(model);
    const variables = model.trainableVariables;
    data = toTensors(prepared, objective.order);
    optimizer = getOptimizer(options.optimizer.name)!.create(options.optimizer.learningRate);
    const weights = tf.tensor1d(objective.tasks.map((t) => t.weight));
    const sum = Array.from({ length: T }, () => new Float64Array(T));
    const count = Array.from({ length: T }, () => new Float64Array(T));
    const n = prepared.rows;
    const perm = Int32Array.from({ length: n }, (_, i) => i);
    const random = seededRandom(options.seed);
    let pos = n;
    let measured = 0;
    const hasPenalty = model.penalties.length > 0;
    try {
      for (let step = 0; step < options.steps; step++) {
        if (pos >= n) {
          shuffle(perm, random);
          pos = 0;
        }
        const size = Math.min(options.batchSize, n - pos);
        const rows = perm.slice(pos, pos + size);
        pos += size;
        const batch = tf.tidy(() => {
          const idx = tf.tensor1d(rows, 'int32');
          return {
            x: tf.gather(data!.x, idx) as tf.Tensor2D,
            y: tf.gather(data!.y, idx) as tf.Tensor2D,
            mask: tf.gather(data!.mask, idx) as tf.Tensor2D,
          };
        });
        try {
          const losses = () =>
            tf.tidy(() => {
              const { num, den } = objective.sums(
                forward(model, batch.x, false),
                batch.y,
                batch.mask,
              );
              return tf.div(num, tf.maximum(den, 1)) as tf.Tensor1D;
            });
          const measure =
            step >= options.warmup && (step - options.warmup) % options.measureEvery === 0;
          if (measure) {
            measured++;
            measureStep(model, objective, batch, shared, losses, probe, sum, count, step, scope);
          }
          tf.tidy(() => {
            const { grads } = tf.variableGrads(() => {
              const { num, den } = objective.sums(
                forward(model, batch.x, true),
                batch.y,
                batch.mask,
              );
              const total = tf.sum(tf.mul(tf.div(num, tf.maximum(den, 1)), weights)) as tf.Scalar;
              return hasPenalty ? tf.add(total, model.penalty()) : total;
            }, variables);
            optimizer!.applyGradients(grads);
          });
        } finally {
          tf.dispose([batch.x, batch.y, batch.mask]);
        }
      }
    } finally {
      weights.dispose();
    }
    // Training order -> graph order.
    const at = spec.tasks.map((t) => objective.order.indexOf(t.id));
    const mean = at.map((i) =>
      at.map((j) => (count[i]![j]! > 0 ? sum[i]![j]! / count[i]![j]! : NaN)),
    );
    const sharedParams = shared.reduce((s, v) => s + v.size, 0);
    return {
      mean,
      steps: measured,
      trainingSteps: options.steps,
      sharedBlocks: blocks,
      sharedParams,
    };
  } finally {
    optimizer?.dispose();
    disposeData(data);
    if (!given) model.dispose();
  }
}

/** One measured step: per-task gradients on the shared variables, the probe, and the accumulation of its finite values. */
function measureStep(
  model: MtgraphModel,
  objective: Objective,
  batch: { x: tf.Tensor2D; y: tf.Tensor2D; mask: tf.Tensor2D },
  shared: tf.Variable[],
  losses: () => tf.Tensor1D,
  probe: Probe,
  sum: Float64Array[],
  count: Float64Array[],
  step: number,
  scope: string,
): void {
  const T = objective.order.length;
  const before = losses();
  const labelled = labelledTasks(objective, batch.mask);
  const beforeValues = before.dataSync();
  const bad = Array.from(beforeValues).findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    before.dispose();
    throw new TrainingError(
      `${scope}: the loss of task "${objective.order[bad]}" became ${beforeValues[bad]} at training step ${step} → at options.optimizer.learningRate. Lower the learning rate, or scale the targets.`,
      { path: 'options.optimizer.learningRate', got: beforeValues[bad] },
    );
  }
  const grads: Array<tf.Tensor[] | null> = [];
  const saved = snapshot(shared);
  try {
    for (let i = 0; i < T; i++) {
      if (!labelled[i]) {
        grads.push(null);
        continue;
      }
      grads.push(
        tf.tidy(() => {
          const { grads: g } = tf.variableGrads(() => {
            const { num, den } = objective.sums(
              forward(model, batch.x, false),
              batch.y,
              batch.mask,
            );
            return tf.div(tf.slice(num, i, 1), tf.maximum(tf.slice(den, i, 1), 1)).asScalar();
          }, shared);
          return shared.map((v) => g[v.name] ?? tf.zerosLike(v));
        }),
      );
    }
    const values = tf.tidy(() => probe({ model, shared, grads, before, losses }));
    const v = values.dataSync();
    values.dispose();
    for (let i = 0; i < T; i++) {
      if (!labelled[i]) continue;
      for (let j = 0; j < T; j++) {
        const z = v[i * T + j]!;
        if (!labelled[j] || !Number.isFinite(z)) continue;
        sum[i]![j]! += z;
        count[i]![j]! += 1;
      }
    }
  } finally {
    restore(shared, saved);
    tf.dispose(saved);
    for (const g of grads) if (g) tf.dispose(g);
    before.dispose();
  }
}

/** Which tasks (training order) have at least one label in the batch. */
function labelledTasks(objective: Objective, mask: tf.Tensor2D): boolean[] {
  const sums = tf.sum(mask, 0);
  const perColumn = sums.dataSync();
  sums.dispose();
  const out: boolean[] = [];
  let offset = 0;
  for (const w of objective.widths) {
    let any = false;
    for (let c = 0; c < w; c++) if (perColumn[offset + c]! > 0) any = true;
    out.push(any);
    offset += w;
  }
  return out;
}

function shuffle(values: Int32Array, random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i]!;
    values[i] = values[j]!;
    values[j] = tmp;
  }
}
