import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';

/** Rows per forward pass when predicting or evaluating (bounds the activations' memory). */
export const INFERENCE_CHUNK = 8192;

/** Runs the model on a batch; returns the outputs in model output order. */
export function forward(model: MtgraphModel, x: tf.Tensor2D, training: boolean): tf.Tensor[] {
  const out = model.model.apply(x, { training }) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

/** Calls `f` on consecutive row chunks of the given tensors (each chunk inside `tf.tidy`). */
export function forChunks(
  rows: number,
  chunk: number,
  f: (start: number, size: number) => void,
): void {
  for (let start = 0; start < rows; start += chunk) {
    const size = Math.min(chunk, rows - start);
    f(start, size);
  }
}

/** Where a task's output is in a TrainingView's outputs: columns of one output, before or after its activation. */
export interface OutputSource {
  /** Index among the view's outputs. */
  output: number;
  /** Its columns there. */
  begin: number;
  size: number;
  /** Columns of that output in all. */
  width: number;
  /** The head activation still to apply ('linear', 'sigmoid', 'softmax'), or null when the output is final. */
  activation: string | null;
}

/**
 * The model seen by a training step: the same layers, with the linear output of each fused head
 * group (a MultiHead, every task's columns side by side) as an output instead of one sliced output
 * per task, so that a loss over many heads reads one tensor and no per-task slice enters the
 * step. Tasks whose head is not fused keep their own output.
 */
export interface TrainingView {
  readonly model: tf.LayersModel;
  /** Per task, in plan order. */
  readonly sources: readonly OutputSource[];
}

const views = new WeakMap<MtgraphModel, TrainingView | null>();

/** The model's TrainingView, or undefined when it has no fused heads (train on the model itself). */
export function trainingView(model: MtgraphModel): TrainingView | undefined {
  const known = views.get(model);
  if (known !== undefined) return known ?? undefined;
  const { plan, layerNames: names } = model;
  if (names.fusedHeads.size === 0) {
    views.set(model, null);
    return undefined;
  }
  const outputs: tf.SymbolicTensor[] = [];
  const sources: OutputSource[] = new Array(plan.tasks.length);
  for (const [name, tasks] of names.fusedHeads) {
    const logits = model.model.getLayer(name).output as tf.SymbolicTensor;
    const width = logits.shape[1] as number;
    let begin = 0;
    for (const id of tasks) {
      const size = plan.heads[id]!.units;
      sources[model.outputIndex.get(id)!] = {
        output: outputs.length,
        begin,
        size,
        width,
        activation: plan.heads[id]!.activation,
      };
      begin += size;
    }
    outputs.push(logits);
  }
  plan.tasks.forEach((t, i) => {
    if (sources[i]) return;
    const units = plan.heads[t.id]!.units;
    sources[i] = { output: outputs.length, begin: 0, size: units, width: units, activation: null };
    outputs.push(model.model.outputs[i]!);
  });
  const view: TrainingView = {
    model: tf.model({ inputs: model.model.inputs, outputs, name: `${model.model.name}.training` }),
    sources,
  };
  views.set(model, view);
  return view;
}

/** Runs a TrainingView on a batch; returns its outputs in order. */
export function forwardView(view: TrainingView, x: tf.Tensor2D, training: boolean): tf.Tensor[] {
  const out = view.model.apply(x, { training }) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}
