import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  csvOptions,
  fraction,
  list,
  outputOptions,
  seedOption,
  splitOptions,
  wholeNumber,
  type CsvFlags,
  type TrainingFlags,
} from '../options.js';
import { readTrainingData } from '../data.js';
import { preprocessingVocabularies } from '../../data/preprocess.js';
import { decimalsFor } from './compare.js';
import { commitFolderAndReport, modelOutputOptions, reportPathOf, trainOutputs } from './train.js';
import { metricsTable } from './eval.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';

interface TuneFlags
  extends CsvFlags,
    Pick<TrainingFlags, 'valid' | 'test' | 'stratify' | 'group' | 'targetScale' | 'seed'> {
  data: string;
  strategies?: string[];
  budget?: number;
  budgetClock: 'wall' | 'cpu';
  trials?: number;
  objective: 'mean-rank' | 'mean';
  ensemble?: number;
  batchSize?: number;
  out: string;
  report: string | boolean;
  quiet?: boolean;
  json?: boolean;
}

/** A duration: `90` or `90s` (seconds), `10m`, `1.5h`. */
export function duration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/.exec(value);
  const n = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) : Number.NaN;
  if (!(n > 0))
    throw new InvalidArgumentError(
      `expected a duration such as 90s, 10m or 1h (got ${JSON.stringify(value)}).`,
    );
  return n;
}

/**
 * `mtgraph tune`: searches strategies and their settings on a validation part of a CSV file
 * (`tune`), retrains the best on training + validation rows, scores it on the test part, saves
 * it (`--out`) and writes a report with every trial.
 */
