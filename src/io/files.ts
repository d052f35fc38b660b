import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError } from '../errors.js';

/** Files larger than this are refused before they are read (64 MiB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** Reads and parses a JSON file, refusing missing, oversized or malformed files with a FileError. */
export async function readJsonFile(file: string, what: string, limit = MAX_JSON_BYTES): Promise<unknown> {
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch (cause) {
    throw new FileError(`mtgraph/io: cannot read the ${what} ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'}). Check the path.`, { path: file, cause });
  }
  if (size > limit) {
    throw new FileError(`mtgraph/io: the ${what} ${file} is too large (got ${size} bytes; the limit is ${limit}). Check that it is the right file.`, { path: file, got: size });
  }
  const text = await fs.readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FileError(`mtgraph/io: the ${what} ${file} is not valid JSON (${(cause as Error).message}). Fix the file or write it again.`, { path: file, cause });
  }
}

/** Writes a file atomically: to a temporary file next to it, then renamed over it. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, content);
    await fs.rename(tmp, file);
  } catch (cause) {
    await fs.rm(tmp, { force: true });
    throw new FileError(`mtgraph/io: cannot write ${file} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}). Check the folder exists and is writable.`, { path: file, cause });
  }
}
