import onnxProto from 'onnx-proto';
import { OptionsError } from '../errors.js';
import type { FeatureEncoding, Preprocessing } from '../data/preprocess.js';
import type { ExportGraph, ExportNode } from './graph.js';
import { type ExportInput, registerExportFormat } from './registry.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IAttribute = onnxProto.onnx.IAttributeProto;

/** The ONNX opset the export targets (every op it writes is in the default domain at 13). */
export const ONNX_OPSET = 13;
/** IR version 7 is the one of opset 13 (ONNX 1.8). */
const IR_VERSION = 7;
const FLOAT = 1;
const INT64 = 7;

function attr(name: string, value: number | number[] | string, float = false): IAttribute {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string')
    return { name, type: A.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: A.INTS, ints: value };
  return float ? { name, type: A.FLOAT, f: value } : { name, type: A.INT, i: value };
}

/**
 * Writes an ONNX graph: nodes, initializers (constants and weights) and fresh tensor names. Node
 * tensors are named `t:<node>`, so the graph outputs can be the task ids whatever they are.
 */
class OnnxWriter {
  readonly nodes: INode[] = [];
  readonly initializers: ITensor[] = [];
  private count = 0;

  fresh(hint: string): string {
    return `${hint}#${this.count++}`;
  }

  floats(name: string, values: ArrayLike<number>, dims: number[]): string {
    const data = Float32Array.from(values as ArrayLike<number>);
    this.initializers.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  ints(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], dataType: INT64, int64Data: values });
    return name;
  }

  op(opType: string, inputs: string[], output: string, attributes: IAttribute[] = []): string {
    this.nodes.push({
      opType,
      input: inputs,
      output: [output],
      name: output,
      attribute: attributes,
    });
    return output;
  }
}

/** Applies a tfjs activation by name to tensor `x`. */
function activate(w: OnnxWriter, activation: string, x: string, out: string): string {
  switch (activation) {
    case 'linear':
      return w.op('Identity', [x], out);
    case 'relu':
      return w.op('Relu', [x], out);
    case 'relu6':
      return w.op(
        'Clip',
        [x, w.floats(w.fresh('zero'), [0], []), w.floats(w.fresh('six'), [6], [])],
        out,
      );
    case 'elu':
      return w.op('Elu', [x], out, [attr('alpha', 1, true)]);
    case 'selu':
      return w.op('Selu', [x], out);
    case 'tanh':
      return w.op('Tanh', [x], out);
    case 'sigmoid':
      return w.op('Sigmoid', [x], out);
    case 'softmax':
      return w.op('Softmax', [x], out, [attr('axis', -1)]);
    case 'softplus':
      return w.op('Softplus', [x], out);
    case 'softsign':
      return w.op('Softsign', [x], out);
    case 'swish':
      return w.op('Mul', [x, w.op('Sigmoid', [x], w.fresh(`${out}.sigmoid`))], out);
    case 'mish': {
      const sp = w.op('Softplus', [x], w.fresh(`${out}.softplus`));
      return w.op('Mul', [x, w.op('Tanh', [sp], w.fresh(`${out}.tanh`))], out);
    }
    default:
      throw new OptionsError(
        `mtgraph/export: the ONNX export has no activation "${activation}" (expected one of linear, relu, relu6, elu, selu, tanh, sigmoid, softmax, softplus, softsign, swish, mish).`,
        { got: activation },
      );
  }
}

const t = (node: string) => `t:${node}`;

