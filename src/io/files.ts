import { constants, promises as fs, type Stats } from 'node:fs';
import { FileError } from '../errors.js';
import { fsError } from './fs-errors.js';

const SCOPE = 'mtgraph/io';

import { parseJson } from './json.js';
import { MAX_JSON_BYTES } from './limits.js';

export { MAX_JSON_BYTES };
// The JSON checks are browser-safe (json.ts); this file reads them from disk.
export { described, findUnsafeJsonKey, parseJson } from './json.js';

/**
 * Opens a file for reading after checking that it is a regular file: a folder, a FIFO, a socket or
 * a device is refused before it is opened (opening a FIFO waits forever for a writer). Opened
 * non-blocking and checked again on the handle, in case the path was swapped in between.
 */
export async function openRegularFile(
  file: string,
  what: string,
  scope = SCOPE,
): Promise<fs.FileHandle> {
  const refuse = (stat: Stats) =>
    new FileError(
      `${scope}: the ${what} ${file} is not a regular file (got ${kindOf(stat)}). Give the path of the file itself.`,
      { path: file, got: kindOf(stat) },
    );
  let stat: Stats;
  try {
    stat = await fs.stat(file);
  } catch (cause) {
    throw await fsError(cause, file, `read the ${what}`, scope);
  }
  if (!stat.isFile()) throw refuse(stat);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    throw await fsError(cause, file, `read the ${what}`, scope);
  }
  const again = await handle.stat();
  if (!again.isFile()) {
    await handle.close();
    throw refuse(again);
  }
  return handle;
}

/** What a non-regular file is, in words. */
export function kindOf(stat: Stats): string {
  if (stat.isFile()) return 'a file';
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  return 'a special file';
}

/**
 * Reads a whole file of at most `limit` bytes, refusing a missing file, a folder or special file
 * (before opening it), or a file over the limit (checked before reading and again on the bytes
 * read, in case it grew meanwhile).
 */
export async function readFileLimited(file: string, what: string, limit: number): Promise<Buffer> {
  const handle = await openRegularFile(file, what);
  try {
    const stat = await handle.stat();
    const tooLarge = (size: number) =>
      new FileError(
        `${SCOPE}: the ${what} ${file} is too large (got ${size} bytes; the limit is ${limit}). Check that it is the right file.`,
        { path: file, got: size },
      );
    if (stat.size > limit) throw tooLarge(stat.size);
    let bytes: Buffer;
    try {
      bytes = await handle.readFile();
    } catch (cause) {
      throw await fsError(cause, file, `read the ${what}`);
    }
    if (bytes.length > limit) throw tooLarge(bytes.length);
    return bytes;
  } finally {
    await handle.close();
  }
}

/**
 * Reads and parses a JSON file, refusing with a FileError a missing, oversized, truncated or
 * malformed file, and any `__proto__` / `constructor` / `prototype` key at any depth.
 */
export { code } from './fs-errors.js';

export async function readJsonFile(
  file: string,
  what: string,
  limit = MAX_JSON_BYTES,
): Promise<unknown> {
  return parseJson(await readFileLimited(file, what, limit), file, what);
}

/** Writes `content` to `file` and flushes it to the disk before returning. */
export async function writeFileDurable(file: string, content: string | Uint8Array): Promise<void> {
  await fs.writeFile(file, content, { flush: true });
}

/** Whether a path exists (a file, folder or link), without throwing. */
export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
