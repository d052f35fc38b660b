import { OptionsError } from '../errors.js';
import type { MtgraphModel } from '../network/types.js';
import type { ExportGraph } from './graph.js';

/** The files of an export: names (no folders) and contents, in writing order. */
export type ExportFiles = Array<[name: string, content: string | Uint8Array]>;

/** The input an exported model takes. */
export interface ExportInput {
  name: string;
  units: number;
  columns?: string[];
}

/** What a format is given: the model, its graph of standard operations, and the export options. */
export interface ExportContext {
  model: MtgraphModel;
  graph: ExportGraph;
  options: { withPreprocessing: boolean };
}

/** An export format: a name and a function from the model to files (browser-safe: no file system). */
export interface ExportFormat {
  name: string;
  /** One line for --help. */
  description: string;
  /** Whether the format can include the input preprocessing (`withPreprocessing`). */
  preprocessing?: boolean;
  /** What the signature calls each task's output (the model's output tensor name). */
  outputName(task: string, node: string): string;
  /**
   * The model files (signature.json is added by exportModel) and, when the model does not take the
   * graph's input as it is (ONNX with its preprocessing), the input it takes.
   */
  files(ctx: ExportContext): Promise<{ files: ExportFiles; input?: ExportInput }>;
}

const FORMATS = new Map<string, ExportFormat>();

/** Registers an export format under its name (one file per format). */
export function registerExportFormat(format: ExportFormat): ExportFormat {
  FORMATS.set(format.name, format);
  return format;
}

/** The registered format names. */
export function exportFormatNames(): string[] {
  return [...FORMATS.keys()];
}

/** The format registered as `name`, or an OptionsError naming the known ones. */
export function getExportFormat(name: unknown): ExportFormat {
  const f = typeof name === 'string' ? FORMATS.get(name) : undefined;
  if (!f)
    throw new OptionsError(
      `mtgraph/export: unknown format (got ${JSON.stringify(name)}; expected one of ${exportFormatNames().join(', ')}) → at options.format. Pass one of those.`,
      { path: 'options.format', got: name },
    );
  return f;
}
