import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { OptionsError } from '../errors.js';
import type {
  Balancer,
  BalanceNeeds,
  Combined,
  GradientBalancer,
  LossBalancer,
  TaskGradients,
} from './balance/index.js';
import { forward, forwardView, trainingView } from './forward.js';
import type { FlatAdam } from './flat-adam.js';
import type { Objective } from './objective.js';
import { sharedRepresentation, taskParameters } from './parameters.js';
import { modelVariables, restore, snapshot } from './weights.js';

/** What every kind of step works with; the training run owns all of it. */
export interface StepContext {
  readonly model: MtgraphModel;
  readonly objective: Objective;
  readonly balancer: Balancer;
  readonly optimizer: tf.Optimizer;
  /** What a loss step differentiates: the model's trainable variables and the balancer's. */
  readonly variables: tf.Variable[];
  readonly hasPenalty: boolean;
  /** The coupling penalties and layer regularisers (call inside a tidy). */
  penalty(): tf.Scalar;
  /** The balancing method's name, for error messages. */
  readonly method: string;
}

/** One batch: features, packed labels and mask, and the number of rows. */
export interface Batch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
  mask: tf.Tensor2D;
  size: number;
}

/**
 * Runs one training step (call inside `tf.tidy`): computes the gradients, applies them, and returns
 * the step's record `[num(T), den(T), weights(T), finite(T), objective * size, penalty * size,
 * gradientsFinite]` (training order; `finite` and `gradientsFinite` are 1 or 0). The caller
 * disposes the record.
 */
export type Step = (batch: Batch) => tf.Tensor1D;

/** Length of a step's record for T tasks. */
export const recordLength = (tasks: number): number => 4 * tasks + 3;

/** 1 when every gradient value is finite, else 0 (`x * 0` is NaN exactly for NaN and infinities). */
function gradientsFinite(grads: readonly tf.Tensor[]): tf.Tensor1D {
  if (grads.length === 0) return tf.ones([1]);
  return tf.reshape(
    tf.cast(tf.isFinite(tf.addN(grads.map((g) => tf.sum(tf.mul(g, 0))))), 'float32'),
    [1],
  ) as tf.Tensor1D;
}

/**
 * Applies the gradients; when the optimizer can tell from its own pass over them whether they were
 * all finite (FlatAdam), returns that flag, else undefined (the caller checks the gradients).
 */
function applyChecked(optimizer: tf.Optimizer, grads: tf.NamedTensorMap): tf.Tensor1D | undefined {
  // Duck-typed: tf.Optimizer's Symbol.hasInstance makes every optimizer an `instanceof FlatAdam`.
  const checked = (optimizer as Partial<FlatAdam>).applyGradientsChecked;
  if (typeof checked === 'function') return checked.call(optimizer, grads);
  optimizer.applyGradients(grads);
  return undefined;
}

/** The record of a step but its last entry (see `Step`). */
function recordValues(
  num: tf.Tensor1D,
  den: tf.Tensor1D,
  weights: tf.Tensor1D,
  total: tf.Scalar,
  penalty: tf.Scalar | undefined,
  size: number,
): tf.Tensor1D {
  return tf.concat([
    num,
    den,
    weights,
    tf.cast(tf.isFinite(num), 'float32'),
    tf.reshape(tf.mul(total, size), [1]),
    penalty ? tf.reshape(tf.mul(penalty, size), [1]) : tf.zeros([1]),
  ]) as tf.Tensor1D;
}

/** The record a step returns: `recordValues`, then whether every applied gradient was finite. */
function record(
  num: tf.Tensor1D,
  den: tf.Tensor1D,
  weights: tf.Tensor1D,
  total: tf.Scalar,
  penalty: tf.Scalar | undefined,
  size: number,
  grads: readonly tf.Tensor[],
): tf.Tensor1D {
  return tf.concat([
    recordValues(num, den, weights, total, penalty, size),
    gradientsFinite(grads),
  ]) as tf.Tensor1D;
}

/** The variables a training step may move besides the trainable ones (batch-norm moving statistics). */
function movingStatistics(model: MtgraphModel): tf.Variable[] {
  const trainable = new Set(model.trainableVariables);
  return modelVariables(model).filter((v) => !trainable.has(v));
}

/**
 * The step of loss balancers: one pass, `combine` turns the task losses into the objective, whose
 * gradient (plus the penalty's) moves the model's variables and the balancer's own.
 */
