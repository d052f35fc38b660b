/**
 * The outputs of one command or call, written by one set of rules:
 *
 * - `checkOutputs` before any long work: every path is writable, no folder where a file goes, no
 *   file on the way to a folder, symbolic links resolved (followed), and a folder that would be
 *   replaced is mtgraph's own of the right kind and holds nothing mtgraph did not write (otherwise
 *   a FileError names the files that would be lost).
 * - `commitOutputs` at the end: every output is written to a hidden temporary next to its place
 *   (`.<name>.<tag>.tmp`, flushed), then all are renamed into place together; a failure undoes the
 *   renames already made and removes only those temporaries: all the outputs or none.
 * - stale temporaries of killed runs (marked as mtgraph's, their process gone) are removed by the
 *   next write or read of the same folder.
 *
 * `writeFolderAtomic` and `writeFileAtomic` are the one-output cases.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import { code, fsError } from './fs-errors.js';
import { recoverInterruptedSave } from './folder.js';
import { kindOf, parseJson, readFileLimited, writeFileDurable, MAX_JSON_BYTES } from './files.js';

const SCOPE = 'mtgraph/io';

/** The random tag of a save's hidden siblings: `.<name>.<tag>.tmp` and `.<name>.<tag>.old`. */
export const TEMP_TAG = /^[0-9a-f]{12}$/;

/** The file inside a staging folder that marks it as mtgraph's, removed just before it is published. */
export const STAGING_MARKER = '.mtgraph-staging.json';

/**
 * A kind of folder mtgraph writes (a model, a checkpoint, an export): how to tell that an existing
 * folder is one, and which of its files mtgraph wrote.
 */
export interface FolderKind {
  /** What the folder holds, for messages: 'model', 'checkpoint', 'export'. */
  what: string;
  /** The file whose JSON says the folder is mtgraph's (e.g. `metadata.json`). */
  marker: string;
  /** The names of the files mtgraph wrote, from the marker's parsed JSON; undefined when it is not a folder of this kind. */
  written(marker: unknown): readonly string[] | undefined;
}

/** One output of a command: a folder (replaced as a whole) or a file. */
export type OutputTarget =
  | {
      type: 'folder';
      path: string;
      kind: FolderKind;
      /** The option that named it, for messages (`--out`, `options.checkpoint.dir`). */
      flag?: string;
    }
  | { type: 'file'; path: string; what: string; flag?: string };

/** An output whose path was checked: `resolved` is absolute with a symbolic link at its end followed. */
export interface CheckedOutput {
  target: OutputTarget;
  resolved: string;
  /** Whether something is there now (a folder or file that will be replaced). */
  exists: boolean;
}

/** What `writeFolderAtomic` writes: file names (no folders) and their contents. */
export type FolderFiles = ReadonlyArray<readonly [name: string, content: string | Uint8Array]>;

/** An output and what to write there: the files of a folder, or a file's content. */
export type OutputContent = readonly [OutputTarget, FolderFiles | string | Uint8Array];

function whatOf(target: OutputTarget): string {
  return target.type === 'folder' ? target.kind.what : target.what;
}

function at(target: OutputTarget): string {
  return target.flag ? ` → at ${target.flag}` : '';
}

