/**
 * The `mtgraph` command. `run(argv)` parses the arguments, runs one command and resolves to its
 * exit code (0 success, 1 a user error, 2 an internal error); it never calls process.exit, so
 * tests and programs can drive it in-process.
 */
import { readFileSync } from 'node:fs';
import { processIO, Output, type CliIO } from './io.js';
import { buildProgram } from './program.js';
import { EXIT, reportError } from './exit.js';
import type { CommandContext } from './commands/shared.js';

export { EXIT } from './exit.js';
export { runDemo } from './commands/demo.js';
export type { CliIO } from './io.js';

function version(): string {
  try {
    return (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'unknown';
  }
}

/** Runs `mtgraph <argv...>` (arguments without the node and script paths); resolves to the exit code. */
export async function run(argv: readonly string[], io: CliIO = processIO): Promise<number> {
  const ctx: CommandContext = { io };
  const program = buildProgram(ctx, version());
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.ok;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    const flags = {
      json: argv.includes('--json'),
      quiet: argv.includes('--quiet') || argv.includes('-q'),
    };
    return reportError(error, ctx.out ?? new Output(io, flags));
  }
}
