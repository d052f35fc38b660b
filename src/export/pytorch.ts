import * as tf from '@tensorflow/tfjs';
import { FileError, OptionsError } from '../errors.js';
import { fusedHeadOf } from '../network/names.js';
import type { MtgraphModel } from '../network/types.js';
import { type ExportGraph, type ExportNode, type ExportParam, exportGraph } from './graph.js';
import { TRAIN_PY } from './pytorch-train.js';
import { registerExportFormat } from './registry.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from './safetensors.js';

const PY_KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except ' +
    'finally for from global if import in is lambda nonlocal not or pass raise return try while ' +
    'with yield x self torch nn F out input'
  ).split(' '),
);

/** A Python identifier for every node (its layer name with other characters as '_'), unique. */
export function pythonNames(graph: ExportGraph): Map<string, string> {
  const used = new Set<string>();
  const names = new Map<string, string>();
  for (const n of graph.nodes) {
    let base = n.name.replace(/[^A-Za-z0-9_]/g, '_');
    if (/^[0-9]/.test(base)) base = `l_${base}`;
    if (PY_KEYWORDS.has(base)) base = `${base}_`;
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    names.set(n.name, name);
  }
  return names;
}

/** A tensor of the PyTorch state dict and the export parameter it holds (`transpose`: a Dense kernel as nn.Linear's weight). */
interface TorchParam {
  param: ExportParam;
  transpose: boolean;
}

