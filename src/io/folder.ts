import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FileError } from '../errors.js';
import { code, exists, writeFileDurable } from './files.js';

const SCOPE = 'mtgraph/io';

/** The random tag of a save's hidden sibling folders: `.<name>.<tag>.tmp` and `.<name>.<tag>.old`. */
const TAG = /^[0-9a-f]{12}$/;

/** The hidden sibling folders of earlier saves of `target` with the given suffix, newest first. */
async function siblings(
  target: string,
  suffix: '.old' | '.tmp',
): Promise<Array<{ name: string; tag: string }>> {
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let entries: string[];
  try {
    entries = await fs.readdir(parent);
  } catch {
    return [];
  }
  const found = await Promise.all(
    entries
      .filter(
        (e) =>
          e.startsWith(prefix) &&
          e.endsWith(suffix) &&
          TAG.test(e.slice(prefix.length, -suffix.length)),
      )
      .map(async (name) => {
        try {
          const stat = await fs.lstat(path.join(parent, name));
          return stat.isDirectory()
            ? { name, tag: name.slice(prefix.length, -suffix.length), time: stat.mtimeMs }
            : undefined;
        } catch {
          return undefined;
        }
      }),
  );
  return found.filter((f) => f !== undefined).sort((a, b) => b.time - a.time);
}

/**
 * Finishes a save that stopped between its two renames. A save moves the previous folder aside to
 * the hidden sibling `.<name>.<tag>.old` and then the new one into place; a crash in between
 * leaves no `<name>`. When `target` is missing and such a sibling exists, the newest one is renamed
 * back (the previous model is restored; the unpublished new copy `.<name>.<tag>.tmp` is removed).
 * When `target` exists, leftover `.old` siblings of completed saves are removed.
 * Returns the folder to read: `target`, or the `.old` sibling itself when it cannot be renamed back.
 */
export async function recoverInterruptedSave(target: string): Promise<string> {
  const parent = path.dirname(target);
  const olds = await siblings(target, '.old');
  if (olds.length === 0) return target;
  if (await exists(target)) {
    for (const old of olds)
      await fs.rm(path.join(parent, old.name), { recursive: true, force: true });
    return target;
  }
  const newest = olds[0]!;
  const from = path.join(parent, newest.name);
  try {
    await fs.rename(from, target);
  } catch {
    return from; // a read-only place: read the previous model where it is
  }
  await fs.rm(path.join(parent, `.${path.basename(target)}.${newest.tag}.tmp`), {
    recursive: true,
    force: true,
  });
  for (const old of olds.slice(1))
    await fs.rm(path.join(parent, old.name), { recursive: true, force: true });
  return target;
}

/**
 * Refuses to replace anything but an empty folder or a folder holding `marker` (a previous save);
 * returns whether there is a folder to replace.
 */
async function checkTarget(dir: string, marker: string, what: string): Promise<boolean> {
  let stat;
  try {
    stat = await fs.lstat(dir);
  } catch {
    return false;
  }
  if (!stat.isDirectory()) {
    throw new FileError(
      `${SCOPE}: cannot save the ${what} to ${dir}: it is a file, not a folder. Choose a folder path.`,
      { path: dir },
    );
  }
  const entries = await fs.readdir(dir);
  if (entries.length > 0 && !entries.includes(marker)) {
    throw new FileError(
      `${SCOPE}: cannot save the ${what} to ${dir}: the folder holds other files and no ${marker}, and saving replaces the whole folder. Choose an empty or new folder.`,
      { path: dir, got: entries.slice(0, 5) },
    );
  }
  return true;
}

/** What `writeFolderAtomic` writes: file names (no folders) and their contents. */
export type FolderFiles = ReadonlyArray<readonly [name: string, content: string | Uint8Array]>;

/**
 * Replaces the folder `dir` with `files`, atomically for readers: the files are written and flushed
 * into the hidden sibling `.<name>.<tag>.tmp`, the previous folder (if any) is renamed to
 * `.<name>.<tag>.old`, the new one renamed into place, and the old one removed. A failure while
 * writing leaves the previous folder untouched; a crash between the two renames is undone by
 * `recoverInterruptedSave` (called here first, and by the loaders). `marker` is the file that
 * proves an existing folder is a previous save (`model.json`); any other non-empty folder is refused.
 * `what` names the content in messages ('model', 'checkpoint').
 */
export async function writeFolderAtomic(
  dir: string,
  files: FolderFiles,
  options: { marker: string; what: string },
): Promise<void> {
  const target = path.resolve(dir);
  await recoverInterruptedSave(target);
  const replacing = await checkTarget(target, options.marker, options.what);
  const parent = path.dirname(target);
  const base = path.basename(target);
  const tag = randomBytes(6).toString('hex');
  const tmp = path.join(parent, `.${base}.${tag}.tmp`);
  const old = path.join(parent, `.${base}.${tag}.old`);
  try {
    await fs.mkdir(tmp, { recursive: true });
    for (const [name, content] of files) await writeFileDurable(path.join(tmp, name), content);
  } catch (cause) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new FileError(
      `${SCOPE}: cannot write the ${options.what} to ${parent} (${code(cause)}). Check the folder is writable and the disk has room; the previous ${options.what}, if any, is unchanged.`,
      { path: target, cause },
    );
  }
  try {
    if (replacing) await fs.rename(target, old);
    try {
      await fs.rename(tmp, target);
    } catch (cause) {
      if (replacing) await fs.rename(old, target);
      throw cause;
    }
  } catch (cause) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw new FileError(
      `${SCOPE}: cannot move the saved ${options.what} into ${target} (${code(cause)}). The previous ${options.what}, if any, is unchanged.`,
      { path: target, cause },
    );
  }
  if (replacing) await fs.rm(old, { recursive: true, force: true });
}
