import type { Command } from 'commander';
import { csvOptions, outputOptions, type CsvFlags } from '../options.js';
import { outputOf, shown, type CommandContext } from './shared.js';

interface ValidateFlags extends CsvFlags {
  data?: string;
  quiet?: boolean;
  json?: boolean;
}

export function validateCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('validate')
    .description('check a task graph file (and, with --data, that a CSV file fits it)')
    .argument('<graph.json>', "a task graph in graphology's JSON format")
    .option(
      '--data <file.csv>',
      'also check this CSV file against the graph (columns, labels, cells)',
    );
  csvOptions(cmd);
  outputOptions(cmd);
  cmd.action(async (file: string, flags: ValidateFlags) => {
    const out = outputOf(ctx, flags);
    const { loadGraph } = await import('../../io/index.js');
    const { readGraph } = await import('../../schema/validate.js');
    const graph = await loadGraph(file);
    const spec = readGraph(graph);
    const kinds = new Map<string, number>();
    for (const t of spec.tasks) kinds.set(t.kind, (kinds.get(t.kind) ?? 0) + 1);
    const negative = spec.affinities.filter((a) => a.weight < 0).length;
    const input = spec.input
      ? spec.input.columns
        ? `${spec.input.columns.length} named input column(s)${spec.input.categorical?.length ? `, ${spec.input.categorical.length} categorical` : ''}${spec.input.embed ? `, ${Object.keys(spec.input.embed).length} embedded` : ''}`
        : spec.input.features !== undefined
          ? `${spec.input.features} input feature(s)`
          : `${[
              ...(spec.input.categorical ? [`${spec.input.categorical.length} categorical`] : []),
              ...(spec.input.embed ? [`${Object.keys(spec.input.embed).length} embedded`] : []),
            ].join(', ')} input column(s), the features from the data`
      : 'no input declared';
    const summary = {
      ok: true,
      file,
      name: spec.name ?? null,
      tasks: spec.tasks.length,
      kinds: Object.fromEntries(kinds),
      affinities: spec.affinities.length,
      conflicting: negative,
      input: spec.input ?? null,
    } as Record<string, unknown>;
    let dataLine = '';
    if (flags.data !== undefined) {
      const { readCsv } = await import('../../data/index.js');
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
      const labelled = Object.keys(csv.data.y).length;
      summary.data = {
        file: flags.data,
        rows: csv.rows,
        inputs: csv.columns.length,
        labelledTasks: labelled,
        notes: csv.notes,
      };
      dataLine = `\n${shown(flags.data)}: fits the graph — ${csv.rows} row(s), ${csv.columns.length} model input(s) after encoding, labels for ${labelled} of ${spec.tasks.length} task(s)`;
    }
    out.data(summary);
    out.result(
      `${shown(file)}: valid — ${spec.name ? `"${spec.name}", ` : ''}${spec.tasks.length} task(s) (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}), ${spec.affinities.length} affinit${spec.affinities.length === 1 ? 'y' : 'ies'}${negative ? ` (${negative} conflicting)` : ''}, ${input}${dataLine}`,
    );
  });
}
