import type { Command } from 'commander';
import {
  csvOptions,
  fitSettings,
  list,
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
import { taskKind } from '../../schema/kinds/index.js';
import { ranks } from '../../tune/scoring.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';

interface CompareFlags extends CsvFlags, Omit<ModelFlags, 'strategy'>, TrainingFlags {
  data: string;
  strategies: string[];
  report?: string;
  quiet?: boolean;
  json?: boolean;
}

/** The score `compare` ranks strategies by on a task: its kind's `compareBy` (unitless, higher is better). */
const compareBy = (kind: string): string => taskKind(kind)!.compareBy;

const DEFAULT_STRATEGIES = ['single', 'hard', 'clustered', 'soft'];

/** The fewest decimals (4 to 8) that print different values differently, so a row shows what its ranks are based on. */
export function decimalsFor(values: readonly number[]): number {
  const finite = values.filter(Number.isFinite);
  const distinct = new Set(finite).size;
  for (let d = 4; d < 8; d++)
    if (new Set(finite.map((v) => v.toFixed(d))).size === distinct) return d;
  return 8;
}

/**
 * `mtgraph compare`: trains several strategies on one split of a CSV file (the same split,
 * preprocessing, seed and training settings as `train`) and prints each task's held-out score per
 * strategy, with every strategy's mean rank over the tasks: which sharing suits this data.
 */
export function compareCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('compare')
    .description(
      "train several sharing strategies on the same split of a CSV file and compare each task's held-out score",
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
      `comma-separated strategies to train (default: ${DEFAULT_STRATEGIES.join(',')})`,
      list,
    )
    .option(
      '--report <file.html>',
      'also write an HTML report: the task graph, a chart and a table of the scores',
    );
  modelOptions(cmd, { strategy: false });
  trainingOptions(cmd);
  seedOption(cmd, 'the split, the initialisation and the shuffling');
  csvOptions(cmd);
  outputOptions(cmd);
  cmd.action(async (graphFile: string, flags: CompareFlags) => {
    const out = outputOf(ctx, flags);
    const started = performance.now();
    const strategies = flags.strategies?.length
      ? [...new Set(flags.strategies)]
      : DEFAULT_STRATEGIES;
    const { loadGraph, checkOutputs, commitOutputs } = await import('../../io/index.js');
    const { plan } = await import('../../plan/index.js');
    const graph = await loadGraph(graphFile);
    const report =
      flags.report !== undefined
        ? ({ type: 'file', path: flags.report, what: 'report', flag: '--report' } as const)
        : undefined;
    if (report) await checkOutputs([report]);
    const data = await readTrainingData(graph, flags.data, flags, splitOptions(flags));
    const sizes = data.split.sizes;
    out.info(
      `${shown(flags.data)}: ${data.table.rows} row(s) -> train ${sizes.train}, valid ${sizes.valid}, test ${sizes.test}; ${data.preprocessing.columns.length} model input(s)`,
    );
    for (const note of data.notes) out.warn(note);
    const { targetScale, fit, evaluate } = await import('../../train/index.js');
    const { build } = await import('../../network/index.js');
    const scale = flags.targetScale ? targetScale(graph, data.train.data) : {};
    const optionsFor = (strategy: string) => ({
      ...planOptions(
        { ...flags, strategy },
        data.preprocessing.columns,
        preprocessingVocabularies(data.preprocessing),
      ),
      ...(Object.keys(scale).length > 0 ? { targetScale: scale } : {}),
    });
    // Every plan first: a mistake in a strategy's name or options stops before any training.
    // Each task is also scored by its kind's compareBy when the graph names other metrics for it.
    const plans = strategies.map((s) => {
      const p = plan(graph, optionsFor(s));
      return {
        ...p,
        tasks: p.tasks.map((t) =>
          t.metrics.includes(compareBy(t.kind))
            ? t
            : { ...t, metrics: [...t.metrics, compareBy(t.kind)] },
        ),
      };
    });
    await startBackend(out);
    const scored = data.test ? 'test' : data.valid ? 'valid' : 'train';
    const scoredData = data.test ?? data.valid ?? data.train;
    const tasks = plans[0]!.tasks;
    const results: Array<{
      strategy: string;
      planned: string;
      params: number;
      epochs: number;
      seconds: number;
      metrics: Record<string, Record<string, number>>;
    }> = [];
    const notes = new Set<string>();
    for (const [i, p] of plans.entries()) {
      const t0 = performance.now();
      const model = build(p, { graph });
      try {
        const history = await fit(model, data.train.data, {
          ...fitSettings(flags, data.valid !== undefined),
          metrics: false,
          ...(data.valid ? { validationData: data.valid.data } : {}),
        });
        for (const note of history.notes) notes.add(note); // about the data: the same for every strategy
        const metrics = await evaluate(model, scoredData.data);
        const seconds = (performance.now() - t0) / 1000;
        results.push({
          strategy: strategies[i]!,
          planned: p.strategy,
          params: p.params.total,
          epochs: history.epochs,
          seconds,
          metrics,
        });
        out.info(
          `trained ${strategies[i]}${p.strategy !== strategies[i] ? ` (${p.strategy})` : ''}: ${p.params.total.toLocaleString('en-US')} parameters, ${history.epochs} epoch(s), ${seconds.toFixed(1)} s`,
        );
      } finally {
        model.dispose();
      }
    }

    for (const note of notes) out.warn(note);
    const score = (r: (typeof results)[number], task: { id: string; kind: string }) =>
      r.metrics[task.id]?.[compareBy(task.kind)] ?? NaN;
    const taskRanks = tasks.map((t) => ranks(results.map((r) => score(r, t))));
    const meanRank = results.map(
      (_, k) => taskRanks.reduce((s, rk) => s + rk[k]!, 0) / tasks.length,
    );
    const top = Math.min(...meanRank);
    const bestAll = results.filter((_, k) => meanRank[k] === top).map((r) => r.strategy);
    if (flags.report !== undefined) {
      const { renderReport } = await import('../../viz/index.js');
      const html = await renderReport(
        {
          graph,
          comparison: {
            strategies,
            tasks: tasks.map((t) => ({
              id: t.id,
              metric: compareBy(t.kind),
              values: results.map((r) => {
                const v = score(r, t);
                return Number.isFinite(v) ? v : null;
              }),
            })),
            scoredOn: `${scoredData.rows.toLocaleString('en-US')} ${scored} rows`,
          },
        },
        { title: `${graph.getAttribute('name') ?? 'mtgraph'}: strategies compared` },
      );
      await commitOutputs([[report!, html]]);
    }
    const seconds = (performance.now() - started) / 1000;
    out.data({
      ok: true,
      scoredOn: scored,
      split: sizes,
      best: bestAll,
      report: flags.report ?? null,
      strategies: results.map((r, k) => ({
        strategy: r.strategy,
        planned: r.planned,
        params: r.params,
        epochs: r.epochs,
        seconds: r.seconds,
        meanRank: meanRank[k],
        metrics: r.metrics,
      })),
      seconds,
    });
    const w = Math.max(12, ...strategies.map((s) => s.length + 2));
    const idWidth = Math.max(6, ...tasks.map((t) => t.id.length + 2));
    const lines = [
      `${scored} score per task (higher is better: ${[...new Set(tasks.map((t) => compareBy(t.kind)))].join(', ')} by the task's kind; * = best)`,
      '',
      `${'task'.padEnd(idWidth)}${'metric'.padEnd(10)}${strategies.map((s) => s.padStart(w)).join('')}`,
    ];
    tasks.forEach((t, i) => {
      const values = results.map((r) => score(r, t));
      const d = decimalsFor(values);
      lines.push(
        `${t.id.padEnd(idWidth)}${compareBy(t.kind).padEnd(10)}${values.map((v, k) => `${taskRanks[i]![k] === Math.min(...taskRanks[i]!) ? '*' : ' '}${Number.isNaN(v) ? '–' : v.toFixed(d)}`.padStart(w)).join('')}`,
      );
    });
    lines.push(
      `${'mean rank'.padEnd(idWidth + 10)}${meanRank.map((r) => r.toFixed(2).padStart(w)).join('')}`,
    );
    lines.push(
      '',
      `best by mean rank over ${tasks.length} task(s): ${bestAll.join(' and ')}${bestAll.length > 1 ? ' (tied)' : ''}; ${scoredData.rows} ${scored} rows; ${seconds.toFixed(1)} s`,
    );
    if (flags.report !== undefined) lines.push(`report: ${shown(flags.report)}`);
    out.result(lines.join('\n'));
  });
}