/** The names in a list, at most `max`, then how many more. */
function listed(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** The nearest existing ancestor of `p` (p itself excluded). */
async function existingAncestor(p: string): Promise<{ dir: string; isDir: boolean }> {
  let dir = path.dirname(p);
  while (true) {
    try {
      const stat = await fs.stat(dir);
      return { dir, isDir: stat.isDirectory() };
    } catch (cause) {
      const c = code(cause);
      if (c !== 'ENOENT' && c !== 'ENOTDIR') throw cause;
      const up = path.dirname(dir);
      if (up === dir) return { dir, isDir: false };
      dir = up;
    }
  }
}

/** Refuses a folder `dir` the output cannot be created in: it must be writable (EROFS, EACCES). */
async function checkWritable(dir: string, target: OutputTarget, resolved: string): Promise<void> {
  try {
    await fs.access(dir, fs.constants?.W_OK ?? 2);
  } catch (cause) {
    const c = code(cause);
    const why =
      c === 'EROFS'
        ? `${dir} is on a read-only file system`
        : c === 'EACCES' || c === 'EPERM'
          ? `${dir} is not writable (permission denied)`
          : `${dir} cannot be written (${c})`;
    throw new FileError(
      `${SCOPE}: cannot write the ${whatOf(target)} to ${resolved}: ${why} (${c})${at(target)}. Choose a path on a writable disk, or fix the folder's permissions.`,
      { path: target.flag ?? resolved, got: c, cause },
    );
  }
}

/**
 * Why an existing folder cannot be replaced by a folder of `kind`, or undefined when it can: it is
 * empty, or its marker says it is of that kind and every entry is a file mtgraph wrote there.
 */
export async function foreignEntries(
  dir: string,
  kind: FolderKind,
): Promise<{ reason: string; lost: string[] } | undefined> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (cause) {
    throw await fsError(cause, dir, `read the folder`);
  }
  if (entries.length === 0) return undefined;
  const named = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
  const marker = entries.find((e) => e.name === kind.marker && e.isFile());
  let written: readonly string[] | undefined;
  if (marker) {
    try {
      const file = path.join(dir, kind.marker);
      written = kind.written(
        parseJson(await readFileLimited(file, 'marker file', MAX_JSON_BYTES), file, 'marker'),
      );
    } catch {
      written = undefined;
    }
  }
  if (written === undefined) {
    return {
      reason: `it is not an mtgraph ${kind.what} folder (no ${kind.marker} of mtgraph's says so)`,
      lost: named,
    };
  }
  const own = new Set(written);
  const lost = entries
    .filter((e) => !(e.isFile() && own.has(e.name)))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort();
  if (lost.length === 0) return undefined;
  return { reason: 'it holds files that mtgraph did not write there', lost };
}

/** Checks one output (see `checkOutputs`). */
async function checkOne(target: OutputTarget): Promise<CheckedOutput> {
  if (typeof target.path !== 'string' || target.path === '')
    throw new FileError(
      `${SCOPE}: the ${whatOf(target)} path must be a non-empty path (got ${JSON.stringify(target.path)})${at(target)}.`,
      { path: target.flag ?? '' },
    );
  let resolved = path.resolve(target.path);
  let stat: import('node:fs').Stats | undefined;
  try {
    stat = await fs.lstat(resolved);
  } catch (cause) {
    const c = code(cause);
    if (c !== 'ENOENT' && c !== 'ENOTDIR')
      throw await fsError(cause, resolved, `write the ${whatOf(target)} to`);
  }
  if (stat?.isSymbolicLink()) {
    // Decided now: a link is followed, and what it points to is checked as the output itself.
    try {
      resolved = await fs.realpath(resolved);
    } catch (cause) {
      throw new FileError(
        `${SCOPE}: cannot write the ${whatOf(target)} to ${resolved}: it is a symbolic link to a missing or unreachable place (${code(cause)})${at(target)}. Remove the link or point it at a folder that exists.`,
        { path: target.flag ?? resolved, got: code(cause), cause },
      );
    }
    stat = await fs.lstat(resolved);
  }
  if (stat === undefined) {
    // Nothing there yet: the nearest existing ancestor must be a writable folder (the rest is made).
    const up = await existingAncestor(resolved);
    if (!up.isDir)
      throw new FileError(
        `${SCOPE}: cannot write the ${whatOf(target)} to ${resolved}: ${up.dir} is a file, not a folder${at(target)}. Choose a path inside a folder.`,
        { path: target.flag ?? resolved, got: up.dir },
      );
    await checkWritable(up.dir, target, resolved);
    return { target, resolved, exists: false };
  }
  if (target.type === 'file') {
    if (!stat.isFile())
      throw new FileError(
        `${SCOPE}: cannot write the ${target.what} to ${resolved}: it is ${kindOf(stat)}, where a file goes${at(target)}. Give a file path.`,
        { path: target.flag ?? resolved, got: kindOf(stat) },
      );
  } else {
    if (!stat.isDirectory())
      throw new FileError(
        `${SCOPE}: cannot save the ${target.kind.what} to ${resolved}: it is ${kindOf(stat)}, not a folder${at(target)}. Choose a folder path.`,
        { path: target.flag ?? resolved, got: kindOf(stat) },
      );
    const foreign = await foreignEntries(resolved, target.kind);
    if (foreign) {
      throw new FileError(
        `${SCOPE}: cannot save the ${target.kind.what} to ${resolved}: ${foreign.reason}, and saving replaces the whole folder, which would delete ${listed(foreign.lost)}${at(target)}. Choose a new or empty folder, or move those files out.`,
        { path: target.flag ?? resolved, got: foreign.lost.slice(0, 20) },
      );
    }
  }
  await checkWritable(path.dirname(resolved), target, resolved);
  return { target, resolved, exists: true };
}