function writeNode(w: OnnxWriter, n: ExportNode): void {
  switch (n.op) {
    case 'input':
      return;
    case 'dense': {
      const W = w.floats(n.kernel.name, n.kernel.values, n.kernel.shape);
      const z = n.bias
        ? w.op(
            'Gemm',
            [t(n.input), W, w.floats(n.bias.name, n.bias.values, n.bias.shape)],
            w.fresh(`${n.name}.z`),
          )
        : w.op('MatMul', [t(n.input), W], w.fresh(`${n.name}.z`));
      if (!n.scale) {
        activate(w, n.activation, z, t(n.name));
        return;
      }
      const a = activate(w, n.activation, z, w.fresh(`${n.name}.a`));
      const s = w.op(
        'Mul',
        [a, w.floats(`${n.name}/std`, n.scale.std, [n.units])],
        w.fresh(`${n.name}.s`),
      );
      w.op('Add', [s, w.floats(`${n.name}/mean`, n.scale.mean, [n.units])], t(n.name));
      return;
    }
    case 'batchNorm':
      w.op(
        'BatchNormalization',
        [
          t(n.input),
          w.floats(n.gamma.name, n.gamma.values, n.gamma.shape),
          w.floats(n.beta.name, n.beta.values, n.beta.shape),
          w.floats(n.mean.name, n.mean.values, n.mean.shape),
          w.floats(n.variance.name, n.variance.values, n.variance.shape),
        ],
        t(n.name),
        [attr('epsilon', n.epsilon, true)],
      );
      return;
    case 'activation':
      activate(w, n.activation, t(n.input), t(n.name));
      return;
    case 'dropout':
    case 'stopGradient':
      w.op('Identity', [t(n.input)], t(n.name));
      return;
    case 'columns': {
      const cols = w.op(
        'Slice',
        [
          t(n.input),
          w.ints(w.fresh('starts'), [n.begin]),
          w.ints(w.fresh('ends'), [n.begin + n.size]),
          w.ints(w.fresh('axes'), [1]),
        ],
        w.fresh(`${n.name}.columns`),
      );
      activate(w, n.activation, cols, t(n.name));
      return;
    }
    case 'crossStitch': {
      const k = n.inputs.length;
      const joined = w.op('Concat', n.inputs.map(t), w.fresh(`${n.name}.towers`), [
        attr('axis', 1),
      ]);
      const stacked = w.op(
        'Reshape',
        [joined, w.ints(w.fresh('shape'), [0, k, n.units])],
        w.fresh(`${n.name}.stacked`),
      );
      // [k, k] x [batch, k, units] -> [batch, k, units]: row i mixes the towers by alpha[i].
      const mixed = w.op(
        'MatMul',
        [w.floats(n.alpha.name, n.alpha.values, n.alpha.shape), stacked],
        w.fresh(`${n.name}.mixed`),
      );
      w.op('Reshape', [mixed, w.ints(w.fresh('shape'), [0, k * n.units])], t(n.name));
      return;
    }
    case 'pick':
      w.op('Gather', [t(n.input), w.ints(w.fresh('columns'), n.columns)], t(n.name), [
        attr('axis', 1),
      ]);
      return;
    case 'embedding': {
      // ids [batch, 1] (float) -> int64 -> rows of the table: [batch, 1, dim].
      const ids = w.op('Cast', [t(n.input)], w.fresh(`${n.name}.ids`), [attr('to', INT64)]);
      const table = w.floats(n.table.name, n.table.values, n.table.shape);
      w.op('Gather', [table, ids], t(n.name), [attr('axis', 0)]);
      return;
    }
    case 'multiply': {
      // x1 * x2 * ... as a chain of Mul, the last one writing the node's tensor.
      let product = t(n.inputs[0]!);
      n.inputs.slice(1).forEach((x, i) => {
        const last = i === n.inputs.length - 2;
        product = w.op('Mul', [product, t(x)], last ? t(n.name) : w.fresh(`${n.name}.mul`));
      });
      if (n.inputs.length === 1) w.op('Identity', [product], t(n.name));
      return;
    }
    case 'reshape':
      w.op('Reshape', [t(n.input), w.ints(w.fresh('shape'), [0, ...n.shape])], t(n.name));
      return;
    case 'concat':
      w.op('Concat', n.inputs.map(t), t(n.name), [attr('axis', n.axis)]);
      return;
    case 'gateMix': {
      const weights = w.op(
        'Unsqueeze',
        [t(n.weights), w.ints(w.fresh('axes'), [2])],
        w.fresh(`${n.name}.weights`),
      );
      const products = w.op('Mul', [t(n.experts), weights], w.fresh(`${n.name}.products`));
      w.op('ReduceSum', [products, w.ints(w.fresh('axes'), [1])], t(n.name), [attr('keepdims', 0)]);
      return;
    }
  }
}

/**
 * The CLI's preprocessing as ONNX: the raw input holds one number per feature column (numeric: the
 * value, NaN when missing; categorical: the category's index in the signature's list, -1 when
 * unseen; embedded: the embedding id, see the signature's embeddings); numeric columns are filled
 * and standardised, one-hot columns compared with every category index, coded columns
 * standardised, ids passed on. Returns the preprocessed tensor's name.
 */
