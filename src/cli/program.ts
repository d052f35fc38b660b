import { Command } from 'commander';
import type { CommandContext } from './commands/shared.js';
import { demoCommand } from './commands/demo.js';
import { validateCommand } from './commands/validate.js';
import { planCommand } from './commands/plan.js';
import { trainCommand } from './commands/train.js';
import { compareCommand } from './commands/compare.js';
import { tuneCommand } from './commands/tune.js';
import { evalCommand } from './commands/eval.js';
import { predictCommand } from './commands/predict.js';
import { affinityCommand } from './commands/affinity.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { vizCommand } from './commands/viz.js';

const EPILOG = `
Exit codes: 0 success, 1 a user error (bad arguments, files, graph or data: the message says
where, what and how to fix it), 2 an internal error (a bug).

Examples:
  mtgraph demo
  mtgraph validate graphs/keras-two-task.json
  mtgraph plan graphs/recommender.json --strategy clustered
  mtgraph train graph.json --data train.csv --epochs 30 --out out/model
  mtgraph tune graph.json --data train.csv --budget 10m --out out/model
  mtgraph eval out/model --data test.csv
  mtgraph predict out/model --data new.csv --out predictions.csv
  mtgraph export out/model --format onnx --out out/onnx
  mtgraph import out/model --weights out/torch/weights.safetensors --out out/model
  mtgraph affinity graph.json --data train.csv --out learned.json
  mtgraph viz out/model --out report.html`;

/** The `mtgraph` command line: one subcommand per step, each with --help. */
export function buildProgram(ctx: CommandContext, version: string): Command {
  const program = new Command('mtgraph');
  program
    .description(
      'graph-based multi-task learning: declare tasks and affinities as a graph, train one joint network',
    )
    .version(version, '-V, --version')
    .configureOutput({
      writeOut: (s) => {
        ctx.io.stdout.write(s);
      },
      writeErr: (s) => {
        ctx.io.stderr.write(s);
      },
      // Commander quotes a bad argument whole: an error line never prints more than 2000 characters (#14).
      outputError: (s, write) =>
        write(
          s.length > 2000
            ? `${s.slice(0, 600)}… (${(s.length - 1400).toLocaleString('en-US')} characters left out) …${s.slice(-800)}`
            : s,
        ),
      getOutHelpWidth: () => ctx.io.stdout.columns ?? 100,
      getErrHelpWidth: () => ctx.io.stderr.columns ?? 100,
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false)
    .addHelpText('after', EPILOG);
  for (const add of [
    demoCommand,
    validateCommand,
    planCommand,
    trainCommand,
    compareCommand,
    tuneCommand,
    evalCommand,
    predictCommand,
    exportCommand,
    importCommand,
    affinityCommand,
    vizCommand,
  ])
    add(program, ctx);
  return program;
}