/** The PyTorch state dict keys of the graph's parameters. */
export function torchParams(
  graph: ExportGraph,
  names = pythonNames(graph),
): Map<string, TorchParam> {
  const out = new Map<string, TorchParam>();
  for (const n of graph.nodes) {
    const m = names.get(n.name)!;
    if (n.op === 'dense') {
      out.set(`${m}.weight`, { param: n.kernel, transpose: true });
      if (n.bias) out.set(`${m}.bias`, { param: n.bias, transpose: false });
    } else if (n.op === 'batchNorm') {
      out.set(`${m}.weight`, { param: n.gamma, transpose: false });
      out.set(`${m}.bias`, { param: n.beta, transpose: false });
      out.set(`${m}.running_mean`, { param: n.mean, transpose: false });
      out.set(`${m}.running_var`, { param: n.variance, transpose: false });
    } else if (n.op === 'crossStitch') {
      out.set(`${m}.alpha`, { param: n.alpha, transpose: false });
    } else if (n.op === 'embedding') {
      out.set(`${m}.weight`, { param: n.table, transpose: false });
    }
  }
  return out;
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/** The graph's weights as PyTorch tensors (nn.Linear weights are `[out, in]`), in safetensors. */
export function torchWeights(graph: ExportGraph): Uint8Array {
  const tensors = new Map<string, NamedTensor>();
  for (const [key, { param, transpose }] of torchParams(graph)) {
    const [r, c] = param.shape as [number, number];
    tensors.set(
      key,
      transpose
        ? { shape: [c, r], values: transpose2d(param.values, r, c) }
        : { shape: [...param.shape], values: param.values },
    );
  }
  return encodeSafetensors(tensors);
}

const py = (v: unknown) =>
  JSON.stringify(v)
    .replaceAll('true', 'True')
    .replaceAll('false', 'False')
    .replaceAll('null', 'None');

/** A Python float list literal. */
const floats = (xs: readonly number[]) => `[${xs.map((x) => String(x)).join(', ')}]`;

/** The Python expression applying a tfjs activation to `x`. */
function activation(name: string, x: string): string {
  const f: Record<string, string> = {
    linear: x,
    relu: `F.relu(${x})`,
    relu6: `F.relu6(${x})`,
    elu: `F.elu(${x})`,
    selu: `F.selu(${x})`,
    tanh: `torch.tanh(${x})`,
    sigmoid: `torch.sigmoid(${x})`,
    softmax: `torch.softmax(${x}, dim=-1)`,
    softplus: `F.softplus(${x})`,
    softsign: `F.softsign(${x})`,
    swish: `F.silu(${x})`,
    mish: `F.mish(${x})`,
  };
  const e = f[name];
  if (e === undefined)
    throw new OptionsError(
      `mtgraph/export: the PyTorch export has no activation "${name}" (expected one of ${Object.keys(f).join(', ')}).`,
      { got: name },
    );
  return e;
}

/** The coupling terms train.py adds, with the modules (and output rows of fused heads) they read. */
function couplingTerms(model: MtgraphModel, names: Map<string, string>) {
  const { plan, layerNames } = model;
  const moduleOf = (task: string, layer: number | 'head'): [string, number, number] | undefined => {
    if (layer !== 'head') {
      const dense = layerNames.towers.get(task)?.[layer]?.dense;
      return dense ? [names.get(dense)!, 0, -1] : undefined;
    }
    const fused = fusedHeadOf(layerNames, task);
    // The head's Dense (for a conditioned task `<task>.given_<condition>`), not layerNames.outputs:
    // a conditioned task's output is the product layer, which has no weights to couple.
    if (!fused) return [names.get(layerNames.heads.get(task)!)!, 0, -1];
    let begin = 0;
    for (const t of fused.tasks) {
      if (t === task) return [names.get(fused.layer)!, begin, plan.heads[t]!.units];
      begin += plan.heads[t]!.units;
    }
    return undefined;
  };
  return plan.couplings
    .filter((c) => c.kind === 'laplacian')
    .map((c) => ({
      strength: c.strength,
      pairs: c.pairs.map(([a, b, w]) => [moduleOf(a, c.layer), moduleOf(b, c.layer), w]),
    }));
}

/** The L2 penalties of the plan's layers: [module, l2]. */
function l2Terms(model: MtgraphModel, names: Map<string, string>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const add = (steps: { dense: string }[] | undefined, layers: { l2?: number }[]) =>
    layers.forEach((l, i) => {
      const dense = steps?.[i]?.dense;
      if (l.l2 && dense && names.has(dense)) out.push([names.get(dense)!, l.l2]);
    });
  for (const b of model.plan.blocks) add(model.layerNames.blocks.get(b.id), b.layers);
  for (const [task, t] of Object.entries(model.plan.towers))
    add(model.layerNames.towers.get(task), t.layers);
  return out;
}

const MODEL_HEADER = `"""A multi-task network generated by mtgraph from its Plan (see plan.json and signature.json).

    model = MtgraphModel()
    load_weights(model, "weights.safetensors")
    model.eval()
    outputs = model(x)          # {task id: tensor [batch, units]}, x: float32 [batch, features]

Layer names are those of the mtgraph model (blocks, towers, heads, gates, cross-stitch units).
"""
import json
import struct

import torch
import torch.nn.functional as F
from torch import nn


class CrossStitch(nn.Module):
    """A cross-stitch unit: k towers [batch, units] -> out_i = sum_j alpha[i][j] * tower_j, side by side."""

    def __init__(self, k):
        super().__init__()
        self.alpha = nn.Parameter(torch.eye(k))

    def forward(self, *towers):
        stacked = torch.stack(towers, dim=1)  # [batch, k, units]
        mixed = torch.einsum("ij,bju->biu", self.alpha, stacked)
        return mixed.reshape(mixed.shape[0], -1)


def gate_mix(weights, experts):
    """sum_k weights[b, k] * experts[b, k, :] (a mixture-of-experts gate's mix)."""
    return (weights.unsqueeze(2) * experts).sum(dim=1)


def read_safetensors(path):
    """Float32 tensors of a safetensors file (uses the safetensors package when installed)."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = None
    if load_file is not None:
        return load_file(path)
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    base = 8 + size
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        begin, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + begin : base + end]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(tensors, path):
    """Writes float32 tensors as a safetensors file (the format mtgraph import reads)."""
    header = {"__metadata__": {"format": "pt", "producer": "mtgraph train.py"}}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    head = json.dumps(header).encode()
    head += b" " * ((8 - (8 + len(head)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def state_of(model):
    """The model's weights to save: its state dict without BatchNorm's step counters."""
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def load_weights(model, path):
    """Loads weights written by mtgraph export or train.py; every weight of the model must be there."""
    state = read_safetensors(path)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not match the model (missing {missing}, unexpected {unexpected})")
    return model
`;

/** One line of forward() for a node. */
function forwardLine(n: ExportNode, v: (name: string) => string, m: string): string {
  switch (n.op) {
    case 'input':
      return `${m} = x`;
    case 'dense': {
      const y = activation(n.activation, `self.${m}(${v(n.input)})`);
      return n.scale ? `${m} = ${y} * self.${m}_std + self.${m}_mean` : `${m} = ${y}`;
    }
    case 'batchNorm':
    case 'dropout':
      return `${m} = self.${m}(${v(n.input)})`;
    case 'activation':
      return `${m} = ${activation(n.activation, v(n.input))}`;
    case 'stopGradient':
      return `${m} = ${v(n.input)}.detach()`;
    case 'columns':
      return `${m} = ${activation(n.activation, `${v(n.input)}[:, ${n.begin}:${n.begin + n.size}]`)}`;
    case 'crossStitch':
      return `${m} = self.${m}(${n.inputs.map(v).join(', ')})`;
    case 'pick':
      return `${m} = ${v(n.input)}[:, ${py(n.columns)}]`;
    case 'embedding':
      return `${m} = self.${m}(${v(n.input)}.long())`;
    case 'multiply':
      return `${m} = ${n.inputs.map(v).join(' * ')}`;
    case 'reshape':
      return `${m} = ${v(n.input)}.reshape(-1, ${n.shape.join(', ')})`;
    case 'concat':
      return `${m} = torch.cat([${n.inputs.map(v).join(', ')}], dim=${n.axis})`;
    case 'gateMix':
      return `${m} = gate_mix(${v(n.weights)}, ${v(n.experts)})`;
  }
}

/** One line of __init__() for a node with a module (or buffers), or undefined. */
function initLines(n: ExportNode, m: string): string[] {
  switch (n.op) {
    case 'dense': {
      const [inputs] = n.kernel.shape;
      const lines = [`self.${m} = nn.Linear(${inputs}, ${n.units}${n.bias ? '' : ', bias=False'})`];
      if (n.scale)
        lines.push(
          `self.register_buffer("${m}_mean", torch.tensor(${floats(n.scale.mean)}, dtype=torch.float32), persistent=False)`,
          `self.register_buffer("${m}_std", torch.tensor(${floats(n.scale.std)}, dtype=torch.float32), persistent=False)`,
        );
      return lines;
    }
    case 'batchNorm':
      // tfjs's momentum 0.99 (weight of the old moving average) is PyTorch's 0.01.
      return [`self.${m} = nn.BatchNorm1d(${n.gamma.shape[0]}, eps=${n.epsilon}, momentum=0.01)`];
    case 'dropout':
      return [`self.${m} = nn.Dropout(${n.rate})`];
    case 'crossStitch':
      return [`self.${m} = CrossStitch(${n.inputs.length})`];
    case 'embedding':
      return [`self.${m} = nn.Embedding(${n.rows}, ${n.dim})`];
    default:
      return [];
  }
}

/** model.py: a readable nn.Module of the graph, the coupling terms train.py needs, and weight helpers. */
export function modelPy(model: MtgraphModel, graph: ExportGraph): string {
  const names = pythonNames(graph);
  const v = (name: string) => names.get(name)!;
  const init = graph.nodes.flatMap((n) => initLines(n, v(n.name)));
  const forward = graph.nodes.map((n) => forwardLine(n, v, v(n.name)));
  const scales = Object.fromEntries(
    model.plan.tasks
      .filter((t) => model.plan.heads[t.id]?.scale)
      .map((t) => [t.id, model.plan.heads[t.id]!.scale]),
  );
  const plan = model.plan;
  return `${MODEL_HEADER}

# Task ids in output order, and what train.py needs of the plan's joint objective.
TASKS = ${py(plan.tasks.map((t) => t.id))}
# Regression heads trained on standardised targets: the loss compares (output - mean) / std.
SCALES = ${py(scales)}
# Graph-Laplacian penalties of soft sharing: strength * sum w * ||W_a - W_b||^2 (kernel and bias);
# each side is [module, first output row, rows] (rows -1: all of the module).
LAPLACIAN = ${py(couplingTerms(model, names))}
# L2 penalties on layer kernels: [module, l2].
L2 = ${py(l2Terms(model, names))}


class MtgraphModel(nn.Module):
    """${plan.name ? `${plan.name}: ` : ''}strategy ${plan.strategy}, ${plan.tasks.length} task(s), ${graph.input.units} input(s)."""

    def __init__(self):
        super().__init__()
${init.map((l) => `        ${l}`).join('\n')}

    def forward(self, x):
${forward.map((l) => `        ${l}`).join('\n')}
        return {
${graph.outputs.map((o) => `            ${py(o.task)}: ${v(o.node)},`).join('\n')}
        }
`;
}

/** `pytorch`: model.py, weights.safetensors, plan.json, train.py (DistributedDataParallel). */
export const pytorchFormat = registerExportFormat({
  name: 'pytorch',
  description:
    'model.py (nn.Module) + weights.safetensors + train.py (torchrun, DistributedDataParallel)',
  outputName: (task) => task,
  async files({ model, graph }) {
    return {
      files: [
        ['model.py', modelPy(model, graph)],
        ['weights.safetensors', torchWeights(graph)],
        ['train.py', TRAIN_PY],
        ['plan.json', `${JSON.stringify(model.plan, null, 2)}\n`],
      ],
    };
  },
});

/**
 * Brings PyTorch weights (a safetensors file written by the pytorch export's train.py, or the
 * export itself) back into a built model of the same plan: every weight of the model must be in
 * the file, with its shape. Browser-safe (bytes in).
 */
export function importWeights(model: MtgraphModel, bytes: Uint8Array, where = 'weights'): void {
  const tensors = decodeSafetensors(bytes, where);
  const graph = exportGraph(model);
  const byName = new Map(model.model.weights.map((w) => [w.name, w]));
  const writes: Array<[tf.LayerVariable, tf.Tensor]> = [];
  try {
    for (const [key, { param, transpose }] of torchParams(graph)) {
      const t = tensors.get(key);
      const [r, c] = param.shape as [number, number];
      const shape = transpose ? [c, r] : param.shape;
      if (!t || t.shape.join('x') !== shape.join('x'))
        throw new FileError(
          `mtgraph/import: ${where} has ${t ? `"${key}" of shape ${t.shape.join('x')}` : `no "${key}"`} (expected ${shape.join('x')}, for ${param.name}). Import weights trained from this model's export.`,
          { path: where, got: key },
        );
      const variable = byName.get(param.name);
      if (!variable)
        throw new FileError(
          `mtgraph/import: the model has no weight ${param.name}. This is a bug.`,
        );
      const values = transpose ? transpose2d(t.values, c, r) : t.values;
      writes.push([variable, tf.tensor(values, param.shape, 'float32')]);
    }
    for (const [variable, value] of writes) variable.write(value);
  } finally {
    tf.dispose(writes.map(([, t]) => t));
  }
}