export function tuneCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('tune')
    .description(
      'search sharing strategies and their settings on validation rows, then train the best and save it',
    )
    .argument(
      '<graph.json>',
      'a task graph file: tasks (their target columns), affinities, input columns',
    )
    .requiredOption(
      '--data <file.csv>',
      'the data: one row per example, a header row, the label columns of the tasks',
    )
    .option(
      '--strategies <names>',
      'comma-separated search spaces (default: single,hard,clustered,soft; mmoe with more than 3 tasks; learned with 3 to 12)',
      list,
    )
    .option('--budget <time>', 'stop searching after this long, e.g. 90s, 10m, 1h', duration)
    .addOption(
      new Option(
        '--budget-clock <clock>',
        "what --budget counts: elapsed time (wall) or this process's CPU time (cpu: the same search whatever else runs on the machine)",
      )
        .choices(['wall', 'cpu'])
        .default('wall'),
    )
    .option(
      '--trials <n>',
      'stop after n training runs (default 30 without --budget)',
      wholeNumber(1),
    )
    .addOption(
      new Option(
        '--objective <how>',
        "how trials are compared: each task's score ranked over the trials (mean-rank) or averaged (mean)",
      )
        .choices(['mean-rank', 'mean'])
        .default('mean-rank'),
    )
    .option(
      '--ensemble <rounds>',
      'keep a weighted mean of the best trials instead of the best alone, chosen on the validation rows in this many rounds of ensemble selection (e.g. 10); --out is then an ensemble folder, which predict reads',
      wholeNumber(1),
    )
    .option(
      '--batch-size <n>',
      'rows per step (default: about 50 steps per epoch, 32 to 1024)',
      wholeNumber(1),
    )
    .option(
      '--valid <fraction>',
      'rows held out for scoring the trials (each task keeps its share)',
      fraction,
      0.2,
    )
    .option('--test <fraction>', 'rows held out for the final scores of the best', fraction, 0.2)
    .option(
      '--stratify <task|column>',
      'split each class of this task (or value of this column) in the same proportions',
    )
    .option('--group <column>', 'keep rows with the same value of this column in the same part')
    .option(
      '--no-target-scale',
      "train regression tasks on their raw targets (default: standardised with the training part's mean and std)",
    );
  modelOutputOptions(cmd, 'the model folder for the best (replaced if it holds a model)');
  seedOption(cmd, 'the split, the search, the initialisation and the shuffling');
  csvOptions(cmd);
  outputOptions(cmd);
  cmd.action(async (graphFile: string, flags: TuneFlags) => {
    const out = outputOf(ctx, flags);
    const started = performance.now();
    const { loadGraph, checkSavable, modelFolderFiles, ENSEMBLE_FOLDER } = await import(
      '../../io/index.js'
    );
    const graph = await loadGraph(graphFile);
    const reportPath = reportPathOf(flags);
    const outputs = await trainOutputs(
      flags.out,
      reportPath,
      flags.ensemble ? ENSEMBLE_FOLDER : undefined,
    );
    const data = await readTrainingData(
      graph,
      flags.data,
      flags,
      splitOptions(flags as unknown as TrainingFlags),
    );
    const sizes = data.split.sizes;
    out.info(
      `${shown(flags.data)}: ${data.table.rows} row(s) -> train ${sizes.train}, valid ${sizes.valid}, test ${sizes.test}; ${data.preprocessing.columns.length} model input(s)`,
    );
    for (const note of data.notes) out.warn(note);
    const { tune, tuningSummary } = await import('../../tune/index.js');
    const { targetScale, fit, evaluate } = await import('../../train/index.js');
    const { plan } = await import('../../plan/index.js');
    const { build } = await import('../../network/index.js');
    const { toTaskData } = await import('../../data/holdout.js');
    const scale = flags.targetScale ? targetScale(graph, data.train.data) : {};
    const embedded = preprocessingVocabularies(data.preprocessing);
    await startBackend(out);
    const budget = {
      ...(flags.trials !== undefined ? { trials: flags.trials } : {}),
      ...(flags.budget !== undefined
        ? flags.budgetClock === 'cpu'
          ? { cpuSeconds: flags.budget }
          : { seconds: flags.budget }
        : {}),
    };
    const limit = [
      flags.trials !== undefined ? `${flags.trials} trials` : '',
      flags.budget !== undefined
        ? `${flags.budget} s${flags.budgetClock === 'cpu' ? ' of CPU time' : ''}`
        : '',
    ]
      .filter(Boolean)
      .join(' or ');
    const result = await tune(graph, data.train.data, {
      ...(flags.strategies?.length ? { strategies: [...new Set(flags.strategies)] } : {}),
      ...(Object.keys(budget).length > 0 ? { budget } : {}),
      seed: flags.seed,
      objective: flags.objective,
      ...(flags.ensemble ? { ensemble: flags.ensemble } : {}),
      ...(data.valid ? { validationData: data.valid.data } : { validationSplit: 0.2 }),
      planOptions: {
        input: { columns: data.preprocessing.columns },
        ...(Object.keys(scale).length > 0 ? { targetScale: scale } : {}),
        ...(Object.keys(embedded).length > 0 ? { vocabularies: embedded } : {}),
      },
      ...(flags.batchSize !== undefined ? { fitOptions: { batchSize: flags.batchSize } } : {}),
      onTrial: ({ trial, best, trials, seconds }) => {
        const score = Number.isFinite(trial.value)
          ? `${flags.objective === 'mean-rank' ? 'mean rank' : 'mean'} ${trial.value.toFixed(3)}`
          : trial.status === 'failed'
            ? 'failed (diverged)'
            : 'not scored';
        out.info(
          `trial ${trials}${flags.trials !== undefined ? `/${flags.trials}` : ''} ${trial.space}${trial.strategy !== trial.space ? ` (${trial.strategy})` : ''} rung ${trial.rung}: ${trial.epochs}/${trial.maxEpochs} epoch(s), ${trial.seconds.toFixed(1)} s, ${score}${trial.status === 'cut' ? ' (cut by the budget)' : ''} | best so far: trial ${best ? `${best.id + 1} ${best.space} ${best.value.toFixed(3)}` : '–'} [${seconds.toFixed(0)} s]`,
        );
      },
    });
    for (const note of result.notes) out.info(note);
    if (result.ensemble) {
      await saveTunedEnsemble({ out, flags, graph, data, result, outputs, reportPath, started });
      return;
    }

    // The best, trained again on the training and validation rows, scored on the test rows.
    const p = plan(graph, result.best.planOptions);
    const all = await trainAndValidRows(p, data);
    const model = build(p, { graph });
    try {
      out.info(
        `training the best (trial ${result.best.trial + 1}, ${result.best.space}) on ${all.rows} training + validation rows for ${result.best.fitOptions.epochs} epoch(s)`,
      );
      const history = await fit(model, toTaskData(all), { ...result.best.fitOptions });
      const metrics = data.test ? await evaluate(model, data.test.data) : undefined;
      const test = metrics && compareScores(result.best.score.tasks, metrics);
      model.metadata = {
        ...model.metadata,
        preprocessing: data.preprocessing,
        training: {
          ...tunedTraining(flags, data, model.plan.strategy, history.epochs, metrics),
          history,
        },
        tuning: {
          best: result.best,
          trials: result.trials.length,
          stopped: result.stopped,
          seconds: result.seconds,
          cpuSeconds: result.cpuSeconds,
        },
      };
      let reportHtml: string | undefined;
      if (reportPath !== undefined) {
        const { renderReport } = await import('../../viz/index.js');
        reportHtml = await renderReport(
          {
            graph,
            plan: model.plan,
            history,
            ...(metrics ? { metrics } : {}),
            tuning: tuningSummary(
              result,
              test,
              `${result.trials.length} trials in ${result.seconds.toFixed(0)} s (stopped by the ${result.stopped} budget), scored on ${result.rows.valid} validation rows; the best trained again on ${all.rows} training + validation rows${data.test ? ` and scored on ${data.test.rows} test rows` : ''}.`,
            ),
          },
          { title: `${graph.getAttribute('name') ?? 'mtgraph'}: tuned` },
        );
      }
      checkSavable(model);
      await commitFolderAndReport(outputs, (also) => modelFolderFiles(model, { also }), reportHtml);
      const seconds = (performance.now() - started) / 1000;
      out.data({
        ok: true,
        model: flags.out,
        report: reportPath ?? null,
        best: result.best,
        stopped: result.stopped,
        split: sizes,
        test: metrics ?? null,
        trials: result.trials,
        seconds,
      });
      const ranked = result.trials
        .filter((t) => Number.isFinite(t.value))
        .sort((a, b) => (flags.objective === 'mean-rank' ? a.value - b.value : b.value - a.value))
        .slice(0, 10);
      const d = decimalsFor(ranked.map((t) => t.value));
      const lines = [
        `best ${ranked.length} of ${result.trials.length} trial(s) on ${result.rows.valid} validation rows (${flags.objective}${flags.objective === 'mean-rank' ? ', lower is better' : ', higher is better'}):`,
        ...ranked.map(
          (t) =>
            `  ${String(t.id + 1).padStart(3)}  ${t.space.padEnd(10)} rung ${t.rung}  ${t.value.toFixed(d)}  ${describe(t.planOptions, t.fitOptions)}`,
        ),
        '',
        `chosen: trial ${result.best.trial + 1}, ${result.best.space} (${result.best.strategy}): ${describe(result.best.planOptions, result.best.fitOptions)}`,
        '',
        metrics
          ? `${metricsTable(model.plan.tasks, metrics)}\n\nthe best retrained on train + valid (${all.rows} rows, ${history.epochs} epochs), scored on the test rows (${data.test!.rows})`
          : 'no test rows (--test 0): the best was not scored on held-out rows',
        `searched ${result.trials.length} trial(s) in ${result.seconds.toFixed(0)} s${Number.isFinite(result.cpuSeconds) ? ` (${result.cpuSeconds.toFixed(0)} s of CPU)` : ''} (${result.stopped} budget${limit ? `: ${limit}` : ''}); total ${seconds.toFixed(1)} s`,
        `model: ${shown(flags.out)}${reportPath !== undefined ? `\nreport: ${shown(reportPath)}` : ''}`,
      ];
      out.result(lines.join('\n'));
    } finally {
      model.dispose();
    }
  });
}

