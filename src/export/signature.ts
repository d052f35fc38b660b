import type { MtgraphModel } from '../network/types.js';
import type { ExportGraph } from './graph.js';
import type { ExportFormat, ExportInput } from './registry.js';

/** `signature.json`'s format tag: it also marks a folder as an mtgraph export. */
export const SIGNATURE_FORMAT = 'mtgraph-export';
export const SIGNATURE_FILE = 'signature.json';

/** What an exported model takes and returns: written as `signature.json` next to the model files. */
export interface ExportSignature {
  format: typeof SIGNATURE_FORMAT;
  version: 1;
  /** The export format ('tfjs', 'onnx', 'pytorch'). */
  exportFormat: string;
  name?: string;
  strategy: string;
  /** The model input: a float matrix `[batch, features]`, already preprocessed unless `preprocessing.included`. */
  inputs: Array<{ name: string; shape: [null, number]; dtype: 'float32'; columns?: string[] }>;
  /**
   * How CSV columns become the input (the CLI's preprocessing, saved with the model), or null when
   * the model was not trained from a CSV. `included`: the export applies it itself (ONNX
   * --with-preprocessing) and takes the raw columns instead.
   */
  preprocessing: (Record<string, unknown> & { included: boolean }) | null;
  /** One output per task, in plan order: its tensor name, kind, columns and units. */
  outputs: Array<{
    task: string;
    name: string;
    kind: string;
    units: number;
    /** Class names (multiclass), label names (multilabel) or output names (regression). */
    classes: string[];
    activation: string;
  }>;
  files: string[];
}

/** The signature of an export of `model` in `format`. */
export function signatureOf(
  model: MtgraphModel,
  graph: ExportGraph,
  format: ExportFormat,
  files: string[],
  input: ExportInput = graph.input,
  preprocessingIncluded = false,
): ExportSignature {
  const pre = model.metadata?.preprocessing;
  const columns = model.plan.input.columns;
  return {
    format: SIGNATURE_FORMAT,
    version: 1,
    exportFormat: format.name,
    ...(model.plan.name ? { name: model.plan.name } : {}),
    strategy: model.plan.strategy,
    inputs: [
      {
        name: input.name,
        shape: [null, input.units],
        dtype: 'float32',
        ...(input.columns ? { columns: input.columns } : columns ? { columns: [...columns] } : {}),
      },
    ],
    preprocessing:
      pre && typeof pre === 'object'
        ? { ...(pre as Record<string, unknown>), included: preprocessingIncluded }
        : null,
    outputs: graph.outputs.map((o) => ({
      task: o.task,
      name: format.outputName(o.task, o.node),
      kind: o.kind,
      units: o.units,
      classes: o.columns,
      activation: model.plan.heads[o.task]?.activation ?? 'linear',
    })),
    files,
  };
}
