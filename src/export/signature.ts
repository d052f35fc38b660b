import type { MtgraphModel } from '../network/types.js';
import type { EmbeddingPlan } from '../plan/types.js';
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
  /**
   * Embedded input columns (absent: none): the exported model reads each one's input column as
   * an id, a whole number in [0, rows), and looks it up in its table. Feed it: with `vocabulary`,
   * 1 + the value's position in it, 0 for any other value (the out-of-vocabulary row); with
   * `buckets`, FNV-1a (32 bit) of the value's UTF-8 text modulo buckets (`hash`). In-memory
   * values are read as text with String(v) (3, 3.5); CSV cells as written.
   */
  embeddings?: Array<{
    column: string;
    /** The input column holding the id. */
    index: number;
    rows: number;
    dim: number;
    vocabulary?: string[];
    buckets?: number;
    hash?: 'fnv1a32-utf8';
  }>;
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

/** How to feed one embedded column: its vocabulary or hashing (from the plan, or the CSV preprocessing for ids). */
function embeddingSignature(
  e: EmbeddingPlan,
  pre: unknown,
): NonNullable<ExportSignature['embeddings']>[number] {
  const encoded = (
    pre as { features?: Array<Record<string, unknown>> } | undefined
  )?.features?.find((f) => f.column === e.column && f.type === 'embed') as
    | { vocabulary?: string[]; buckets?: number }
    | undefined;
  const vocabulary = e.vocabulary ?? encoded?.vocabulary;
  const buckets = e.buckets ?? encoded?.buckets;
  return {
    column: e.column,
    index: e.index,
    rows: e.rows,
    dim: e.dim,
    ...(vocabulary ? { vocabulary: [...vocabulary] } : {}),
    ...(buckets !== undefined && !vocabulary ? { buckets, hash: 'fnv1a32-utf8' as const } : {}),
  };
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
    ...(model.plan.embeddings?.length
      ? { embeddings: model.plan.embeddings.map((e) => embeddingSignature(e, pre)) }
      : {}),
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
