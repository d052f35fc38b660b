import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError } from '../errors.js';
import { UNSAFE_KEYS } from '../schema/common.js';

const SCOPE = 'mtgraph/io';

/** JSON files (graph.json, model.json, plan.json, metadata.json, checkpoint.json) larger than this are refused before they are read (64 MiB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** The errno code of a failed fs call (ENOENT, EACCES...), or its message. */
export function code(cause: unknown): string {
  return (cause as NodeJS.ErrnoException).code ?? (cause as Error).message ?? 'error';
}

/**
 * Reads a whole file of at most `limit` bytes, refusing a missing file, a folder, or a file over the
 * limit (checked before reading and again on the bytes read, in case it grew meanwhile).
 */
export async function readFileLimited(file: string, what: string, limit: number): Promise<Buffer> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (cause) {
    throw new FileError(
      `${SCOPE}: cannot read the ${what} ${file} (${code(cause)}). Check the path.`,
      { path: file, cause },
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new FileError(
        `${SCOPE}: the ${what} ${file} is not a file (got a ${stat.isDirectory() ? 'folder' : 'special file'}). Give the path of the file itself.`,
        { path: file },
      );
    }
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
      throw new FileError(`${SCOPE}: cannot read the ${what} ${file} (${code(cause)}).`, {
        path: file,
        cause,
      });
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
export async function readJsonFile(
  file: string,
  what: string,
  limit = MAX_JSON_BYTES,
): Promise<unknown> {
  return parseJson(await readFileLimited(file, what, limit), file, what);
}

/** Parses the bytes of a JSON file with the checks of `readJsonFile`. */
export function parseJson(bytes: Uint8Array, file: string, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    );
  } catch (cause) {
    const empty = bytes.length === 0 ? ' (the file is empty)' : '';
    throw new FileError(
      `${SCOPE}: the ${what} ${file} is not valid JSON${empty} (${(cause as Error).message}). The file is truncated or damaged: fix it or write it again.`,
      { path: file, cause },
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

/** Writes `content` to `file` and flushes it to the disk before returning. */
export async function writeFileDurable(file: string, content: string | Uint8Array): Promise<void> {
  await fs.writeFile(file, content, { flush: true });
}

/** Writes a file atomically: to a temporary file next to it (flushed to the disk), then renamed over it. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true });
    await writeFileDurable(tmp, content);
    await fs.rename(tmp, file);
  } catch (cause) {
    await fs.rm(tmp, { force: true });
    throw new FileError(
      `${SCOPE}: cannot write ${file} (${code(cause)}). Check the folder exists and is writable.`,
      { path: file, cause },
    );
  }
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
