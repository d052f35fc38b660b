import type { Command } from 'commander';
import type { PlanTask } from '../../plan/types.js';
import { list, outputOptions } from '../options.js';
import { readModelData } from '../data.js';
import { terminalSafe } from '../io.js';
import { outputOf, shown, startBackend, type CommandContext } from './shared.js';

interface PredictFlags {
  data: string;
  out?: string;
  keep?: string[];
  quiet?: boolean;
  json?: boolean;
}

/** One CSV cell, quoted when it holds the delimiter, a quote, a line break or edge spaces. */
export function csvCell(value: string, delimiter = ','): string {
  return value.includes(delimiter) || /["\r\n]/.test(value) || value !== value.trim()
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}

function number(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(7))) : '';
}

/** The prediction columns of a task: its id for one output, `task.output` for several, plus the predicted class of a multiclass task. */
function taskColumns(task: PlanTask): string[] {
  if (task.outputs === 1) return [task.id];
  const names = task.outputNames.map((n) => `${task.id}.${n}`);
  return task.kind === 'multiclass' ? [task.id, ...names] : names;
}

function taskCells(task: PlanTask, values: Float32Array, r: number): string[] {
  const w = task.outputs;
  const row = Array.from(values.subarray(r * w, (r + 1) * w), number);
  if (task.kind !== 'multiclass' || w === 1) return row;
  let best = 0;
  for (let j = 1; j < w; j++) if (values[r * w + j]! > values[r * w + best]!) best = j;
  return [task.outputNames[best]!, ...row];
}

export function predictCommand(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('predict')
    .description(
      'predict with a saved model: one output column per task output, one row per input row',
    )
    .argument(
      '<model-dir>',
      'a model folder written by mtgraph train (or an ensemble folder by mtgraph tune --ensemble)',
    )
    .requiredOption(
      '--data <file.csv>',
      'rows with the feature columns the model was trained on (label columns are not needed)',
    )
    .option('-o, --out <preds.csv>', 'write the predictions here (default: stdout)')
    .option(
      '--keep <columns>',
      'copy these input columns (e.g. an id) before the predictions (comma-separated)',
      list,
    );
  outputOptions(cmd);
  cmd.action(async (dir: string, flags: PredictFlags) => {
    const out = outputOf(ctx, flags);
    const { loadModel, loadEnsemble, isEnsembleFolder, checkOutputs, commitOutputs } = await import(
      '../../io/index.js'
    );
    const target =
      flags.out !== undefined
        ? ({ type: 'file', path: flags.out, what: 'predictions file', flag: '--out' } as const)
        : undefined;
    if (target) await checkOutputs([target]);
    await startBackend(out);
    const { predict } = await import('../../train/index.js');
    const { predictEnsemble } = await import('../../tune/index.js');
    const { OptionsError } = await import('../../errors.js');
    // An ensemble folder: its members' weighted mean; the first member's plan and preprocessing (all share them).
    const ensemble = (await isEnsembleFolder(dir)) ? await loadEnsemble(dir) : undefined;
    const model = ensemble ? ensemble.members[0]!.model : await loadModel(dir);
    try {
      const { csv, table } = await readModelData(
        model.plan.tasks,
        model.metadata,
        dir,
        flags.data,
        { labels: 'optional', split: 'all' },
      );
      for (const note of csv.notes.filter((n) => !n.includes('have no label'))) out.warn(note);
      const keep = flags.keep ?? [];
      for (const c of keep) {
        if (!table.columns.has(c))
          throw new OptionsError(
            `mtgraph/cli: --keep names no column of ${flags.data} (got ${JSON.stringify(c)}) → at --keep. Name columns of the file.`,
            { path: '--keep', got: c },
          );
      }
      const outputs = ensemble ? predictEnsemble(ensemble, csv.data.x) : predict(model, csv.data.x);
      const values = new Map<string, Float32Array>();
      try {
        for (const t of model.plan.tasks)
          values.set(t.id, outputs[t.id]!.dataSync() as Float32Array);
      } finally {
        for (const t of Object.values(outputs)) t.dispose();
      }
      const tasks = model.plan.tasks;
      const taskColumn = csv.rowTasks ? csv.preprocessing.taskColumn!.column : undefined;
      const long = csv.rowTasks !== undefined && tasks.every((t) => t.outputs === 1);
      // Long format with one output per task: the row's task column, its task id and one prediction column.
      const idColumn = taskColumn === 'task_id' ? 'task_id_resolved' : 'task_id';
      const header = [
        ...keep,
        ...(long ? [taskColumn!, idColumn, 'prediction'] : tasks.flatMap(taskColumns)),
      ];
      const lines = [header.map((h) => csvCell(h)).join(',')];
      for (let r = 0; r < csv.rows; r++) {
        const cells = keep.map((c) => table.columns.get(c)![r]!);
        if (long) {
          const id = csv.rowTasks![r]!;
          cells.push(table.columns.get(taskColumn!)![r]!, id, number(values.get(id)![r]!));
        } else {
          for (const t of tasks) {
            // In long format a row only has a prediction for its own task.
            const own = csv.rowTasks === undefined || csv.rowTasks[r] === t.id;
            const c = taskCells(t, values.get(t.id)!, r);
            cells.push(...(own ? c : c.map(() => '')));
          }
        }
        lines.push(cells.map((c) => csvCell(c)).join(','));
      }
      const text = `${lines.join('\n')}\n`;
      if (flags.out !== undefined) {
        await commitOutputs([[target!, text]]);
        out.data({ ok: true, out: flags.out, rows: csv.rows, columns: header });
        out.result(
          `${shown(flags.out)}: ${csv.rows} row(s), columns ${header.slice(0, 8).join(', ')}${header.length > 8 ? `, ... (${header.length})` : ''}`,
        );
      } else if (out.json) {
        out.data({ ok: true, rows: csv.rows, columns: header, csv: text });
      } else {
        // Task names are the CSV header: on a terminal, their control characters as escapes.
        ctx.io.stdout.write(ctx.io.stdout.isTTY ? terminalSafe(text) : text);
      }
    } finally {
      if (ensemble) ensemble.dispose();
      else model.dispose();
    }
  });
}
