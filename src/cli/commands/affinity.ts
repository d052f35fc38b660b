import type { Command } from 'commander';
import {
  csvOptions,
  outputOptions,
  seedOption,
  unitInterval,
  units,
  wholeNumber,
  type CsvFlags,
} from '../options.js';
import { fmt, table } from '../io.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';

interface AffinityFlags extends CsvFlags {
  data: string;
  out?: string;
  method: string;
  steps?: number;
  batchSize?: number;
  threshold?: number;
  trunk?: number[];
  targetScale: boolean;
  seed: number;
  quiet?: boolean;
  json?: boolean;
}

export function affinityCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('affinity')
    .description(
      'learn task affinities from data; writes a task graph with the learned edge weights',
    )
    .argument('<graph.json>', 'a task graph file (its edges are replaced by the learned ones)')
    .requiredOption('--data <file.csv>', 'training rows (feature and label columns)')
    .option(
      '-o, --out <learned.json>',
      'write the learned graph here (graphology JSON, ready for plan / train)',
    )
    .option(
      '-m, --method <name>',
      'lookahead (training-based), gradient-cosine, or label-correlation (no training)',
      'lookahead',
    )
    .option(
      '--steps <n>',
      'joint training steps of lookahead / gradient-cosine (default 50)',
      wholeNumber(1),
    )
    .option('--batch-size <n>', 'rows per step (default 32)', wholeNumber(1))
    .option(
      '--threshold <w>',
      'leave out learned edges with |weight| below this (default 0)',
      unitInterval,
    )
    .option('--trunk <units>', 'shared layer sizes of the model measured on (default 64,32)', units)
    .option(
      '--no-target-scale',
      "measure on raw regression targets (default: standardised with the file's mean and std, as train does)",
    );
  seedOption(cmd, 'the model and the batch order');
  csvOptions(cmd);
  outputOptions(cmd);
  cmd.action(async (graphFile: string, flags: AffinityFlags) => {
    const out = outputOf(ctx, flags);
    const { loadGraph, graphFileText, checkOutputs, commitOutputs } = await import(
      '../../io/index.js'
    );
    const target =
      flags.out !== undefined
        ? ({ type: 'file', path: flags.out, what: 'learned graph', flag: '--out' } as const)
        : undefined;
    const { readCsv } = await import('../../data/index.js');
    const { measureAffinity, getAffinityMethod } = await import('../../affinity/index.js');
    const { OptionsError } = await import('../../errors.js');
    const graph = await loadGraph(graphFile);
    if (target) await checkOutputs([target]);
    const method = getAffinityMethod(flags.method);
    if (!method) {
      const { affinityMethodNames } = await import('../../affinity/index.js');
      throw new OptionsError(
        `mtgraph/cli: unknown affinity method (got ${JSON.stringify(flags.method)}; expected one of ${affinityMethodNames().join(', ')}) → at --method. Pick one of them.`,
        { path: '--method', got: flags.method },
      );
    }
    const csv = await readCsv(flags.data, graph, {
      ...(flags.taskColumn !== undefined ? { taskColumn: flags.taskColumn } : {}),
      ...(flags.categorical ? { categorical: flags.categorical } : {}),
      ...(flags.exclude ? { exclude: flags.exclude } : {}),
      standardize: flags.standardize,
      maxOneHot: flags.maxOneHot,
      impute: flags.impute,
      delimiter: flags.delimiter,
    });
    for (const note of csv.notes) out.warn(note);
    const reads = new Set(method.optionKeys);
    // Regression targets standardised as train does, so that no task's units dominate the shared steps.
    const { targetScale } = await import('../../train/index.js');
    const scale = flags.targetScale && reads.has('plan') ? targetScale(graph, csv.data) : {};
    const wanted: Record<string, unknown> = {
      steps: flags.steps,
      batchSize: flags.batchSize,
      plan: {
        strategy: 'hard',
        ...(flags.trunk ? { trunk: { units: flags.trunk } } : {}),
        ...(Object.keys(scale).length > 0 ? { targetScale: scale } : {}),
      },
    };
    const options: Record<string, unknown> = {
      method: flags.method,
      seed: flags.seed,
      ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
    };
    for (const [k, v] of Object.entries(wanted)) {
      if (v === undefined) continue;
      if (reads.has(k)) options[k] = v;
      else if (k !== 'plan')
        out.warn(
          `--${k === 'batchSize' ? 'batch-size' : k} does not apply to method ${flags.method}: ignored.`,
        );
    }
    if (flags.method !== 'label-correlation') await startBackend(out);
    // Measure on a copy whose input is the encoded columns; the learned graph keeps the file's columns.
    const { TaskGraph } = await import('../../graph/index.js');
    const exported = graph.export();
    const encoded = TaskGraph.from({
      ...exported,
      attributes: { ...exported.attributes, input: { columns: csv.columns } },
    });
    const result = await measureAffinity(encoded, csv.data, options);
    const input = graph.getAttribute('input');
    if (input === undefined) result.graph.removeAttribute('input');
    else result.graph.setAttribute('input', input);
    for (const note of result.notes) out.warn(note);
    if (target) {
      await commitOutputs([[target, graphFileText(result.graph)]]);
    }
    const edges = result.graph.mapEdges((_e, a, s, t) => ({
      source: s,
      target: t,
      weight: (a as { weight: number }).weight,
    }));
    out.data({
      ok: true,
      method: result.method,
      tasks: result.tasks,
      matrix: result.matrix,
      edges,
      steps: result.steps,
      notes: result.notes,
      out: flags.out ?? null,
    });
    const n = result.tasks.length;
    let text: string;
    if (n <= 12) {
      text = table([
        ['', ...result.tasks],
        ...result.tasks.map((t, i) => [
          t,
          ...result.matrix[i]!.map((v, j) => (i === j ? '' : fmt(v))),
        ]),
      ]);
      text = `affinity (${result.method}): row task's effect on column task\n${text}`;
    } else {
      const sorted = [...edges].sort((a, b) => b.weight - a.weight);
      const show = (e: (typeof edges)[number]) => `  ${e.source} -- ${e.target}  ${fmt(e.weight)}`;
      text = `affinity (${result.method}): ${edges.length} learned edge(s) among ${n} tasks; strongest:\n${sorted.slice(0, 5).map(show).join('\n')}\nmost conflicting:\n${sorted.slice(-5).reverse().map(show).join('\n')}`;
    }
    out.result(
      `${text}${flags.out !== undefined ? `\n\nlearned graph: ${shown(flags.out)} (train on it: mtgraph train ${shown(flags.out)} --data ${shown(flags.data)})` : ''}`,
    );
  });
}