function lossStep(
  ctx: StepContext,
  combine: (taskLoss: tf.Tensor1D) => Combined = (l) => (ctx.balancer as LossBalancer).combine(l),
): Step {
  const { model, objective } = ctx;
  const view = trainingView(model);
  return ({ x, y, mask, size }) => {
    let partial: tf.Tensor1D | undefined;
    const { grads } = tf.variableGrads(() => {
      const { num, den } = view
        ? objective.viewSums(view, forwardView(view, x, true), y, mask)
        : objective.sums(forward(model, x, true), y, mask);
      const taskLoss = tf.div(num, tf.maximum(den, 1)) as tf.Tensor1D;
      const { total: combined, weights } = combine(taskLoss);
      const penalty = ctx.hasPenalty ? ctx.penalty() : undefined;
      const total: tf.Scalar = penalty ? tf.add(combined, penalty) : combined;
      // The record but its last entry, made here: a new tensor that outlives the gradient's scope.
      partial = tf.keep(recordValues(num, den, weights, total, penalty, size));
      return total;
    }, ctx.variables);
    try {
      const finite = applyChecked(ctx.optimizer, grads) ?? gradientsFinite(Object.values(grads));
      return tf.concat([partial!, finite]) as tf.Tensor1D;
    } finally {
      partial!.dispose();
    }
  };
}

/**
 * The step of 'task-gradients' balancers. One pass per task (`tf.variableGrads` of that task's loss
 * on the shared variables and its own); the task gradients on the shared variables, flattened into
 * the rows of one `[tasks, P]` matrix, go to the balancer, whose combination moves the shared
 * variables; each task's own variables move along its own gradient (times the balancer's `own`).
 * The penalty's gradient is added unweighted. Batch-norm moving statistics keep the first pass's
 * update only, so they move once per step as in a loss step.
 */
function taskGradientStep(ctx: StepContext): Step {
  const { model, objective } = ctx;
  const balancer = ctx.balancer as GradientBalancer;
  const params = taskParameters(model);
  const shared = params.shared;
  const own = objective.order.map((id) => params.own.get(id) ?? []);
  const sizes = shared.map((v) => v.size);
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const columns = sizes.reduce((a, b) => a + b, 0);
  const last = params.last;
  const statistics = movingStatistics(model);
  const T = objective.order.length;
  return ({ x, y, mask, size }) => {
    const kept: tf.Tensor[] = [];
    let saved: tf.Tensor[] | undefined;
    try {
      const nums: tf.Scalar[] = [];
      const dens: tf.Scalar[] = [];
      const losses: tf.Scalar[] = [];
      const rows: tf.Tensor1D[] = [];
      const ownGrads: tf.NamedTensorMap[] = [];
      const sharedGrads: tf.NamedTensorMap[] = [];
      for (let t = 0; t < T; t++) {
        if (t === 1 && statistics.length > 0) saved = snapshot(statistics);
        const { value, grads } = tf.variableGrads(() => {
          const outputs = forward(model, x, true);
          const { num, den } = objective.taskSums(t, outputs[objective.outputs[t]!]!, y, mask);
          kept.push(tf.keep(num), tf.keep(den));
          nums.push(num);
          dens.push(den);
          return tf.div(num, tf.maximum(den, 1)) as tf.Scalar;
        }, [...shared, ...own[t]!]);
        losses.push(value);
        if (columns > 0)
          rows.push(
            tf.concat(
              shared.map((v) => tf.reshape(grads[v.name] ?? tf.zerosLike(v), [-1])),
            ) as tf.Tensor1D,
          );
        sharedGrads.push(grads);
        ownGrads.push(
          Object.fromEntries(
            own[t]!.flatMap((v) => (grads[v.name] ? [[v.name, grads[v.name]!]] : [])),
          ),
        );
      }
      if (saved) restore(statistics, saved);
      const lossVector = tf.stack(losses) as tf.Tensor1D;
      let weights: tf.Tensor1D;
      let ownScale: tf.Tensor1D | undefined;
      const update: tf.NamedTensorMap = {};
      if (columns > 0) {
        const matrix = tf.stack(rows) as tf.Tensor2D;
        // The last shared layers' columns, gathered from the gradients (a column slice of the matrix is slow on some backends).
        const lastRows = () =>
          tf.stack(
            sharedGrads.map((grads) =>
              tf.concat(last.map((v) => tf.reshape(grads[v.name] ?? tf.zerosLike(v), [-1]))),
            ),
          ) as tf.Tensor2D;
        const result = balancer.combineGradients(
          taskGradients(lossVector, matrix, last.length > 0 ? lastRows : undefined),
        );
        weights = result.weights;
        ownScale = result.own;
        const combined =
          result.shared ?? tf.reshape(tf.matMul(tf.reshape(weights, [1, T]), matrix), [-1]);
        shared.forEach((v, i) => {
          update[v.name] = tf.reshape(tf.slice(combined, offsets[i]!, sizes[i]!), v.shape);
        });
      } else {
        weights = tf.ones([T]); // nothing shared: every task trains its own parameters
      }
      const scales = ownScale ? tf.unstack(ownScale) : undefined;
      ownGrads.forEach((grads, t) => {
        // A fused head's variables belong to each of its tasks (zero outside their columns): add up.
        for (const [name, g] of Object.entries(grads)) {
          const scaled = scales ? tf.mul(g, scales[t]!) : g;
          update[name] = update[name] ? tf.add(update[name]!, scaled) : scaled;
        }
      });
      let penalty: tf.Scalar | undefined;
      if (ctx.hasPenalty) {
        const { value, grads } = tf.variableGrads(() => ctx.penalty(), model.trainableVariables);
        penalty = value;
        for (const [name, g] of Object.entries(grads))
          update[name] = update[name] ? tf.add(update[name]!, g) : g;
      }
      ctx.optimizer.applyGradients(update);
      const total = tf.sum(tf.mul(weights, lossVector)) as tf.Scalar;
      return record(
        tf.stack(nums) as tf.Tensor1D,
        tf.stack(dens) as tf.Tensor1D,
        weights,
        penalty ? tf.add(total, penalty) : total,
        penalty,
        size,
        Object.values(update),
      );
    } finally {
      tf.dispose(kept);
      if (saved) tf.dispose(saved);
    }
  };
}

