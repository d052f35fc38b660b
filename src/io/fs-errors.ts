import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FileError } from '../errors.js';

const SCOPE = 'mtgraph/io';

/** The errno code of a failed fs call (ENOENT, EACCES...), or its message. */
export function code(cause: unknown): string {
  return (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? 'error';
}

/** What an errno code means and what to do about it, in words (undefined for codes without advice). */
const ADVICE: Record<string, [meaning: string, fix: string]> = {
  ENOENT: ['it does not exist', 'Check the path.'],
  ENOTDIR: ['a part of the path is a file, not a folder', 'Check the path.'],
  EISDIR: ['it is a folder, not a file', 'Give the path of a file.'],
  EACCES: ['permission denied', 'Check its permissions, or choose another path.'],
  EPERM: ['the operation is not permitted', 'Check its permissions, or choose another path.'],
  EROFS: ['the file system is read-only', 'Choose a path on a writable disk.'],
  ENOSPC: ['the disk is full', 'Free some space, or choose another disk.'],
  EDQUOT: ['the disk quota is used up', 'Free some space, or choose another disk.'],
  EFBIG: ['the file is too large for this file system', 'Choose another disk.'],
  ELOOP: ['too many symbolic links (a loop?)', 'Check the links on the path.'],
  ENAMETOOLONG: ['the path is too long', 'Choose a shorter path.'],
  EMFILE: ['too many files are open', 'Close other programs, or raise the limit (ulimit -n).'],
  ENFILE: ['too many files are open', 'Close other programs, or raise the limit.'],
  EBUSY: ['it is busy (in use or a mount point)', 'Choose another path.'],
  EXDEV: ['it is on another disk than its temporary copy', 'Choose another path.'],
  EIO: ['the disk reported an input/output error', 'Check the disk.'],
  ENOTEMPTY: ['the folder is not empty', 'Choose another path.'],
  EEXIST: ['it already exists', 'Choose another path.'],
};

/** The first existing ancestor of `p` that is not a folder (why an ENOTDIR), if any. */
async function fileOnPath(p: string): Promise<string | undefined> {
  let dir = path.dirname(path.resolve(p));
  while (true) {
    try {
      const stat = await fs.stat(dir);
      return stat.isDirectory() ? undefined : dir;
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  }
}

/**
 * A FileError for a failed file-system call: `<scope>: cannot <action> <file>: <meaning> (<CODE>).
 * <fix>` — every errno is named in words (EROFS says read-only, ENOTDIR names the file in the way).
 */
export async function fsError(
  cause: unknown,
  file: string,
  action: string,
  scope = SCOPE,
): Promise<FileError> {
  const c = code(cause);
  let [meaning, fix] = ADVICE[c] ?? [undefined, 'Check the path and the disk.'];
  if (c === 'ENOTDIR' || c === 'EEXIST') {
    const blocker = await fileOnPath(file);
    if (blocker !== undefined) {
      meaning = `${blocker} is a file, not a folder`;
      fix = 'Choose a path inside a folder.';
    }
  }
  return new FileError(
    `${scope}: cannot ${action} ${file}: ${meaning ?? 'the file system refused'} (${c}). ${fix}`,
    { path: file, got: c, cause },
  );
}
