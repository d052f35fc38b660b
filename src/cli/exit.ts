import { CommanderError } from 'commander';
import { MtgraphError } from '../errors.js';
import { terminalSafe, type Output } from './io.js';

/** Exit codes of the `mtgraph` command. */
export const EXIT = Object.freeze({
  /** Success. */
  ok: 0,
  /** A user error: bad arguments, files, graph or data. One message says where, what and how to fix it. */
  user: 1,
  /** An internal error (a bug): the message and stack are printed. */
  internal: 2,
});

/** Reports an error and returns the exit code: 1 for MtgraphError and usage errors, 2 for anything else. */
export function reportError(error: unknown, out: Output): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (or the help / version); a help request is a success.
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.help' ||
      error.code === 'commander.version'
    )
      return EXIT.ok;
    return EXIT.user;
  }
  if (error instanceof MtgraphError) {
    out.io.stderr.write(`${error.name}: ${terminalSafe(error.message)}\n`);
    out.data({ ok: false, error: { name: error.name, message: error.message, path: error.path } });
    return EXIT.user;
  }
  const e = error instanceof Error ? error : new Error(String(error));
  out.io.stderr.write(
    `mtgraph: internal error: ${terminalSafe(e.message)}\n${terminalSafe(e.stack ?? '')}\nThis is a bug in mtgraph: please report it with the command you ran.\n`,
  );
  out.data({ ok: false, error: { name: 'InternalError', message: e.message } });
  return EXIT.internal;
}
