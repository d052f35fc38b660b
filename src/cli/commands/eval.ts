import type { Command } from 'commander';
import { Option } from 'commander';
import { fmt, table } from '../io.js';
import { outputOptions } from '../options.js';
import { readModelData, type SplitName } from '../data.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';

interface EvalFlags {
  data: string;
  split: SplitName;
  quiet?: boolean;
  json?: boolean;
}

/** Per-task scores as a table: one row per task, one column per metric (union over kinds), and the mean of each. */
export function metricsTable(
  tasks: ReadonlyArray<{ id: string; kind: string }>,
  metrics: Record<string, Record<string, number>>,
): string {
  const scored = tasks.filter((t) => metrics[t.id]);
  const names: string[] = [];
  for (const t of scored)
    for (const m of Object.keys(metrics[t.id]!)) if (!names.includes(m)) names.push(m);
  const rows = [['task', 'kind', ...names]];
  for (const t of scored)
    rows.push([
      t.id,
      t.kind,
      ...names.map((m) => (m in metrics[t.id]! ? fmt(metrics[t.id]![m]) : '')),
    ]);
  if (scored.length > 1) {
    rows.push([
      'mean',
      '',
      ...names.map((m) => {
        const values = scored
          .map((t) => metrics[t.id]![m])
          .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
        return values.length > 0 ? fmt(values.reduce((a, b) => a + b, 0) / values.length) : '';
      }),
    ]);
  }
  return table(rows);
}

export function evalCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('eval')
    .description('score a saved model on a CSV file: per-task loss and metrics')
    .argument('<model-dir>', 'a model folder written by mtgraph train')
    .requiredOption(
      '--data <file.csv>',
      'rows with the feature and label columns the model was trained on',
    )
    .addOption(
      new Option(
        '--split <part>',
        'score only this part of the training split (the file must be the training file)',
      )
        .choices(['all', 'train', 'valid', 'test'])
        .default('all'),
    );
  outputOptions(cmd);
  cmd.action(async (dir: string, flags: EvalFlags) => {
    const out = outputOf(ctx, flags);
    await startBackend(out);
    const { loadModel, loadEnsemble, isEnsembleFolder } = await import('../../io/index.js');
    const { evaluate } = await import('../../train/index.js');
    const { evaluateEnsemble } = await import('../../tune/index.js');
    // An ensemble folder (mtgraph tune --ensemble): its members' weighted mean is scored.
    const ensemble = (await isEnsembleFolder(dir)) ? await loadEnsemble(dir) : undefined;
    const model = ensemble ? ensemble.members[0]!.model : await loadModel(dir);
    try {
      const { csv } = await readModelData(model.plan.tasks, model.metadata, dir, flags.data, {
        labels: 'required',
        split: flags.split,
      });
      for (const note of csv.notes) out.warn(note);
      if (csv.unlabelled.length === model.plan.tasks.length) {
        const { DataError } = await import('../../errors.js');
        throw new DataError(
          `mtgraph/cli: no task has a label in ${flags.data}${flags.split !== 'all' ? ` (${flags.split} rows)` : ''} → at ${flags.data}. Fill the label columns to score the model, or use mtgraph predict.`,
          { path: flags.data },
        );
      }
      const metrics = ensemble
        ? evaluateEnsemble(ensemble, csv.data)
        : await evaluate(model, csv.data);
      out.data({
        ok: true,
        model: dir,
        data: flags.data,
        split: flags.split,
        rows: csv.rows,
        metrics,
      });
      out.result(
        `${metricsTable(model.plan.tasks, metrics)}\n\n${csv.rows} row(s) of ${shown(flags.data)}${flags.split !== 'all' ? ` (${flags.split} part)` : ''}`,
      );
    } finally {
      if (ensemble) ensemble.dispose();
      else model.dispose();
    }
  });
}
