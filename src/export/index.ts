import { OptionsError, show } from '../errors.js';
import { nodeParts } from '../platform/index.js';
import type { MtgraphModel } from '../network/types.js';
import { exportGraph } from './graph.js';
import { type ExportFiles, exportFormatNames, getExportFormat } from './registry.js';
import { type ExportSignature, SIGNATURE_FILE, signatureOf } from './signature.js';
import './formats.js';

export {
  exportGraph,
  graphParams,
  EXPORTABLE_LAYER_CLASSES,
  type ExportGraph,
  type ExportNode,
  type ExportOutput,
  type ExportParam,
} from './graph.js';
export {
  registerExportFormat,
  getExportFormat,
  exportFormatNames,
  type ExportFormat,
  type ExportFiles,
  type ExportContext,
  type ExportInput,
} from './registry.js';
export {
  signatureOf,
  SIGNATURE_FILE,
  SIGNATURE_FORMAT,
  type ExportSignature,
} from './signature.js';
export { toTfjsModel } from './tfjs.js';
export { toOnnxModel, ONNX_OPSET } from './onnx.js';
export { importWeights, modelPy, pythonNames, torchWeights } from './pytorch.js';
export { encodeSafetensors, decodeSafetensors, type NamedTensor } from './safetensors.js';

/** exportModel's options. */
export interface ExportOptions {
  /** 'tfjs', 'onnx' or 'pytorch' (any registered format). Required. */
  format: string;
  /** ONNX: the model takes the raw feature columns and applies the saved preprocessing itself (default false). */
  withPreprocessing?: boolean;
}

/** An export in memory: its files (write them with `writeExport` in Node) and its signature. */
export interface ExportResult {
  format: string;
  files: ExportFiles;
  signature: ExportSignature;
}

/**
 * Exports a built model for use outside mtgraph: plain tfjs layers, ONNX or PyTorch, as files in
 * memory (browser-safe; `writeExport` writes them to a folder in Node). Every format predicts what
 * `predict(model, x)` does, one output per task named by the task id.
 */
export async function exportModel(
  model: MtgraphModel,
  options: ExportOptions,
): Promise<ExportResult> {
  if (!model || typeof model !== 'object' || !model.plan || !model.model)
    throw new OptionsError(
      `mtgraph/export: exportModel needs what build(plan), compile or loadModel returns (got ${show(model)}) → at model.`,
      { path: 'model', got: model },
    );
  const format = getExportFormat(options?.format);
  const withPreprocessing = options?.withPreprocessing === true;
  if (withPreprocessing && !format.preprocessing)
    throw new OptionsError(
      `mtgraph/export: the ${format.name} format cannot include the input preprocessing (got withPreprocessing: true; expected it with ${exportFormatNames()
        .filter((n) => getExportFormat(n).preprocessing)
        .join(
          ', ',
        )}) → at options.withPreprocessing. Apply signature.json's preprocessing before the model, or export to ONNX.`,
      { path: 'options.withPreprocessing', got: format.name },
    );
  if (withPreprocessing && model.metadata?.preprocessing === undefined)
    throw new OptionsError(
      `mtgraph/export: withPreprocessing needs the model's saved preprocessing (model.metadata.preprocessing is missing) → at options.withPreprocessing. Train the model from a CSV with mtgraph train, or leave the option off.`,
      { path: 'options.withPreprocessing' },
    );
  const graph = exportGraph(model);
  const ctx = { model, graph, options: { withPreprocessing } };
  const made = await format.files(ctx);
  const names = [...made.files.map(([n]) => n), SIGNATURE_FILE];
  const signature = signatureOf(model, graph, format, names, made.input, made.input !== undefined);
  const all: ExportFiles = [
    ...made.files,
    [SIGNATURE_FILE, `${JSON.stringify(signature, null, 2)}\n`],
  ];
  return { format: format.name, files: all, signature };
}

/**
 * Writes an export to the folder `dir` (Node): atomically, and only over an empty folder or an
 * earlier mtgraph export. In a browser, use `result.files` directly.
 */
export async function writeExport(result: ExportResult, dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir === '')
    throw new OptionsError(
      `mtgraph/export: the export folder must be a non-empty path (got ${show(dir)}) → at dir.`,
      { path: 'dir', got: dir },
    );
  if (!result || !Array.isArray(result.files))
    throw new OptionsError(
      `mtgraph/export: writeExport needs what exportModel returns (got ${show(result)}) → at result.`,
      { path: 'result', got: result },
    );
  const node = await nodeParts(
    'mtgraph/export',
    `writeExport to the folder ${JSON.stringify(dir)}`,
    'In a browser, use the files of the exportModel result directly.',
  );
  return node.writeExportFolder(result, dir);
}
