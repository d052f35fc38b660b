import path from 'node:path';
import { Output, type CliIO, type OutputFlags } from '../io.js';

/** What every command gets: where to write, and a hook that records the Output it made (for error reports). */
export interface CommandContext {
  io: CliIO;
  /** The command's Output, set when its action starts. */
  out?: Output;
}

/** Makes the Output of a command from its flags, and records it in the context. */
export function outputOf(ctx: CommandContext, flags: OutputFlags): Output {
  ctx.out = new Output(ctx.io, flags);
  return ctx.out;
}

/** Starts the TensorFlow.js backend and says which one runs (on stderr). */
export async function startBackend(out: Output): Promise<string> {
  const { initBackend } = await import('../../backend/index.js');
  const report = await initBackend();
  const skipped = report.tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.reason}`);
  out.info(
    `backend: ${report.backend}${skipped.length > 0 ? ` (skipped ${skipped.join('; ')})` : ''}`,
  );
  return report.backend;
}

/** A path as the user should see it: relative to the working folder when inside it. */
export function shown(p: string): string {
  const rel = path.relative(process.cwd(), path.resolve(p));
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.resolve(p);
}
