import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import type { PreparedData, TaskData } from '../data/types.js';
import type { Plan } from '../plan/types.js';
import { prepareData } from '../data/prepare.js';
import { disposeData, toTensors, type DataTensors } from '../data/tensors.js';
import { Objective } from './objective.js';
import { forward, INFERENCE_CHUNK } from './forward.js';
import { checkModel } from './model-check.js';
import { resolveTaskMetrics, scoreTasks, unpackOutputs } from './task-metrics.js';

const SCOPE = 'mtgraph/evaluate';

/** Per task: `loss` (the task's training loss) and each metric of the task, on labelled rows only. */
export type Evaluation = Record<string, Record<string, number>>;

export interface EvaluateOptions {
  /** Rows per forward pass (default 8192). */
  batchSize?: number;
}

/**
 * Scores a model on data: for each task with labels, its loss and metrics (the task's
 * `metrics`, by default every metric of its kind), computed on labelled rows only. Tasks left
 * out on purpose (all-zero mask) are not reported. Data is validated first, as in `fit`.
 */
export async function evaluate(
  model: MtgraphModel,
  data: TaskData,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  return (await evaluateWithPredictions(model, data, options)).evaluation;
}

/**
 * `evaluate`, and the predictions it scored: each task's outputs for every row of the data
 * (`rows × outputs`, plan order) with the validated data they line up with.
 */
export async function evaluateWithPredictions(
  model: MtgraphModel,
  data: TaskData,
  options: EvaluateOptions = {},
): Promise<{ evaluation: Evaluation; predictions: Float32Array[]; prepared: PreparedData }> {
  checkModel(model, SCOPE);
  const prepared = prepareData(model.plan, data, { scope: SCOPE });
  const metricsOf = resolveTaskMetrics(model.plan, SCOPE);
  const chunk = options.batchSize ?? INFERENCE_CHUNK;
  const objective = new Objective(model.plan, model.outputIndex);
  let tensors: DataTensors | undefined;
  try {
    tensors = toTensors(prepared, objective.order);
    const { sums, predictions } = await run(model, objective, tensors, chunk);
    return {
      evaluation: assemble(model.plan, prepared, predictions, metricsOf, objective, sums),
      predictions,
      prepared,
    };
  } finally {
    objective.dispose();
    disposeData(tensors);
  }
}

/**
 * Scores given predictions as `evaluate` scores a model's: each task's loss and metrics on the
 * labelled rows of `prepared` (validated data in `plan.tasks` order), from host predictions
 * (`rows × outputs` per task, plan order) — e.g. the weighted mean of several models' outputs.
 */
export function scorePredictions(
  plan: Plan,
  prepared: PreparedData,
  predictions: readonly Float32Array[],
): Evaluation {
  const metricsOf = resolveTaskMetrics(plan, SCOPE);
  const objective = new Objective(plan, new Map(plan.tasks.map((t, i) => [t.id, i])));
  let tensors: DataTensors | undefined;
  try {
    tensors = toTensors(prepared, objective.order);
    const data = tensors;
    const packed = tf.tidy(() => {
      const outputs = plan.tasks.map((t, i) =>
        tf.tensor2d(predictions[i]!, [prepared.rows, t.outputs]),
      );
      const { num, den } = objective.sums(outputs, data.y, data.mask);
      return tf.concat([num, den]);
    });
    const sums = packed.dataSync() as Float32Array;
    packed.dispose();
    return assemble(plan, prepared, predictions, metricsOf, objective, sums);
  } finally {
    objective.dispose();
    disposeData(tensors);
  }
}

/** Each scored task's loss (from the per-task sums, training order) and metrics. */
function assemble(
  plan: Plan,
  prepared: PreparedData,
  predictions: readonly Float32Array[],
  metricsOf: ReturnType<typeof resolveTaskMetrics>,
  objective: Objective,
  sums: Float32Array,
): Evaluation {
  const T = objective.order.length;
  const result: Evaluation = {};
  for (const [id, metrics] of Object.entries(scoreTasks(plan, prepared, predictions, metricsOf))) {
    const t = objective.order.indexOf(id);
    const den = sums[T + t]!;
    result[id] = { loss: den > 0 ? sums[t]! / den : NaN, ...metrics };
  }
  return result;
}

/** Forward passes in chunks: per-task loss sums (training order) and host predictions (plan order). */
async function run(
  model: MtgraphModel,
  objective: Objective,
  data: DataTensors,
  chunk: number,
): Promise<{ sums: Float32Array; predictions: Float32Array[] }> {
  const tasks = model.plan.tasks;
  const predictions = tasks.map((t) => new Float32Array(data.rows * t.outputs));
  let acc: tf.Tensor1D = tf.zeros([2 * objective.order.length]);
  try {
    for (let start = 0; start < data.rows; start += chunk) {
      const size = Math.min(chunk, data.rows - start);
      const whole = size === data.rows;
      const [next, packed] = tf.tidy(() => {
        const x = whole ? data.x : tf.slice(data.x, [start, 0], [size, -1]);
        const y = whole ? data.y : tf.slice(data.y, [start, 0], [size, -1]);
        const mask = whole ? data.mask : tf.slice(data.mask, [start, 0], [size, -1]);
        const outputs = forward(model, x, false);
        const { num, den } = objective.sums(outputs, y, mask);
        const ordered = tasks.map((t) => outputs[model.outputIndex.get(t.id)!]!);
        return [tf.add(acc, tf.concat([num, den])) as tf.Tensor1D, tf.concat(ordered, 1)];
      });
      acc.dispose();
      acc = next;
      const values = (await packed.data()) as Float32Array;
      packed.dispose();
      unpackOutputs(
        values,
        size,
        tasks.map((t) => t.outputs),
        predictions,
        start,
      );
    }
    return { sums: (await acc.data()) as Float32Array, predictions };
  } finally {
    acc.dispose();
  }
}
