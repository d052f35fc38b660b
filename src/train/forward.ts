import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { bankForward, towerGroups, type TowerGroup } from './tower-bank.js';
import { hasChains } from '../schema/chains.js';
import { applyWithExperts, expertGroups, type ExpertGroup } from './expert-bank.js';

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
  /**
   * Tower banks (tower-bank.ts), whose outputs follow the model's: each reads the model's input or
   * one of the model's outputs (`parent`: its index).
   */
  readonly banks?: ReadonlyArray<{ group: TowerGroup; parent: number | 'input' }>;
  /**
   * Expert banks (expert-bank.ts): the gates' mixtures they compute are fed to the model's graph;
   * the heads of those that compute them are outputs after the tower banks', in group order.
   */
  readonly experts?: readonly ExpertGroup[];
}

const views = new WeakMap<MtgraphModel, TrainingView | null>();

/** The model's TrainingView, or undefined when it has no fused heads (train on the model itself). */
export function trainingView(model: MtgraphModel): TrainingView | undefined {
  const known = views.get(model);
  if (known !== undefined) return known ?? undefined;
  const { plan, layerNames: names } = model;
  // Task chains (condition, reads) compute outputs from other tasks' heads and towers: train on the model itself.
  if (hasChains(plan.tasks)) {
    views.set(model, null);
    return undefined;
  }
  const fusedTasks = new Set([...names.fusedHeads.values()].flat());
  const groups = towerGroups(model, fusedTasks);
  const experts = expertGroups(model, fusedTasks);
  if (names.fusedHeads.size === 0 && groups.length === 0 && experts.length === 0) {
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
  // Banked towers: their outputs come after the model's (forwardView), in the order of `banks`.
  const banked = groups.flatMap((g) => g.tasks);
  const banks = groups.map((group, b) => {
    group.tasks.forEach((id, t) => {
      sources[model.outputIndex.get(id)!] = {
        output: -1 - b, // set below, once the model's outputs are counted
        begin: t * group.headUnits,
        size: group.headUnits,
        width: group.tasks.length * group.headUnits,
        activation: plan.heads[id]!.activation,
      };
    });
    return group;
  });
  // Expert banks that compute their heads: their outputs come after the tower banks'.
  experts
    .filter((g) => g.heads)
    .forEach((g, k) => {
      g.heads!.tasks.forEach((id, t) => {
        sources[model.outputIndex.get(id)!] = {
          output: -1 - groups.length - k,
          begin: t,
          size: 1,
          width: g.heads!.tasks.length,
          activation: plan.heads[id]!.activation,
        };
      });
    });
  plan.tasks.forEach((t, i) => {
    if (sources[i]) return;
    const units = plan.heads[t.id]!.units;
    sources[i] = { output: outputs.length, begin: 0, size: units, width: units, activation: null };
    outputs.push(model.model.outputs[i]!);
  });
  const input = model.model.inputs[0];
  // One output per parent tensor (tfjs gives a repeated output only once).
  const bankParents = banks.map((g) => {
    if (g.parent === input) return 'input' as const;
    if (!outputs.includes(g.parent)) outputs.push(g.parent);
    return outputs.indexOf(g.parent);
  });
  // tfjs needs an output: with every task banked on the input, the input itself (no kernel).
  if (outputs.length === 0) outputs.push(input as tf.SymbolicTensor);
  const first = outputs.length;
  for (const s of sources) if (s.output < 0) s.output = first + (-1 - s.output);
  const view: TrainingView = {
    model: tf.model({ inputs: model.model.inputs, outputs, name: `${model.model.name}.training` }),
    sources,
    ...(banked.length > 0
      ? { banks: banks.map((group, b) => ({ group, parent: bankParents[b]! })) }
      : {}),
    ...(experts.length > 0 ? { experts } : {}),
  };
  views.set(model, view);
  return view;
}

/** Runs a TrainingView on a batch; returns its outputs in order. */
export function forwardView(view: TrainingView, x: tf.Tensor2D, training: boolean): tf.Tensor[] {
  let outs: tf.Tensor[];
  let expertHeads: tf.Tensor[] = [];
  if (view.experts) {
    ({ outputs: outs, heads: expertHeads } = applyWithExperts(
      view.model,
      view.experts,
      x,
      training,
    ));
  } else {
    const out = view.model.apply(x, { training }) as tf.Tensor | tf.Tensor[];
    outs = Array.isArray(out) ? out : [out];
  }
  if (!view.banks && expertHeads.length === 0) return outs;
  return [
    ...outs,
    ...(view.banks ?? []).map(({ group, parent }) =>
      parent === 'input'
        ? bankForward(group, x, true)
        : bankForward(group, outs[parent] as tf.Tensor2D),
    ),
    ...expertHeads,
  ];
}
