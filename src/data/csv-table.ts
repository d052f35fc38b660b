import { createReadStream, promises as fs } from 'node:fs';
import { parse, type CsvError } from 'csv-parse';
import { DataError, FileError } from '../errors.js';

/** A CSV file read into columns of raw (trimmed) cells. */
export interface CsvTable {
  /** The file as the caller named it (used in messages). */
  file: string;
  /** Every column name of the header, in file order. */
  header: string[];
  /** The kept columns: raw cells, one per data row. */
  columns: Map<string, string[]>;
  /** The file line on which each data row ends (1-based; the header is line 1 unless blank lines precede it). */
  lines: Int32Array;
  rows: number;
}

export interface ReadCsvTableOptions {
  /** Field delimiter (default ','). */
  delimiter?: string;
  /** Picks the columns to keep from the header (default: all); the others are skipped while reading. */
  keep?: (header: readonly string[]) => Iterable<string>;
}

const SCOPE = 'mtgraph/csv';

/** A DataError about a place in a CSV file: `mtgraph/csv: <what> → at data.csv, line 7, column "age". <fix>` */
export function csvError(
  file: string,
  at: { line?: number; column?: string },
  what: string,
  fix: string,
  got?: unknown,
): DataError {
  const where = [
    file,
    at.line !== undefined ? `line ${at.line}` : '',
    at.column !== undefined ? `column ${JSON.stringify(at.column)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const path = [file, at.line ?? '', at.column ?? ''].join(':').replace(/:+$/, '');
  return new DataError(`${SCOPE}: ${what} → at ${where}. ${fix}`, { path, got });
}

function parseError(
  file: string,
  error: CsvError & { lines?: number; record?: unknown[] },
  expected: number,
): DataError {
  const line = error.lines;
  switch (error.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH': {
      const got = Array.isArray(error.record) ? error.record.length : undefined;
      return csvError(
        file,
        { line },
        `the row has ${got ?? 'a different number of'} cells (expected ${expected}, one per header column)`,
        'Quote cells that contain the delimiter, and give every row one cell per column (an empty cell marks a missing value).',
        got,
      );
    }
    case 'CSV_QUOTE_NOT_CLOSED':
      return csvError(
        file,
        { line },
        'a quoted cell is never closed',
        'Close the quote ("...") or remove it.',
      );
    default:
      return csvError(
        file,
        { line },
        `the file is not valid CSV (${error.message})`,
        'Fix the row; quote cells that contain quotes, delimiters or line breaks.',
      );
  }
}

/**
 * Reads a CSV file with a header row, streaming (csv-parse), into columns of raw cells.
 * Blank lines are skipped and cells trimmed. A missing file raises a FileError; an empty file,
 * a duplicate column name, a ragged row or a broken quote raise a DataError naming the line.
 */
export async function readCsvTable(
  file: string,
  options: ReadCsvTableOptions = {},
): Promise<CsvTable> {
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
  } catch (cause) {
    throw new FileError(
      `${SCOPE}: cannot read the data file ${file} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}). Check the path.`,
      { path: file, cause },
    );
  }
  const parser = parse({
    delimiter: options.delimiter ?? ',',
    bom: true,
    info: true,
    skip_empty_lines: true,
    trim: true,
  });
  const input = createReadStream(file);
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);

  let header: string[] | undefined;
  let kept: Array<[number, string[]]> = [];
  const columns = new Map<string, string[]>();
  const lines: number[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (header === undefined) {
        header = record;
        const seen = new Map<string, number>();
        header.forEach((name, i) => {
          if (name === '')
            throw csvError(
              file,
              { line: info.lines },
              `header column ${i + 1} has no name`,
              'Name every column in the first row.',
            );
          if (seen.has(name))
            throw csvError(
              file,
              { line: info.lines },
              `the column name ${JSON.stringify(name)} appears twice in the header (columns ${seen.get(name)! + 1} and ${i + 1})`,
              'Give every column a distinct name.',
              name,
            );
          seen.set(name, i);
        });
        const wanted = new Set(options.keep ? options.keep(header) : header);
        kept = header.flatMap((name, i) =>
          wanted.has(name) ? [[i, [] as string[]] as [number, string[]]] : [],
        );
        for (const [i, cells] of kept) columns.set(header[i]!, cells);
        continue;
      }
      for (const [i, cells] of kept) cells.push(record[i]!);
      lines.push(info.lines);
    }
  } catch (error) {
    input.destroy();
    if (error instanceof DataError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (code.startsWith('CSV_') || code.startsWith('INVALID_')))
      throw parseError(file, error as CsvError, header?.length ?? 0);
    throw new FileError(
      `${SCOPE}: cannot read the data file ${file} (${code ?? (error as Error).message}). Check the file is readable.`,
      { path: file, cause: error },
    );
  }
  if (header === undefined)
    throw csvError(
      file,
      {},
      'the file is empty (no header row)',
      'Write a header row naming the columns, then one row per example.',
    );
  if (lines.length === 0)
    throw csvError(
      file,
      {},
      'the file has a header but no data rows',
      'Add at least one row of data under the header.',
    );
  return { file, header, columns, lines: Int32Array.from(lines), rows: lines.length };
}
