import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import {
  csvOptions,
  fitSettings,
  modelOptions,
  outputOptions,
  planOptions,
  seedOption,
  splitOptions,
  trainingOptions,
  type CsvFlags,
  type ModelFlags,
  type TrainingFlags,
} from '../options.js';
import { readTrainingData } from '../data.js';
import { preprocessingVocabularies } from '../../data/preprocess.js';
import { sampleWeightColumn } from '../sample-weight.js';
import { trainingProgress } from '../progress.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';
import { metricsTable } from './eval.js';

interface TrainFlags extends CsvFlags, ModelFlags, TrainingFlags {
  data: string;
  sampleWeight?: string;
  out: string;
  report: string | boolean;
  quiet?: boolean;
  json?: boolean;
}

/** The `--out`, `--report` and `--no-report` options of a command that writes a model folder. */
export function modelOutputOptions(cmd: Command, outHelp: string): Command {
  return cmd
    .option('-o, --out <dir>', outHelp, 'out/model')
    .addOption(
      new Option('--report <file>', 'where to write the HTML report (default: <out>/report.html)'),
    )
    .option('--no-report', 'write no report');
}

/** Where the report goes: --report, none with --no-report, else <out>/report.html. */
export function reportPathOf(flags: { out: string; report: string | boolean }): string | undefined {
  if (flags.report === false) return undefined;
  return typeof flags.report === 'string' ? flags.report : path.join(flags.out, 'report.html');
}

/**
 * The outputs of `train`: the model folder and the report, checked before any training (see
 * checkOutputs). A report inside the model folder (the default, <out>/report.html) is written as
 * one of the folder's files, so the two are published together.
 */
export async function trainOutputs(
  out: string,
  report: string | undefined,
  kind?: import('../../io/index.js').FolderKind,
) {
  const { checkOutputs, MODEL_FOLDER } = await import('../../io/index.js');
  const folder = {
    type: 'folder' as const,
    path: out,
    kind: kind ?? MODEL_FOLDER,
    flag: '--out',
  };
  const inFolder =
    report !== undefined && path.resolve(path.dirname(report)) === path.resolve(out)
      ? path.basename(report)
      : undefined;
  const file =
    report !== undefined && inFolder === undefined
      ? { type: 'file' as const, path: report, what: 'report', flag: '--report' }
      : undefined;
  await checkOutputs(file ? [folder, file] : [folder]);
  return { folder, file, inFolder };
}

/**
 * Writes the folder (the files `folderFiles` makes, told the report's name when it goes inside)
 * and the report together: both or neither.
 */
export async function commitFolderAndReport(
  outputs: Awaited<ReturnType<typeof trainOutputs>>,
  folderFiles: (also: string[]) => Promise<Array<[string, string | Uint8Array]>>,
  reportHtml: string | undefined,
): Promise<void> {
  const { commitOutputs } = await import('../../io/index.js');
  const files = await folderFiles(outputs.inFolder !== undefined ? [outputs.inFolder] : []);
  if (outputs.inFolder !== undefined) files.push([outputs.inFolder, reportHtml!]);
  await commitOutputs([
    [outputs.folder, files],
    ...(outputs.file ? [[outputs.file, reportHtml!] as const] : []),
  ]);
}

