import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';

/** A fresh temporary folder (removed by the caller with `removeDir`). */
export function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `mtgraph-${prefix}-`));
}

export function removeDir(dir: string | undefined): Promise<void> {
  return dir ? fs.rm(dir, { recursive: true, force: true }) : Promise.resolve();
}

const PROTOTYPES: Array<[string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];

/** The own property names of the built-in prototypes, to compare after hostile input. */
export function prototypeSnapshot(): Record<string, string[]> {
  return Object.fromEntries(
    PROTOTYPES.map(([name, proto]) => [name, Reflect.ownKeys(proto).map(String).sort()]),
  );
}

/** True when no built-in prototype gained, lost or changed a property, and `{}` still has no stray keys. */
export function prototypesUntouched(before: Record<string, string[]>): boolean {
  const now = prototypeSnapshot();
  const probe = {} as Record<string, unknown>;
  for (const _key in probe) return false; // an enumerable key inherited from a polluted prototype
  return (
    PROTOTYPES.every(([name]) => JSON.stringify(now[name]) === JSON.stringify(before[name])) &&
    probe.polluted === undefined &&
    Object.getPrototypeOf(probe) === Object.prototype
  );
}

/** Runs `fn` and returns what it threw (failing the test when it does not throw). */
export async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  expect.fail('expected an error');
}
