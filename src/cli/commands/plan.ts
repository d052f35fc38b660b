import type { Command } from 'commander';
import {
  csvOptions,
  modelOptions,
  outputOptions,
  planOptions,
  seedOption,
  type CsvFlags,
  type ModelFlags,
} from '../options.js';
import { outputOf, type CommandContext } from './shared.js';

interface PlanFlags extends CsvFlags, ModelFlags {
  data?: string;
  quiet?: boolean;
  json?: boolean;
}

export function planCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('plan')
    .description('compile a task graph into a Plan and explain it (or print the Plan JSON)')
    .argument('<graph.json>', 'a task graph file')
    .option(
      '--data <file.csv>',
      'size the input from this CSV file (after encoding categorical columns)',
    );
  modelOptions(cmd);
  seedOption(cmd, 'planning (Louvain grouping)');
  csvOptions(cmd);
  outputOptions(cmd);
  cmd.action(async (file: string, flags: PlanFlags) => {
    const out = outputOf(ctx, flags);
    const { loadGraph } = await import('../../io/index.js');
    const { plan, explain } = await import('../../plan/index.js');
    const graph = await loadGraph(file);
    let columns: string[] | undefined;
    let vocabularies: Record<string, { ids: number }> | undefined;
    if (flags.data !== undefined) {
      const { featureInputOf } = await import('../data.js');
      ({ columns, vocabularies } = await featureInputOf(flags.data, graph, flags, (note) =>
        out.warn(note),
      ));
    }
    if (columns === undefined && graph.getAttribute('input') === undefined) {
      const { OptionsError } = await import('../../errors.js');
      throw new OptionsError(
        `mtgraph/cli: ${file} does not say how many input features there are (no graph attribute input) → at graph.input. Pass --data file.csv to size the input from a CSV file, or add "input": { "columns": [...] } to the graph's attributes.`,
        { path: 'graph.input' },
      );
    }
    const p = plan(graph, planOptions(flags, columns, vocabularies));
    out.data(p);
    out.result(explain(p));
  });
}
