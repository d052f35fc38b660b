import type { Command } from 'commander';
import { outputOptions } from '../options.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';

interface ImportFlags {
  weights: string;
  out: string;
  quiet?: boolean;
  json?: boolean;
}

export function importCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('import')
    .description(
      'bring weights trained in PyTorch (train.py of a pytorch export) back into a saved model',
    )
    .argument('<model-dir>', 'the model folder the pytorch export was made from')
    .requiredOption('--weights <file.safetensors>', 'the weights train.py wrote')
    .requiredOption('-o, --out <dir>', 'the model folder to write (may be <model-dir> itself)');
  outputOptions(cmd);
  cmd.action(async (dir: string, flags: ImportFlags) => {
    const out = outputOf(ctx, flags);
    const { checkOutputs, loadModel, saveModel, readFileLimited, MODEL_FOLDER, MAX_WEIGHT_BYTES } =
      await import('../../io/index.js');
    const { importWeights } = await import('../../export/index.js');
    await checkOutputs([{ type: 'folder', path: flags.out, kind: MODEL_FOLDER, flag: '--out' }]);
    await startBackend(out);
    const model = await loadModel(dir);
    try {
      const bytes = await readFileLimited(flags.weights, 'weights', MAX_WEIGHT_BYTES);
      importWeights(model, new Uint8Array(bytes), flags.weights);
      model.metadata = { ...model.metadata, importedFrom: flags.weights };
      await saveModel(model, flags.out);
      out.data({ ok: true, out: flags.out, weights: flags.weights });
      out.result(
        `${shown(flags.out)}: ${model.plan.tasks.length} task(s), weights from ${shown(flags.weights)}`,
      );
    } finally {
      model.dispose();
    }
  });
}