function writePreprocessing(w: OnnxWriter, pre: Preprocessing, raw: string): string {
  const parts = pre.features.map((f: FeatureEncoding, j: number) => {
    const col = w.op(
      'Slice',
      [
        raw,
        w.ints(w.fresh('starts'), [j]),
        w.ints(w.fresh('ends'), [j + 1]),
        w.ints(w.fresh('axes'), [1]),
      ],
      w.fresh(`pre.${j}`),
    );
    if (f.type === 'one-hot') {
      const codes = f.categories.map((_, i) => i);
      const hit = w.op(
        'Equal',
        [col, w.floats(w.fresh('categories'), codes, [1, codes.length])],
        w.fresh(`pre.${j}.equal`),
      );
      return w.op('Cast', [hit], w.fresh(`pre.${j}.onehot`), [attr('to', FLOAT)]);
    }
    // An embedded column's raw value is its id already (the signature's embeddings say how).
    if (f.type === 'embed') return col;
    let x = col;
    if (f.type === 'numeric' && f.fill !== null) {
      const nan = w.op('IsNaN', [col], w.fresh(`pre.${j}.nan`));
      x = w.op(
        'Where',
        [nan, w.floats(w.fresh('fill'), [f.fill], []), col],
        w.fresh(`pre.${j}.filled`),
      );
    }
    const centred = w.op(
      'Sub',
      [x, w.floats(w.fresh('mean'), [f.mean], [])],
      w.fresh(`pre.${j}.c`),
    );
    return w.op('Div', [centred, w.floats(w.fresh('scale'), [f.scale], [])], w.fresh(`pre.${j}.z`));
  });
  return parts.length === 1
    ? parts[0]!
    : w.op('Concat', parts, w.fresh('pre.features'), [attr('axis', 1)]);
}

function valueInfo(name: string, dims: Array<number | string>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })),
        },
      },
    },
  };
}

/** The raw input of an export with its preprocessing: one column per CSV feature column. */
export function rawInputOf(pre: Preprocessing): ExportInput {
  return {
    name: 'features',
    units: pre.features.length,
    columns: pre.features.map((f) => f.column),
  };
}

/** The graph as an ONNX model (opset 13), one output per task named by the task id. */
export function toOnnxModel(
  graph: ExportGraph,
  options: { name?: string; preprocessing?: Preprocessing } = {},
): Uint8Array {
  const w = new OnnxWriter();
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  if (options.preprocessing) {
    const raw = rawInputOf(options.preprocessing);
    inputs.push(valueInfo(raw.name, ['batch', raw.units]));
    w.op('Identity', [writePreprocessing(w, options.preprocessing, raw.name)], t(graph.input.name));
  } else {
    inputs.push(valueInfo(graph.input.name, ['batch', graph.input.units]));
    w.op('Identity', [graph.input.name], t(graph.input.name));
  }
  for (const n of graph.nodes) writeNode(w, n);
  for (const o of graph.outputs) w.op('Identity', [t(o.node)], o.task);
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'mtgraph',
    producerVersion: '1',
    graph: {
      name: options.name ?? 'mtgraph',
      node: w.nodes,
      initializer: w.initializers,
      input: inputs,
      output: graph.outputs.map((o) => valueInfo(o.task, ['batch', o.units])),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** `onnx`: model.onnx (opset 13), one output per task named by its id; optionally with the input preprocessing. */
export const onnxFormat = registerExportFormat({
  name: 'onnx',
  description: 'model.onnx (opset 13), one output per task; --with-preprocessing takes raw columns',
  preprocessing: true,
  outputName: (task) => task,
  async files({ model, graph, options }) {
    const pre = options.withPreprocessing
      ? (model.metadata.preprocessing as Preprocessing)
      : undefined;
    const bytes = toOnnxModel(graph, {
      ...(model.plan.name ? { name: model.plan.name } : {}),
      ...(pre ? { preprocessing: pre } : {}),
    });
    return { files: [['model.onnx', bytes]], ...(pre ? { input: rawInputOf(pre) } : {}) };
  },
});
