import type * as tf from '@tensorflow/tfjs';
import { PlanError } from '../errors.js';
import type { MtgraphModel } from '../network/types.js';
import type { PlanTask } from '../plan/types.js';

/** A weight of the exported graph: its tfjs variable name (how `importWeights` maps it back), shape and values. */
export interface ExportParam {
  /** The tfjs weight name, `<layer>/<weight>` (e.g. `tower.spend.0/kernel`). */
  name: string;
  shape: number[];
  values: Float32Array;
}

/**
 * One step of the exported graph. Each node produces one tensor named by `name` (its tfjs layer
 * name); `input`/`inputs` name the nodes it reads. The ops are framework-neutral: each format
 * writes them with its own standard operations.
 */
export type ExportNode =
  | { op: 'input'; name: string; units: number }
  /** `act(x W + b)`, then `mean + std * y` per column when `scale` is set. */
  | {
      op: 'dense';
      name: string;
      input: string;
      units: number;
      activation: string;
      kernel: ExportParam;
      bias?: ExportParam;
      scale?: { mean: number[]; std: number[] };
    }
  | {
      op: 'batchNorm';
      name: string;
      input: string;
      epsilon: number;
      gamma: ExportParam;
      beta: ExportParam;
      mean: ExportParam;
      variance: ExportParam;
    }
  | { op: 'activation'; name: string; input: string; activation: string }
  /** Identity whose gradient is zero (a task chain reading other tasks' towers without training them). */
  | { op: 'stopGradient'; name: string; input: string }
  /** Identity at inference; `rate` is for training code (train.py). */
  | { op: 'dropout'; name: string; input: string; rate: number }
  /** Columns `[begin, begin + size)` of a matrix, activated ('linear', 'sigmoid', 'softmax'). */
  | { op: 'columns'; name: string; input: string; begin: number; size: number; activation: string }
  /** k matrices `[batch, units]` mixed: output columns `[i*units, (i+1)*units)` = `sum_j alpha[i][j] * in_j`. */
  | { op: 'crossStitch'; name: string; inputs: string[]; units: number; alpha: ExportParam }
  /** A matrix `[batch, n]` reshaped to `[batch, ...shape]`. */
  | { op: 'reshape'; name: string; input: string; shape: number[] }
  /**
   * Rows of a trainable table looked up by ids: input `[batch, 1]` (float ids, whole numbers in
   * [0, rows)), output `[batch, 1, dim]` (an embedded input column; a reshape follows).
   */
  | { op: 'embedding'; name: string; input: string; rows: number; dim: number; table: ExportParam }
  /** Columns `columns` (in that order, any subset) of a matrix: a task's own input columns. */
  | { op: 'pick'; name: string; input: string; columns: number[] }
  /** The elementwise product of same-shaped tensors (a conditioned task: p(condition) × p(task | condition)). */
  | { op: 'multiply'; name: string; inputs: string[] }
  /** Tensors joined along `axis` (1 = the first axis after the batch). */
  | { op: 'concat'; name: string; inputs: string[]; axis: number }
  /** `sum_k weights[b, k] * experts[b, k, :]`: weights `[batch, k]`, experts `[batch, k, d]`. */
  | { op: 'gateMix'; name: string; weights: string; experts: string; units: number };

/** A task's output: the node that produces it and what it holds. */
export interface ExportOutput {
  task: string;
  /** The node whose tensor is the task's prediction. */
  node: string;
  kind: PlanTask['kind'];
  units: number;
  /** Names of the output columns (classes, labels, or outputs). */
  columns: string[];
}

/** A built model as a framework-neutral graph of standard operations with its weights. */
export interface ExportGraph {
  input: { name: string; units: number };
  /** In topological order. */
  nodes: ExportNode[];
  outputs: ExportOutput[];
}

const SCOPE = 'mtgraph/export';

function param(w: tf.LayerVariable): ExportParam {
  const t = w.read();
  return { name: w.name, shape: [...t.shape], values: Float32Array.from(t.dataSync()) };
}

