import { constants, promises as fs, type Stats } from 'node:fs';
import { FileError } from '../errors.js';
import { fsError } from './fs-errors.js';
import { UNSAFE_KEYS } from '../schema/common.js';

const SCOPE = 'mtgraph/io';

/** JSON files (graph.json, model.json, plan.json, metadata.json, checkpoint.json) larger than this are refused before they are read (64 MiB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * Opens a file for reading after checking that it is a regular file: a folder, a FIFO, a socket or
 * a device is refused before it is opened (opening a FIFO waits forever for a writer). Opened
 * non-blocking and checked again on the handle, in case the path was swapped in between.
 */
export async function openRegularFile(file: string, what: string): Promise<fs.FileHandle> {
  const refuse = (stat: Stats) =>
    new FileError(
      `${SCOPE}: the ${what} ${file} is not a regular file (got ${kindOf(stat)}). Give the path of the file itself.`,
      { path: file, got: kindOf(stat) },
    );
  let stat: Stats;
  try {
    stat = await fs.stat(file);
  } catch (cause) {
    throw await fsError(cause, file, `read the ${what}`);
  }
  if (!stat.isFile()) throw refuse(stat);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    throw await fsError(cause, file, `read the ${what}`);
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
 * The first key anywhere in a parsed JSON value (at any depth) that could reach a prototype
 * (`__proto__`, `constructor`, `prototype`), with its path; iterative, so any nesting is fine.
 */
export function findUnsafeJsonKey(value: unknown): { path: string; key: string } | undefined {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}[${i}]`]);
      continue;
    }
    const keys = Object.keys(v);
    for (const key of keys) {
      if (UNSAFE_KEYS.has(key)) return { path: at ? `${at}.${key}` : key, key };
    }
    for (let i = keys.length - 1; i >= 0; i--)
      stack.push([(v as Record<string, unknown>)[keys[i]!], at ? `${at}.${keys[i]}` : keys[i]!]);
  }
  return undefined;
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

/**
 * Parses the bytes of a JSON file with the checks of `readJsonFile`. A syntax error names the
 * line and column, never the file's content (the path may be a link to a file that is not JSON).
 */
export function parseJson(bytes: Uint8Array, file: string, what: string): unknown {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const empty = bytes.length === 0 ? ' (the file is empty)' : '';
    throw new FileError(
      `${SCOPE}: the ${what} ${file} is not valid JSON${empty} (${syntaxPlace(cause, text)}). The file is truncated or damaged, or not the right file: fix it or write it again.`,
      { path: file },
    );
  }
  const unsafe = findUnsafeJsonKey(value);
  if (unsafe) {
    throw new FileError(
      `${SCOPE}: the key ${JSON.stringify(unsafe.key)} is not allowed in the ${what} ${file} (it could pollute Object.prototype) → at ${unsafe.path}. Remove it.`,
      { path: file, got: unsafe.path },
    );
  }
  return value;
}

/** Where JSON.parse stopped, as "line L, column C" or "at the end", without quoting the text. */
function syntaxPlace(cause: unknown, text: string): string {
  const message = (cause as Error).message ?? '';
  const at = /position (\d+)/.exec(message);
  if (at) {
    const before = text.slice(0, Number(at[1]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    return `a syntax error at line ${line}, column ${column}`;
  }
  if (/end of JSON input/i.test(message)) return 'it ends too early';
  return 'a syntax error';
}

/** Writes `content` to `file` and flushes it to the disk before returning. */
export async function writeFileDurable(file: string, content: string | Uint8Array): Promise<void> {
  await fs.writeFile(file, content, { flush: true });
}

/**
 * A value read from a file, described for a message without quoting its text: a string becomes
 * "a string of N characters" (the file may be a link to something private), other values as `show`.
 */
export function described(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
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