/** A candidate's settings in one line. */
function describe(p: Record<string, unknown>, f: Record<string, unknown>): string {
  const get = (o: unknown, k: string) =>
    o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
  const trunk = get(p.trunk, 'units') as number[] | undefined;
  const tower = get(p.tower, 'units') as number[] | undefined;
  const opt = f.optimizer as { name?: string; learningRate?: number; weightDecay?: number };
  return [
    trunk ? `trunk [${trunk.join(',')}]` : '',
    tower?.length ? `tower [${tower.join(',')}]` : '',
    get(p.soft, 'strength') !== undefined ? `strength ${get(p.soft, 'strength')}` : '',
    get(p.mmoe, 'experts') !== undefined ? `${get(p.mmoe, 'experts')} experts` : '',
    Array.isArray(get(p.clustered, 'groups'))
      ? `${(get(p.clustered, 'groups') as unknown[]).length} learned groups`
      : '',
    get(p.trunk, 'dropout') ? `dropout ${get(p.trunk, 'dropout')}` : '',
    get(p.trunk, 'l2') ? `l2 ${get(p.trunk, 'l2')}` : '',
    opt
      ? `${opt.name} ${opt.learningRate}${opt.weightDecay ? ` decay ${opt.weightDecay}` : ''}`
      : '',
    typeof f.balance === 'string' && f.balance !== 'static' ? `balance ${f.balance}` : '',
    typeof f.epochs === 'number' ? `${f.epochs} epochs` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** Two prepared parts one after the other (the same plan). */
function concatPrepared<
  T extends {
    rows: number;
    features: number;
    x: Float32Array;
    tasks: Array<{ labels: Float32Array; mask: Float32Array; labelled: number }>;
  },
>(a: T, b: T): T {
  const join = (u: Float32Array, v: Float32Array) => {
    const out = new Float32Array(u.length + v.length);
    out.set(u);
    out.set(v, u.length);
    return out;
  };
  return {
    ...a,
    rows: a.rows + b.rows,
    x: join(a.x, b.x),
    tasks: a.tasks.map((t, i) => ({
      ...t,
      labels: join(t.labels, b.tasks[i]!.labels),
      mask: join(t.mask, b.tasks[i]!.mask),
      labelled: t.labelled + b.tasks[i]!.labelled,
    })),
  };
}

type TuneResultOf = Awaited<ReturnType<typeof import('../../tune/index.js').tune>>;

/**
 * `--ensemble`: the ensemble's members trained again on the training + validation rows, their
 * weighted mean scored on the test rows, saved as an ensemble folder (with the report).
 */
async function saveTunedEnsemble(a: {
  out: ReturnType<typeof outputOf>;
  flags: TuneFlags;
  graph: import('../../graph/index.js').TaskGraph;
  data: Awaited<ReturnType<typeof readTrainingData>>;
  result: TuneResultOf;
  outputs: Awaited<ReturnType<typeof trainOutputs>>;
  reportPath: string | undefined;
  started: number;
}): Promise<void> {
  const { out, flags, graph, data, result, outputs, reportPath, started } = a;
  const ensemble = result.ensemble!;
  const { ensembleFolderFiles } = await import('../../io/index.js');
  const { fitEnsemble, evaluateEnsemble, tuningSummary } = await import('../../tune/index.js');
  const { plan } = await import('../../plan/index.js');
  const { toTaskData } = await import('../../data/holdout.js');
  const all = await trainAndValidRows(plan(graph, ensemble.members[0]!.planOptions), data);
  const n = ensemble.members.length;
  out.info(
    `ensemble of ${n} trial(s) (${ensemble.members.map((m) => `${m.trial + 1} ${m.space} ${m.weight.toFixed(2)}`).join(', ')}): validation ${ensemble.score.objective} ${ensemble.score.value.toFixed(3)}; training its members on ${all.rows} training + validation rows`,
  );
  const trained = await fitEnsemble(graph, toTaskData(all), ensemble, {
    onMember: (i, count) => out.info(`member ${i + 1}/${count} trained`),
  });
  try {
    const first = trained.members[0]!.model;
    const metrics = data.test ? evaluateEnsemble(trained, data.test.data) : undefined;
    const test = metrics && compareScores(ensemble.score.tasks, metrics);
    trained.members.forEach(({ model }, i) => {
      const member = ensemble.members[i]!;
      model.metadata = {
        ...model.metadata,
        preprocessing: data.preprocessing,
        training: {
          ...tunedTraining(flags, data, model.plan.strategy, member.fitOptions.epochs, metrics),
          ensemble: { member: i + 1, members: n, weight: member.weight, trial: member.trial },
        },
      };
    });
    let reportHtml: string | undefined;
    if (reportPath !== undefined) {
      const { renderReport } = await import('../../viz/index.js');
      const heaviest = trained.members.reduce((a, b) => (b.weight > a.weight ? b : a));
      reportHtml = await renderReport(
        {
          graph,
          plan: heaviest.model.plan,
          ...(metrics ? { metrics } : {}),
          tuning: tuningSummary(
            result,
            test,
            `${result.trials.length} trials in ${result.seconds.toFixed(0)} s (stopped by the ${result.stopped} budget), scored on ${result.rows.valid} validation rows; an ensemble of ${n} trial(s) (${ensemble.members.map((m) => `${m.trial + 1}: ${m.weight.toFixed(2)}`).join(', ')}) trained again on ${all.rows} training + validation rows${data.test ? ` and scored on ${data.test.rows} test rows (the test scores are the ensemble's)` : ''}; the network drawn is its heaviest member's.`,
          ),
        },
        { title: `${graph.getAttribute('name') ?? 'mtgraph'}: tuned ensemble` },
      );
    }
    await commitFolderAndReport(
      outputs,
      (also) => ensembleFolderFiles(trained, { also }),
      reportHtml,
    );
    const seconds = (performance.now() - started) / 1000;
    out.data({
      ok: true,
      model: flags.out,
      report: reportPath ?? null,
      best: result.best,
      ensemble,
      stopped: result.stopped,
      split: data.split.sizes,
      test: metrics ?? null,
      trials: result.trials,
      seconds,
    });
    out.result(
      [
        `ensemble of ${n} trial(s), chosen on ${result.rows.valid} validation rows (${ensemble.score.objective} ${ensemble.score.value.toFixed(3)}; the best trial alone: trial ${result.best.trial + 1}, ${result.best.space}):`,
        ...ensemble.members.map(
          (m) =>
            `  ${String(m.trial + 1).padStart(3)}  ${m.space.padEnd(10)} weight ${m.weight.toFixed(2)}  ${describe(m.planOptions, m.fitOptions)}`,
        ),
        '',
        metrics
          ? `${metricsTable(first.plan.tasks, metrics)}\n\nthe ensemble's members retrained on train + valid (${all.rows} rows), their weighted mean scored on the test rows (${data.test!.rows})`
          : 'no test rows (--test 0): the ensemble was not scored on held-out rows',
        `searched ${result.trials.length} trial(s) in ${result.seconds.toFixed(0)} s${Number.isFinite(result.cpuSeconds) ? ` (${result.cpuSeconds.toFixed(0)} s of CPU)` : ''} (${result.stopped} budget); total ${seconds.toFixed(1)} s`,
        `ensemble: ${shown(flags.out)}${reportPath !== undefined ? `\nreport: ${shown(reportPath)}` : ''}`,
      ].join('\n'),
    );
  } finally {
    trained.dispose();
  }
}

type ReadData = Awaited<ReturnType<typeof readTrainingData>>;

/** The training and validation rows together, for the final training of what tune chose. */
async function trainAndValidRows(p: import('../../plan/types.js').Plan, data: ReadData) {
  const { prepareData } = await import('../../data/prepare.js');
  const parts = [data.train, ...(data.valid ? [data.valid] : [])].map((d) =>
    prepareData(p, d.data, { scope: 'mtgraph/cli', allowUnlabelled: true }),
  );
  return parts.length === 1 ? parts[0]! : concatPrepared(parts[0]!, parts[1]!);
}

/** Each task's compareBy score on the test rows (for the report's tuning section). */
function compareScores(
  tasks: Record<string, { metric: string }>,
  metrics: Record<string, Record<string, number>>,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(tasks).map(([id, s]) => [id, metrics[id]?.[s.metric] ?? Number.NaN]),
  );
}

/** What a tuned model's metadata says of its training (the best's, or an ensemble member's). */
function tunedTraining(
  flags: TuneFlags,
  data: ReadData,
  strategy: string,
  epochs: unknown,
  metrics: Record<string, Record<string, number>> | undefined,
) {
  return {
    data: path.basename(flags.data),
    split: data.split,
    strategy,
    epochs,
    seed: flags.seed,
    tunedOn: 'valid',
    trainedOn: data.valid ? 'train+valid' : 'train',
    scoredOn: data.test ? 'test' : null,
    ...(metrics ? { metrics } : {}),
  };
}
