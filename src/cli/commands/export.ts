import type { Command } from 'commander';
import { outputOptions } from '../options.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';

interface ExportFlags {
  format: string;
  out: string;
  withPreprocessing?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export function exportCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('export')
    .description(
      'export a saved model for serving or training elsewhere: plain tfjs, ONNX or PyTorch (+ a DDP train.py)',
    )
    .argument('<model-dir>', 'a model folder written by mtgraph train or saveModel')
    .requiredOption('--format <format>', 'tfjs, onnx or pytorch')
    .requiredOption(
      '-o, --out <dir>',
      'the export folder (replaced atomically; only an empty folder or an earlier export)',
    )
    .option(
      '--with-preprocessing',
      'onnx: the model takes the raw CSV columns and applies the saved preprocessing itself',
    );
  outputOptions(cmd);
  cmd.action(async (dir: string, flags: ExportFlags) => {
    const out = outputOf(ctx, flags);
    const { checkOutputs, loadModel } = await import('../../io/index.js');
    const { exportModel, getExportFormat } = await import('../../export/index.js');
    const { EXPORT_FOLDER, writeExportFolder } = await import('../../export/folder.js');
    getExportFormat(flags.format);
    await checkOutputs([{ type: 'folder', path: flags.out, kind: EXPORT_FOLDER, flag: '--out' }]);
    await startBackend(out);
    const model = await loadModel(dir);
    try {
      const started = performance.now();
      const result = await exportModel(model, {
        format: flags.format,
        withPreprocessing: flags.withPreprocessing === true,
      });
      await writeExportFolder(result, flags.out);
      const seconds = (performance.now() - started) / 1000;
      const files = result.files.map(([name, content]) => ({
        name,
        bytes: typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength,
      }));
      out.data({ ok: true, format: result.format, out: flags.out, files, seconds });
      out.result(
        `${shown(flags.out)}: ${result.format} export of ${model.plan.tasks.length} task(s) (${files.map((f) => f.name).join(', ')}) in ${seconds.toFixed(1)} s`,
      );
    } finally {
      model.dispose();
    }
  });
}
