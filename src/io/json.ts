/** JSON of saved files, parsed with mtgraph's checks (browser-safe; files.ts reads it from disk). */
import { FileError } from '../errors.js';
import { UNSAFE_KEYS } from '../schema/common.js';

const SCOPE = 'mtgraph/io';

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
 * Parses the bytes of a JSON file with the checks of `readJsonFile`. A syntax error names the
 * line and column, never the file's content (the path may be a link to a file that is not JSON).
 */
export function parseJson(bytes: Uint8Array, file: string, what: string): unknown {
  const text = new TextDecoder().decode(bytes);
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
