import * as tf from '@tensorflow/tfjs';
import { PlanError } from '../errors.js';
import { type ExportGraph, type ExportNode, nodeOf } from './graph.js';
import { registerExportFormat } from './registry.js';

/** A Dense layer to create: its input tensor, weights and activation. */
interface DenseSpec {
  name: string;
  input: tf.SymbolicTensor;
  kernel: Float32Array;
  inputs: number;
  units: number;
  bias?: Float32Array;
  activation: string;
  /** False for a fixed matrix (a 0/1 selection): plain tfjs training leaves it as it is. */
  trainable?: boolean;
}

/** The kernel block of columns `[begin, begin + size)` of a `[rows, width]` kernel. */
function kernelColumns(
  values: Float32Array,
  rows: number,
  width: number,
  begin: number,
  size: number,
): Float32Array {
  const out = new Float32Array(rows * size);
  for (let r = 0; r < rows; r++)
    out.set(values.subarray(r * width + begin, r * width + begin + size), r * size);
  return out;
}

/** `mean + std * (x W + b)` as `x (W std) + (b std + mean)`: a scaled linear head as one Dense. */
function foldScale(
  kernel: Float32Array,
  bias: Float32Array | undefined,
  rows: number,
  units: number,
  scale: { mean: number[]; std: number[] } | undefined,
): { kernel: Float32Array; bias: Float32Array | undefined } {
  if (!scale) return { kernel, bias };
  const k = new Float32Array(kernel.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < units; c++) k[r * units + c] = kernel[r * units + c]! * scale.std[c]!;
  const b = new Float32Array(units);
  for (let c = 0; c < units; c++) b[c] = (bias?.[c] ?? 0) * scale.std[c]! + scale.mean[c]!;
  return { kernel: k, bias: b };
}

/**
 * The graph as a tfjs LayersModel of standard layers only (Dense, BatchNormalization, Activation,
 * Reshape, Concatenate, Dot, Multiply): dropout is left out, a task's picked input columns become a
 * bias-free Dense with a 0/1 kernel, a scaled head's scale is folded into its Dense,
 * a fused head's columns become the task's own Dense, a cross-stitch unit becomes a Concatenate of
 * its towers and one bias-free Dense per tower (its alpha row times the identity), and a gate mix a
 * Dot over the experts' axis. Output layers are named as the model's (the task ids, sanitised).
 */