/**
 * Checks every output of a command before any long work (see the top of this file) and returns
 * them resolved; also refuses two outputs at one place, or one inside a folder another replaces.
 */
export async function checkOutputs(targets: readonly OutputTarget[]): Promise<CheckedOutput[]> {
  const checked: CheckedOutput[] = [];
  for (const t of targets) checked.push(await checkOne(t));
  for (const a of checked) {
    for (const b of checked) {
      if (a === b) continue;
      const inside = a.resolved === b.resolved || a.resolved.startsWith(b.resolved + path.sep);
      if (inside && (a.resolved === b.resolved || b.target.type === 'folder'))
        throw new FileError(
          `${SCOPE}: the ${whatOf(a.target)} ${a.resolved}${a.target.flag ? ` (${a.target.flag})` : ''} is ${a.resolved === b.resolved ? 'the same path as' : 'inside'} the ${whatOf(b.target)} ${b.resolved}${b.target.flag ? ` (${b.target.flag})` : ''}, which it would overwrite or be replaced with. Give them different places.`,
          { path: a.target.flag ?? a.resolved, got: a.resolved },
        );
    }
  }
  return checked;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return code(error) === 'EPERM';
  }
}

/** Staging folders older than this are stale whatever their marker says (a day). */
const STALE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the temporaries `.<name>.<tag>.tmp` of `target` that earlier runs left behind when they
 * were killed: only folders holding mtgraph's staging marker, whose process is gone (or that are a
 * day old). Failures (a read-only place) are ignored. Returns the names removed.
 */
