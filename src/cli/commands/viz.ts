import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import {
  csvOptions,
  modelOptions,
  outputOptions,
  planOptions,
  seedOption,
  type CsvFlags,
  type ModelFlags,
} from '../options.js';
import { outputOf, shown, type CommandContext } from './shared.js';

interface VizFlags extends ModelFlags, CsvFlags {
  out: string;
  data?: string;
  what?: 'graph' | 'plan';
  title?: string;
  quiet?: boolean;
  json?: boolean;
}

const FORMATS = ['.svg', '.gexf', '.graphml', '.html'];

export function vizCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('viz')
    .description(
      'draw a task graph or a trained model: SVG picture, GEXF / GraphML for graph tools, or an HTML report',
    )
    .argument(
      '<graph.json|model-dir>',
      'a task graph file, or a model folder written by mtgraph train',
    )
    .requiredOption(
      '-o, --out <file>',
      `the file to write; its extension picks the format: ${FORMATS.join(', ')}`,
    )
    .addOption(
      new Option(
        '--what <picture>',
        'for .svg: the task graph or the network (default: plan for a model folder, graph for a graph file)',
      ).choices(['graph', 'plan']),
    )
    .option('--title <text>', 'title of the HTML report')
    .option(
      '--data <file.csv>',
      'a graph file without input: size the network from this CSV file, as plan --data does',
    );
  modelOptions(cmd);
  seedOption(cmd, 'the layout (and the plan of a graph file)');
  csvOptions(cmd);
  outputOptions(cmd);
  cmd.action(async (input: string, flags: VizFlags) => {
    const out = outputOf(ctx, flags);
    const { OptionsError, FileError } = await import('../../errors.js');
    const { readJsonFile, loadGraph, checkOutputs, commitOutputs, MODEL_FILES } = await import(
      '../../io/index.js'
    );
    const { TaskGraph } = await import('../../graph/index.js');
    const { plan: makePlan, parsePlan } = await import('../../plan/index.js');
    const viz = await import('../../viz/index.js');
    const ext = path.extname(flags.out).toLowerCase();
    if (!FORMATS.includes(ext)) {
      throw new OptionsError(
        `mtgraph/cli: cannot tell the format of ${flags.out} (got extension ${JSON.stringify(ext || '(none)')}; expected one of ${FORMATS.join(', ')}) → at --out. Name the file e.g. graph.svg or report.html.`,
        { path: '--out', got: ext },
      );
    }
    const target = { type: 'file', path: flags.out, what: 'picture', flag: '--out' } as const;
    await checkOutputs([target]);
    let stat;
    try {
      stat = await fs.stat(input);
    } catch (cause) {
      throw new FileError(
        `mtgraph/cli: cannot read ${input} (${(cause as NodeJS.ErrnoException).code ?? 'error'}). Pass a task graph file or a model folder.`,
        { path: input, cause },
      );
    }
    let graph: InstanceType<typeof TaskGraph>;
    let plan: ReturnType<typeof parsePlan> | undefined;
    let history: unknown;
    let metrics: unknown;
    const isModel = stat.isDirectory();
    if (isModel) {
      graph = TaskGraph.from(
        await readJsonFile(path.join(input, MODEL_FILES.graph), 'graph file'),
      ) as InstanceType<typeof TaskGraph>;
      plan = parsePlan(await readJsonFile(path.join(input, MODEL_FILES.plan), 'plan file'));
      const meta = (await readJsonFile(
        path.join(input, MODEL_FILES.metadata),
        'metadata file',
      ).catch(() => undefined)) as
        | { metadata?: { training?: { history?: unknown; metrics?: unknown } } }
        | undefined;
      history = meta?.metadata?.training?.history;
      metrics = meta?.metadata?.training?.metrics;
    } else {
      graph = await loadGraph(input);
    }
    const seed = flags.seed;
    const what = flags.what ?? (isModel ? 'plan' : 'graph');
    // A graph file: its input sizes the network, or --data does; without either the report
    // draws the graph alone (and says so), and the network picture cannot be drawn.
    let columns: string[] | undefined;
    let vocabularies: Record<string, { ids: number }> | undefined;
    if (!isModel && flags.data !== undefined) {
      const { featureInputOf } = await import('../data.js');
      ({ columns, vocabularies } = await featureInputOf(flags.data, graph, flags, (note) =>
        out.warn(note),
      ));
    }
    const { readGraph } = await import('../../schema/validate.js');
    const sized =
      isModel || columns !== undefined || readGraph(graph).input?.features !== undefined;
    const planOf = () => plan ?? makePlan(graph, planOptions(flags, columns, vocabularies));
    if (!sized && (ext === '.html' || (ext === '.svg' && what === 'plan'))) {
      const why = `${input} does not say how many input features there are (no graph attribute input with features or columns)`;
      if (ext === '.svg')
        throw new OptionsError(
          `mtgraph/cli: cannot draw the network: ${why} → at graph.input. Pass --data file.csv to size the input from a CSV file, or draw the task graph (--what graph).`,
          { path: 'graph.input' },
        );
      out.warn(
        `the report draws the task graph only: ${why}. Pass --data file.csv to add the network.`,
      );
    }
    let text: string;
    let drawn: string;
    if (ext === '.svg') {
      text = what === 'plan' ? viz.renderPlanSvg(planOf()) : viz.renderGraphSvg(graph, { seed });
      drawn = what === 'plan' ? 'the network' : 'the task graph';
    } else if (ext === '.gexf') {
      text = viz.toGexf(graph, { seed });
      drawn = 'the task graph';
    } else if (ext === '.graphml') {
      text = viz.toGraphml(graph);
      drawn = 'the task graph';
    } else {
      text = await viz.renderReport(
        {
          graph,
          ...(sized ? { plan: planOf() } : {}),
          ...(history !== undefined ? { history: history as never } : {}),
          ...(metrics !== undefined ? { metrics: metrics as never } : {}),
        },
        { seed, ...(flags.title !== undefined ? { title: flags.title } : {}) },
      );
      drawn = `the task graph${sized ? ', the network' : ''}${history !== undefined ? ', the training curves and the scores' : ''}`;
    }
    await commitOutputs([[target, text]]);
    const bytes = Buffer.byteLength(text);
    out.data({ ok: true, out: flags.out, format: ext.slice(1), bytes });
    out.result(
      `${shown(flags.out)}: ${ext.slice(1)} of ${drawn} (${bytes.toLocaleString('en-US')} bytes)`,
    );
  });
}