/**
 * The step of 'representation-gradients' balancers (MGDA-UB): the shared representation z of the
 * batch, each task's loss gradient with respect to z (through its tower and head only), the
 * balancer's weights from those, then one loss step on the weighted sum of the task losses.
 */
function representationStep(ctx: StepContext): Step {
  const { model, objective } = ctx;
  const balancer = ctx.balancer as GradientBalancer;
  const split = sharedRepresentation(model);
  if (!split) {
    throw new OptionsError(
      `mtgraph/fit: balancing method '${ctx.method}' needs one shared representation, a block every task reads (got strategy '${model.plan.strategy}') → at options.balance. Use hard sharing or another method.`,
      { path: 'options.balance', got: ctx.method },
    );
  }
  const statistics = movingStatistics(model);
  const T = objective.order.length;
  let weights: tf.Tensor1D | undefined;
  const weighted = lossStep(ctx, (taskLoss) => ({
    total: tf.sum(tf.mul(taskLoss, weights!)) as tf.Scalar,
    weights: weights!,
  }));
  return (batch) => {
    const { x, y, mask } = batch;
    const saved = statistics.length > 0 ? snapshot(statistics) : undefined;
    try {
      const z = split.encode(x, true);
      const losses: tf.Scalar[] = [];
      const rows: tf.Tensor1D[] = [];
      for (let t = 0; t < T; t++) {
        const id = objective.order[t]!;
        const { value, grad } = tf.valueAndGrad((rep: tf.Tensor) => {
          const { num, den } = objective.taskSums(t, split.decode(id, rep, true), y, mask);
          return tf.div(num, tf.maximum(den, 1)) as tf.Scalar;
        })(z);
        losses.push(value);
        rows.push(tf.reshape(grad, [-1]) as tf.Tensor1D);
      }
      if (saved) restore(statistics, saved);
      weights = balancer.combineGradients(
        taskGradients(tf.stack(losses) as tf.Tensor1D, tf.stack(rows) as tf.Tensor2D),
      ).weights;
      return weighted(batch);
    } finally {
      if (saved) tf.dispose(saved);
      weights = undefined;
    }
  };
}

/** The TaskGradients of one step; the Gram matrix and the last-layer rows are computed on first use. */
function taskGradients(
  losses: tf.Tensor1D,
  matrix: tf.Tensor2D,
  lastRows?: () => tf.Tensor2D,
): TaskGradients {
  let gram: tf.Tensor2D | undefined;
  let last: tf.Tensor2D | undefined;
  return {
    losses,
    matrix,
    gram: () => (gram ??= tf.matMul(matrix, matrix, false, true) as tf.Tensor2D),
    last: () => (last ??= lastRows ? lastRows() : (tf.zeros([matrix.shape[0], 0]) as tf.Tensor2D)),
  };
}

const steps: Record<BalanceNeeds, (ctx: StepContext) => Step> = {
  losses: (ctx) => lossStep(ctx),
  'task-gradients': taskGradientStep,
  'representation-gradients': representationStep,
};

/** The step for the balancer's needs (a loss step when it says none). */
export function makeStep(ctx: StepContext): Step {
  return steps[ctx.balancer.needs ?? 'losses'](ctx);
}