function weight(layer: tf.layers.Layer, suffix: string): tf.LayerVariable {
  const found = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`));
  if (!found)
    throw new PlanError(
      `${SCOPE}: layer "${layer.name}" has no weight "${suffix}" (got ${layer.weights.map((w) => w.originalName).join(', ') || 'none'}). This is a bug: please report it.`,
      { path: layer.name },
    );
  return found;
}

/** The names of the layers a layer reads (its first application). */
function inboundNames(layer: tf.layers.Layer): string[] {
  const node = layer.inboundNodes[0];
  return node ? node.inboundLayers.map((l) => l.name) : [];
}

type Converter = (layer: tf.layers.Layer, inputs: string[]) => ExportNode | null;

function config(layer: tf.layers.Layer): Record<string, unknown> {
  return layer.getConfig() as Record<string, unknown>;
}

function activationOf(layer: tf.layers.Layer): string {
  const a = config(layer).activation;
  return typeof a === 'string' ? a : 'linear';
}

function denseNode(layer: tf.layers.Layer, inputs: string[]): ExportNode {
  const c = config(layer);
  const mean = c.mean as number[] | undefined;
  const std = c.std as number[] | undefined;
  const units = Array.isArray(c.units)
    ? (c.units as number[]).reduce((a, b) => a + b, 0)
    : (c.units as number);
  return {
    op: 'dense',
    name: layer.name,
    input: inputs[0]!,
    units,
    activation: activationOf(layer),
    kernel: param(weight(layer, 'kernel')),
    ...(c.useBias === false ? {} : { bias: param(weight(layer, 'bias')) }),
    ...(mean && std ? { scale: { mean: [...mean], std: [...std] } } : {}),
  };
}

/**
 * How each tfjs layer class of a built model becomes an export node, by class name (a registry:
 * a new layer class adds one entry). Null drops the layer (the node's readers read its input).
 */
const CONVERTERS: Record<string, Converter> = {
  Dense: denseNode,
  MtgraphScaledDense: denseNode,
  MtgraphMultiHead: denseNode,
  BatchNormalization: (layer, inputs) => ({
    op: 'batchNorm',
    name: layer.name,
    input: inputs[0]!,
    epsilon: config(layer).epsilon as number,
    gamma: param(weight(layer, 'gamma')),
    beta: param(weight(layer, 'beta')),
    mean: param(weight(layer, 'moving_mean')),
    variance: param(weight(layer, 'moving_variance')),
  }),
  Activation: (layer, inputs) => ({
    op: 'activation',
    name: layer.name,
    input: inputs[0]!,
    activation: activationOf(layer),
  }),
  MtgraphDropout: (layer, inputs) => ({
    op: 'dropout',
    name: layer.name,
    input: inputs[0]!,
    rate: config(layer).rate as number,
  }),
  Dropout: (layer, inputs) => ({
    op: 'dropout',
    name: layer.name,
    input: inputs[0]!,
    rate: config(layer).rate as number,
  }),
  MtgraphStopGradient: (layer, inputs) => ({
    op: 'stopGradient',
    name: layer.name,
    input: inputs[0]!,
  }),
  MtgraphColumns: (layer, inputs) => {
    const c = config(layer);
    return {
      op: 'columns',
      name: layer.name,
      input: inputs[0]!,
      begin: c.begin as number,
      size: c.size as number,
      activation: c.activation as string,
    };
  },
  CrossStitch: (layer, inputs) => {
    const shape = layer.inboundNodes[0]!.inputShapes as tf.Shape[];
    return {
      op: 'crossStitch',
      name: layer.name,
      inputs,
      units: shape[0]![1] as number,
      alpha: param(weight(layer, 'alpha')),
    };
  },
  MtgraphPick: (layer, inputs) => ({
    op: 'pick',
    name: layer.name,
    input: inputs[0]!,
    columns: [...(config(layer).columns as number[])],
  }),
  Multiply: (layer, inputs) => ({ op: 'multiply', name: layer.name, inputs }),
  Embedding: (layer, inputs) => {
    const c = config(layer);
    return {
      op: 'embedding',
      name: layer.name,
      input: inputs[0]!,
      rows: c.inputDim as number,
      dim: c.outputDim as number,
      table: param(weight(layer, 'embeddings')),
    };
  },
  Reshape: (layer, inputs) => ({
    op: 'reshape',
    name: layer.name,
    input: inputs[0]!,
    shape: [...(config(layer).targetShape as number[])],
  }),
  Concatenate: (layer, inputs) => {
    const axis = config(layer).axis as number;
    const rank = (layer.inboundNodes[0]!.inputShapes as tf.Shape[])[0]!.length;
    return { op: 'concat', name: layer.name, inputs, axis: axis < 0 ? rank + axis : axis };
  },
  MtgraphGateMix: (layer, inputs) => {
    const out = layer.outboundNodes[0]?.outputShapes ?? layer.inboundNodes[0]!.outputShapes;
    return {
      op: 'gateMix',
      name: layer.name,
      weights: inputs[0]!,
      experts: inputs[1]!,
      units: (out as tf.Shape)[1] as number,
    };
  },
  Dot: (layer, inputs) => {
    const out = layer.inboundNodes[0]!.outputShapes as tf.Shape;
    return {
      op: 'gateMix',
      name: layer.name,
      weights: inputs[0]!,
      experts: inputs[1]!,
      units: out[1] as number,
    };
  },
};

/** The tfjs layer classes `exportGraph` knows. */
export const EXPORTABLE_LAYER_CLASSES: readonly string[] = [
  'InputLayer',
  ...Object.keys(CONVERTERS),
];

/**
 * A built mtgraph model as an ExportGraph: its layers walked in order and turned into standard
 * operations (dense, batch norm, activation, columns, pick, multiply, cross-stitch, reshape,
 * concat, gate mix),
 * with the current weights. Dropout stays as a node (identity at inference).
 */
export function exportGraph(model: MtgraphModel): ExportGraph {
  const tfModel = model.model;
  const nodes: ExportNode[] = [];
  let input: ExportGraph['input'] | undefined;
  for (const layer of tfModel.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') {
      const shape = (config(layer).batchInputShape as number[]) ?? [];
      input = { name: layer.name, units: shape[shape.length - 1]! };
      nodes.push({ op: 'input', name: layer.name, units: input.units });
      continue;
    }
    const convert = CONVERTERS[cls];
    if (!convert)
      throw new PlanError(
        `${SCOPE}: layer "${layer.name}" is a ${cls}, which export does not know (expected one of ${EXPORTABLE_LAYER_CLASSES.join(', ')}). Export models built by mtgraph's build(plan).`,
        { path: layer.name, got: cls },
      );
    if (layer.inboundNodes.length !== 1)
      throw new PlanError(
        `${SCOPE}: layer "${layer.name}" is applied ${layer.inboundNodes.length} times; export reads each layer once. Export models built by mtgraph's build(plan).`,
        { path: layer.name },
      );
    const node = convert(layer, inboundNames(layer));
    if (node) nodes.push(node);
  }
  if (!input)
    throw new PlanError(`${SCOPE}: the model has no input layer. This is a bug: please report it.`);
  const outputNames = tfModel.outputs.map((o) => o.sourceLayer.name);
  const outputs = model.plan.tasks.map((t) => ({
    task: t.id,
    node: outputNames[model.outputIndex.get(t.id)!]!,
    kind: t.kind,
    units: t.outputs,
    columns: [...t.outputNames],
  }));
  return { input, nodes, outputs };
}

/** The node named `name` of a graph. */
export function nodeOf(graph: ExportGraph, name: string): ExportNode {
  const n = graph.nodes.find((x) => x.name === name);
  if (!n) throw new PlanError(`${SCOPE}: the graph has no node "${name}". This is a bug.`);
  return n;
}

/** Every parameter of the graph, in node order. */
export function graphParams(graph: ExportGraph): ExportParam[] {
  const out: ExportParam[] = [];
  for (const n of graph.nodes) {
    if (n.op === 'dense') out.push(n.kernel, ...(n.bias ? [n.bias] : []));
    else if (n.op === 'batchNorm') out.push(n.gamma, n.beta, n.mean, n.variance);
    else if (n.op === 'crossStitch') out.push(n.alpha);
    else if (n.op === 'embedding') out.push(n.table);
  }
  return out;
}
