import { promises as fs } from 'node:fs';
import path from 'node:path';
import { exists } from './files.js';
import { removeStaleTemporaries, TEMP_TAG as TAG } from './outputs.js';

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
 * Stale temporaries of killed saves are removed too (see `removeStaleTemporaries`).
 * Returns the folder to read: `target`, or the `.old` sibling itself when it cannot be renamed back.
 */
export async function recoverInterruptedSave(target: string): Promise<string> {
  await removeStaleTemporaries(target);
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

export {
  writeFolderAtomic,
  type FolderFiles,
} from './outputs.js';