export function trainCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('train')
    .description(
      'train a multi-task model from a task graph and a CSV file; writes the model folder and report.html',
    )
    .argument(
      '<graph.json>',
      'a task graph file: tasks (their target columns), affinities, input columns',
    )
    .requiredOption(
      '--data <file.csv>',
      'the training data: one row per example, a header row, the label columns of the tasks',
    );
  modelOptions(cmd);
  trainingOptions(cmd);
  cmd.option(
    '--sample-weight <column>',
    'weigh each training row by this numeric column (>= 0; 0 leaves the row out), for every task; the column is not a feature',
  );
  modelOutputOptions(cmd, 'the model folder to write (replaced if it holds a model)');
  seedOption(cmd, 'the split, the initialisation and the shuffling');
  csvOptions(cmd);
  outputOptions(cmd);
  cmd.action(async (graphFile: string, flags: TrainFlags) => {
    const out = outputOf(ctx, flags);
    const started = performance.now();
    const { loadGraph, checkSavable, modelFolderFiles } = await import('../../io/index.js');
    const graph = await loadGraph(graphFile);
    const reportPath = reportPathOf(flags);
    // Every output path is checked before the data is read and the model trained.
    const outputs = await trainOutputs(flags.out, reportPath);
    if (flags.sampleWeight !== undefined)
      flags.exclude = [...(flags.exclude ?? []), flags.sampleWeight];
    const data = await readTrainingData(graph, flags.data, flags, splitOptions(flags));
    const sampleWeight =
      flags.sampleWeight === undefined
        ? undefined
        : sampleWeightColumn(data.table, flags.sampleWeight, data.trainRows, data.tasks);
    const sizes = data.split.sizes;
    out.info(
      `${shown(flags.data)}: ${data.table.rows} row(s) -> train ${sizes.train}, valid ${sizes.valid}, test ${sizes.test}${data.split.stratify ? ` (stratified by ${data.split.stratify})` : data.split.group ? ` (grouped by ${data.split.group})` : ''}; ${data.preprocessing.columns.length} model input(s) from ${data.preprocessing.features.length} column(s)`,
    );
    for (const note of data.notes) out.warn(note);

    await startBackend(out);
    const { compile } = await import('../../network/index.js');
    const { fit, evaluate, targetScale } = await import('../../train/index.js');
    const scale = flags.targetScale ? targetScale(graph, data.train.data) : {};
    const model = compile(graph, {
      ...planOptions(
        flags,
        data.preprocessing.columns,
        preprocessingVocabularies(data.preprocessing),
      ),
      ...(Object.keys(scale).length > 0 ? { targetScale: scale } : {}),
    });
    try {
      if (Object.keys(scale).length > 0)
        out.info(
          `regression targets standardised on the training part: ${Object.entries(scale)
            .slice(0, 4)
            .map(
              ([t, s]) =>
                `${t} mean ${s.mean.map((v) => v.toPrecision(4)).join('/')} std ${s.std.map((v) => v.toPrecision(4)).join('/')}`,
            )
            .join(
              ', ',
            )}${Object.keys(scale).length > 4 ? `, ... (${Object.keys(scale).length} tasks)` : ''} (--no-target-scale to train on raw targets)`,
        );
      out.info(
        `strategy ${model.plan.strategy}${model.plan.requested !== model.plan.strategy ? ` (asked: ${model.plan.requested})` : ''}, ${model.plan.tasks.length} task(s), ${model.plan.params.total.toLocaleString('en-US')} parameters; ${flags.epochs} epoch(s), balance ${flags.balance}`,
      );
      const progress = trainingProgress(out, flags.epochs);
      let history;
      try {
        history = await fit(model, data.train.data, {
          ...fitSettings(flags, data.valid !== undefined),
          ...(data.valid ? { validationData: data.valid.data } : {}),
          ...(sampleWeight ? { sampleWeight } : {}),
          onEpochEnd: (epoch, logs) => progress.onEpochEnd(epoch, logs),
        });
      } finally {
        progress.stop();
      }
      for (const note of history.notes) out.warn(note);
      const scored = data.test ? 'test' : data.valid ? 'valid' : 'train';
      const scoredData = data.test ?? data.valid ?? data.train;
      const metrics = await evaluate(model, scoredData.data);

      model.metadata = {
        ...model.metadata,
        preprocessing: data.preprocessing,
        training: {
          data: path.basename(flags.data),
          split: data.split,
          strategy: model.plan.strategy,
          balance: flags.balance,
          epochs: history.epochs,
          seed: flags.seed,
          optimizer: flags.optimizer,
          batchSize: flags.batchSize,
          stoppedEarly: history.stoppedEarly,
          ...(history.bestEpoch !== undefined ? { bestEpoch: history.bestEpoch } : {}),
          scoredOn: scored,
          metrics,
          history,
        },
      };
      // Render before writing anything, so a failure leaves no output behind.
      let reportHtml: string | undefined;
      if (reportPath !== undefined) {
        const { renderReport } = await import('../../viz/index.js');
        reportHtml = await renderReport({ graph, plan: model.plan, history, metrics });
      }
      // The model folder and the report together: both or neither.
      checkSavable(model);
      await commitFolderAndReport(outputs, (also) => modelFolderFiles(model, { also }), reportHtml);

      const seconds = (performance.now() - started) / 1000;
      out.data({
        ok: true,
        model: flags.out,
        report: reportPath ?? null,
        strategy: model.plan.strategy,
        params: model.plan.params.total,
        epochs: history.epochs,
        stoppedEarly: history.stoppedEarly,
        bestEpoch: history.bestEpoch ?? null,
        split: sizes,
        scoredOn: scored,
        targetScale: scale,
        metrics,
        loss: history.loss,
        valLoss: history.valLoss ?? null,
        seconds,
      });
      out.result(
        `${metricsTable(model.plan.tasks, metrics)}\n\nscores on the ${scored} rows (${scoredData.rows}); trained ${history.epochs} epoch(s)${history.stoppedEarly ? ` (stopped early, best epoch ${history.bestEpoch})` : ''} in ${seconds.toFixed(1)} s\nmodel: ${shown(flags.out)}${reportPath !== undefined ? `\nreport: ${shown(reportPath)}` : ''}`,
      );
    } finally {
      model.dispose();
    }
  });
}