export async function removeStaleTemporaries(target: string): Promise<string[]> {
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let entries: string[];
  try {
    entries = await fs.readdir(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of entries) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    if (!TEMP_TAG.test(name.slice(prefix.length, -'.tmp'.length))) continue;
    const dir = path.join(parent, name);
    try {
      const stat = await fs.lstat(dir);
      if (!stat.isDirectory()) continue;
      const file = path.join(dir, STAGING_MARKER);
      const mark = parseJson(await readFileLimited(file, 'staging marker', 4096), file, 'marker');
      if (!isPlainObject(mark) || mark.writtenBy !== 'mtgraph') continue;
      const ours = mark.host === os.hostname() && typeof mark.pid === 'number';
      const old = Date.now() - stat.mtimeMs > STALE_MS;
      if (!old && (!ours || mark.pid === process.pid || isAlive(mark.pid as number))) continue;
      await fs.rm(dir, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // not ours, or not removable: leave it
    }
  }
  return removed;
}

interface Staged {
  out: CheckedOutput;
  /** The marked staging folder `.<name>.<tag>.tmp`. */
  tmp: string;
  /** What is renamed into place: the staging folder itself, or the file inside it. */
  source: string;
  old: string;
  /** Set once the previous content has been moved to `old`. */
  movedOld?: boolean;
  /** Set once `tmp` is in place. */
  published?: boolean;
}

async function stage(out: CheckedOutput, content: OutputContent[1]): Promise<Staged> {
  const parent = path.dirname(out.resolved);
  const base = path.basename(out.resolved);
  const tag = randomBytes(6).toString('hex');
  const tmp = path.join(parent, `.${base}.${tag}.tmp`);
  const staged: Staged = {
    out,
    tmp,
    source: out.target.type === 'folder' ? tmp : path.join(tmp, base),
    old: path.join(parent, `.${base}.${tag}.old`),
  };
  await fs.mkdir(parent, { recursive: true });
  try {
    await writeStaged(out, staged.tmp, content);
  } catch (error) {
    await fs.rm(staged.tmp, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
  return staged;
}

/**
 * Writes an output into its staging folder, marked first as mtgraph's (so that a killed run's
 * leftover is known for what it is): a folder's files, its marker removed last; or one file.
 */
async function writeStaged(
  out: CheckedOutput,
  tmp: string,
  content: OutputContent[1],
): Promise<void> {
  await fs.mkdir(tmp);
  const marker = path.join(tmp, STAGING_MARKER);
  await fs.writeFile(
    marker,
    JSON.stringify({
      writtenBy: 'mtgraph',
      what: whatOf(out.target),
      pid: process.pid,
      host: os.hostname(),
    }),
  );
  if (out.target.type === 'folder') {
    if (typeof content === 'string' || content instanceof Uint8Array)
      throw new TypeError('a folder output needs a list of files');
    for (const [name, data] of content) await writeFileDurable(path.join(tmp, name), data);
    await fs.rm(marker);
  } else {
    if (!(typeof content === 'string' || content instanceof Uint8Array))
      throw new TypeError('a file output needs a string or bytes');
    await writeFileDurable(path.join(tmp, path.basename(out.resolved)), content);
  }
}

/**
 * Writes every output of one command together (see the top of this file): each is checked again,
 * written to its temporary, then all are renamed into place; when any step fails, the outputs
 * already renamed are put back as they were, the temporaries are removed, and a FileError says
 * that nothing was changed.
 */
export async function commitOutputs(outputs: readonly OutputContent[]): Promise<void> {
  for (const [t] of outputs)
    if (t.type === 'folder' && typeof t.path === 'string' && t.path !== '')
      await recoverInterruptedSave(path.resolve(t.path));
  const checked = await checkOutputs(outputs.map(([t]) => t));
  for (const c of checked)
    if (c.target.type === 'file' || c.resolved !== path.resolve(c.target.path))
      await removeStaleTemporaries(c.resolved);
  const staged: Staged[] = [];
  const cleanup = async () => {
    for (const s of staged) await fs.rm(s.tmp, { recursive: true, force: true }).catch(() => {});
  };
  const unchanged = (n: number) =>
    n === 1
      ? `the previous ${whatOf(checked[0]!.target)}, if any, is unchanged`
      : 'nothing was changed';
  for (let i = 0; i < checked.length; i++) {
    const out = checked[i]!;
    try {
      staged.push(await stage(out, outputs[i]![1]));
    } catch (cause) {
      await cleanup();
      const error = await fsError(cause, out.resolved, `write the ${whatOf(out.target)} to`);
      error.message = `${error.message} ${capital(unchanged(checked.length))}.`;
      throw error;
    }
  }
  let failed: { cause: unknown; at: string } | undefined;
  for (const s of staged) {
    try {
      if (s.out.exists && s.out.target.type === 'folder') {
        await fs.rename(s.out.resolved, s.old);
        s.movedOld = true;
      } else if (s.out.exists) {
        // a file is replaced by one rename: keep a link to the previous one to put it back
        await fs.link(s.out.resolved, s.old).catch(() => fs.copyFile(s.out.resolved, s.old));
        s.movedOld = true;
      }
      await fs.rename(s.source, s.out.resolved);
      s.published = true;
    } catch (cause) {
      failed = { cause, at: s.out.resolved };
      break;
    }
  }
  if (failed) {
    // Undo in reverse: take each published output away and put its previous content back.
    for (const s of [...staged].reverse()) {
      try {
        if (s.published) {
          if (s.out.target.type === 'folder') await fs.rename(s.out.resolved, s.source);
          else if (!s.out.exists) await fs.rm(s.out.resolved, { force: true });
        }
        if (s.movedOld) {
          if (s.out.target.type === 'folder' || s.published) await fs.rename(s.old, s.out.resolved);
          else await fs.rm(s.old, { force: true }); // a link to the file still in place
        }
      } catch {
        // left for recoverInterruptedSave: the previous folder is at its `.old` name
      }
    }
    await cleanup();
    const error = await fsError(
      failed.cause,
      failed.at,
      `move the new ${checked.length === 1 ? whatOf(checked[0]!.target) : 'outputs'} into place at`,
    );
    error.message = `${error.message} ${capital(unchanged(checked.length))}.`;
    throw error;
  }
  for (const s of staged) {
    if (s.movedOld) await fs.rm(s.old, { recursive: true, force: true }).catch(() => {});
    if (s.source !== s.tmp) await fs.rm(s.tmp, { recursive: true, force: true }).catch(() => {});
  }
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * Replaces the folder `dir` with `files`, atomically, under the rules of `checkOutputs`: refused
 * when `dir` is a file, or a folder that is not an mtgraph folder of `kind` or holds anything
 * mtgraph did not write. A crash between its two renames is undone by `recoverInterruptedSave`
 * (called here first, and by the loaders); stale temporaries of killed saves are removed.
 */
export async function writeFolderAtomic(
  dir: string,
  files: FolderFiles,
  kind: FolderKind,
): Promise<void> {
  await commitOutputs([[{ type: 'folder', path: dir, kind }, files]]);
}

/** Writes a file atomically: to a temporary file next to it (flushed to the disk), then renamed over it. */
export async function writeFileAtomic(
  file: string,
  content: string | Uint8Array,
  what = 'file',
): Promise<void> {
  await commitOutputs([[{ type: 'file', path: file, what }, content]]);
}