export function toTfjsModel(graph: ExportGraph): tf.LayersModel {
  const made = new Map<string, tf.SymbolicTensor>();
  const pending: Array<[tf.layers.Layer, Float32Array[]]> = [];
  const dense = (s: DenseSpec): tf.SymbolicTensor => {
    const layer = tf.layers.dense({
      units: s.units,
      activation: s.activation as 'linear',
      useBias: s.bias !== undefined,
      name: s.name,
      ...(s.trainable === false ? { trainable: false } : {}),
    });
    const out = layer.apply(s.input) as tf.SymbolicTensor;
    pending.push([layer, s.bias ? [s.kernel, s.bias] : [s.kernel]]);
    return out;
  };
  const concatOf = (inputs: string[], name: string, axis = 1): tf.SymbolicTensor => {
    if (inputs.length === 1) return tensor(inputs[0]!);
    let t = made.get(name);
    if (!t) {
      t = tf.layers.concatenate({ axis, name }).apply(inputs.map(tensor)) as tf.SymbolicTensor;
      made.set(name, t);
    }
    return t;
  };
  // Linear maps a columns node can take its block of: [input tensor, kernel, rows, width, bias].
  const linear = (
    n: ExportNode,
  ):
    | {
        input: () => tf.SymbolicTensor;
        kernel: Float32Array;
        rows: number;
        width: number;
        bias?: Float32Array;
      }
    | undefined => {
    if (n.op === 'dense' && n.activation === 'linear') {
      const rows = n.kernel.shape[0]!;
      const f = foldScale(n.kernel.values, n.bias?.values, rows, n.units, n.scale);
      return {
        input: () => tensor(n.input),
        kernel: f.kernel,
        rows,
        width: n.units,
        ...(f.bias ? { bias: f.bias } : {}),
      };
    }
    if (n.op === 'crossStitch') {
      const k = n.inputs.length;
      const u = n.units;
      // out[:, i*u + c] = sum_j alpha[i][j] * in_j[:, c]: kernel[j*u + c, i*u + c] = alpha[i][j].
      const kernel = new Float32Array(k * u * k * u);
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++)
          for (let c = 0; c < u; c++)
            kernel[(j * u + c) * k * u + i * u + c] = n.alpha.values[i * k + j]!;
      return {
        input: () => concatOf(n.inputs, `${n.name}.towers`),
        kernel,
        rows: k * u,
        width: k * u,
      };
    }
    return undefined;
  };
  function build(n: ExportNode): tf.SymbolicTensor {
    switch (n.op) {
      case 'input':
        return tf.input({ shape: [n.units], name: n.name });
      case 'dense': {
        const rows = n.kernel.shape[0]!;
        if (!n.scale || n.activation === 'linear') {
          const f = foldScale(n.kernel.values, n.bias?.values, rows, n.units, n.scale);
          return dense({
            name: n.name,
            input: tensor(n.input),
            kernel: f.kernel,
            inputs: rows,
            units: n.units,
            ...(f.bias ? { bias: f.bias } : {}),
            activation: n.activation,
          });
        }
        // A scale after a non-linear activation: a diagonal Dense after it.
        const z = dense({
          name: `${n.name}.unscaled`,
          input: tensor(n.input),
          kernel: n.kernel.values,
          inputs: rows,
          units: n.units,
          ...(n.bias ? { bias: n.bias.values } : {}),
          activation: n.activation,
        });
        const diag = new Float32Array(n.units * n.units);
        for (let c = 0; c < n.units; c++) diag[c * n.units + c] = n.scale.std[c]!;
        return dense({
          name: n.name,
          input: z,
          kernel: diag,
          inputs: n.units,
          units: n.units,
          bias: Float32Array.from(n.scale.mean),
          activation: 'linear',
        });
      }
      case 'batchNorm': {
        const layer = tf.layers.batchNormalization({ epsilon: n.epsilon, name: n.name });
        const out = layer.apply(tensor(n.input)) as tf.SymbolicTensor;
        pending.push([layer, [n.gamma.values, n.beta.values, n.mean.values, n.variance.values]]);
        return out;
      }
      case 'activation':
        return tf.layers
          .activation({ activation: n.activation as 'linear', name: n.name })
          .apply(tensor(n.input)) as tf.SymbolicTensor;
      case 'dropout':
      case 'stopGradient':
        return tensor(n.input);
      case 'columns': {
        const source = linear(nodeOf(graph, n.input));
        if (source) {
          return dense({
            name: n.name,
            input: source.input(),
            kernel: kernelColumns(source.kernel, source.rows, source.width, n.begin, n.size),
            inputs: source.rows,
            units: n.size,
            ...(source.bias ? { bias: source.bias.slice(n.begin, n.begin + n.size) } : {}),
            activation: n.activation,
          });
        }
        // Any other matrix: a 0/1 selection Dense without bias.
        const x = tensor(n.input);
        const width = x.shape[1]!;
        const select = new Float32Array(width * n.size);
        for (let c = 0; c < n.size; c++) select[(n.begin + c) * n.size + c] = 1;
        return dense({
          name: n.name,
          input: x,
          kernel: select,
          inputs: width,
          units: n.size,
          activation: n.activation,
        });
      }
      case 'crossStitch': {
        const s = linear(n)!;
        return dense({
          name: n.name,
          input: s.input(),
          kernel: s.kernel,
          inputs: s.rows,
          units: s.width,
          activation: 'linear',
        });
      }
      case 'pick': {
        // A 0/1 selection Dense without bias: kernel[columns[c], c] = 1.
        const x = tensor(n.input);
        const width = x.shape[1]!;
        const select = new Float32Array(width * n.columns.length);
        n.columns.forEach((col, c) => {
          select[col * n.columns.length + c] = 1;
        });
        return dense({
          name: n.name,
          input: x,
          kernel: select,
          inputs: width,
          units: n.columns.length,
          activation: 'linear',
          trainable: false,
        });
      }
      case 'embedding': {
        // A standard Embedding (float ids are cast to int32 by the layer).
        const layer = tf.layers.embedding({
          inputDim: n.rows,
          outputDim: n.dim,
          inputLength: 1,
          name: n.name,
        });
        const out = layer.apply(tensor(n.input)) as tf.SymbolicTensor;
        pending.push([layer, [n.table.values]]);
        return out;
      }
      case 'multiply':
        return tf.layers
          .multiply({ name: n.name })
          .apply(n.inputs.map(tensor)) as tf.SymbolicTensor;
      case 'reshape':
        return tf.layers
          .reshape({ targetShape: n.shape, name: n.name })
          .apply(tensor(n.input)) as tf.SymbolicTensor;
      case 'concat':
        return concatOf(n.inputs, n.name, n.axis);
      case 'gateMix':
        return tf.layers
          .dot({ axes: 1, name: n.name })
          .apply([tensor(n.weights), tensor(n.experts)]) as tf.SymbolicTensor;
    }
  }
  function tensor(name: string): tf.SymbolicTensor {
    let t = made.get(name);
    if (!t) {
      t = build(nodeOf(graph, name));
      made.set(name, t);
    }
    return t;
  }
  const input = tensor(graph.input.name);
  const outputs = graph.outputs.map((o) => tensor(o.node));
  const model = tf.model({ inputs: input, outputs, name: 'mtgraph_export' });
  for (const [layer, values] of pending) {
    const ts = values.map((v, i) => tf.tensor(v, layer.weights[i]!.shape as number[], 'float32'));
    layer.setWeights(ts);
    tf.dispose(ts);
  }
  for (const [i, o] of graph.outputs.entries()) {
    if (model.outputNames[i] !== o.node)
      throw new PlanError(
        `mtgraph/export: output ${i} of the tfjs export is "${model.outputNames[i]}", expected "${o.node}". This is a bug: please report it.`,
      );
  }
  return model;
}

async function artifactsOf(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      captured = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return captured!;
}

/** `tfjs`: model.json + weights.bin of standard tfjs-layers, loadable by plain tf.loadLayersModel. */
export const tfjsFormat = registerExportFormat({
  name: 'tfjs',
  description:
    'model.json + weights.bin of standard tfjs layers (plain tf.loadLayersModel loads it)',
  outputName: (_task, node) => node,
  async files({ graph }) {
    const model = toTfjsModel(graph);
    try {
      const a = await artifactsOf(model);
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData!));
      const modelJson = {
        modelTopology: a.modelTopology,
        format: 'layers-model',
        generatedBy: a.generatedBy,
        convertedBy: 'mtgraph export',
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
      };
      return {
        files: [
          ['model.json', JSON.stringify(modelJson)],
          ['weights.bin', weights],
        ],
      };
    } finally {
      model.dispose();
    }
  },
});
