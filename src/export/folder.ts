/**
 * Writing an export to a folder (Node only, reached through the platform seam): the same rules as
 * saveModel (atomic; an existing folder is replaced only when it is an mtgraph export holding
 * nothing but the files its signature.json lists).
 */
import { type FolderKind, writeFolderAtomic } from '../io/outputs.js';
import { isPlainObject } from '../schema/common.js';
import type { ExportResult } from './index.js';
import { SIGNATURE_FILE, SIGNATURE_FORMAT } from './signature.js';

/** An export folder: signature.json marks it and lists the files the export wrote. */
export const EXPORT_FOLDER: FolderKind = Object.freeze({
  what: 'export',
  marker: SIGNATURE_FILE,
  written(marker: unknown): readonly string[] | undefined {
    if (!isPlainObject(marker) || marker.format !== SIGNATURE_FORMAT) return undefined;
    const files = marker.files;
    return Array.isArray(files) && files.every((f) => typeof f === 'string')
      ? (files as string[])
      : undefined;
  },
});

/** Writes an export's files to the folder `dir` (atomic; see EXPORT_FOLDER). */
export async function writeExportFolder(result: ExportResult, dir: string): Promise<void> {
  await writeFolderAtomic(dir, result.files, EXPORT_FOLDER);
}
