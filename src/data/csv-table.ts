import { parse } from 'csv-parse/browser/esm/sync';
import { DataError, FileError, OptionsError, show } from '../errors.js';
import { nodeParts } from '../platform/index.js';

/** What csv-parse's errors carry (its stream and browser builds alike). */
export interface CsvParseError {
  code?: string;
  message: string;
  lines?: number;
  record?: unknown[];
}

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

/**
 * Where CSV comes from: a file path (Node), the CSV text itself (a string with a line break:
 * a header and at least one row), a `File` or `Blob` (browsers, and Node's Blob), or
 * `{ text, name? }` (`name` is used in messages, default "the CSV text").
 */
export type CsvSource = string | CsvBlob | { text: string; name?: string };

/** A `File` or `Blob` (declared by what is used, so that the types need no DOM library). */
export interface CsvBlob {
  readonly size: number;
  readonly name?: string;
  text(): Promise<string>;
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

export function parseError(file: string, error: CsvParseError, expected: number): DataError {
  const line = error.lines;
  switch (error.code) {
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH': {
      const got = Array.isArray(error.record) ? error.record.length : undefined;
      // The parser may fail before the header reached the table (same chunk): its message says.
      const width = expected > 0 ? expected : Number(/expect (\d+)/.exec(error.message)?.[1]);
      return csvError(
        file,
        { line },
        `the row has ${got ?? 'a different number of'} cells (expected ${width > 0 ? width : 'as many as the header has columns'}, one per header column)`,
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

/** The csv-parse options mtgraph reads with (streaming in Node, all at once from text). */
export function csvParseOptions(options: ReadCsvTableOptions) {
  return {
    delimiter: options.delimiter ?? ',',
    bom: true,
    info: true,
    skip_empty_lines: true,
    trim: true,
  } as const;
}

/** Builds a CsvTable from csv-parse's records, one at a time (the header first). */
export class CsvTableBuilder {
  private header: string[] | undefined;
  private kept: Array<[number, string[]]> = [];
  private readonly columns = new Map<string, string[]>();
  private readonly lines: number[] = [];

  constructor(
    private readonly file: string,
    private readonly options: ReadCsvTableOptions,
  ) {}

  /** The header's width (0 before it is read), for parse errors. */
  get width(): number {
    return this.header?.length ?? 0;
  }

  add(record: string[], line: number): void {
    const file = this.file;
    if (this.header === undefined) {
      const header = record;
      this.header = header;
      const seen = new Map<string, number>();
      header.forEach((name, i) => {
        if (name === '')
          throw csvError(
            file,
            { line },
            `header column ${i + 1} has no name`,
            'Name every column in the first row.',
          );
        if (seen.has(name))
          throw csvError(
            file,
            { line },
            `the column name ${JSON.stringify(name)} appears twice in the header (columns ${seen.get(name)! + 1} and ${i + 1})`,
            'Give every column a distinct name.',
            name,
          );
        seen.set(name, i);
      });
      const wanted = new Set(this.options.keep ? this.options.keep(header) : header);
      this.kept = header.flatMap((name, i) =>
        wanted.has(name) ? [[i, [] as string[]] as [number, string[]]] : [],
      );
      for (const [i, cells] of this.kept) this.columns.set(header[i]!, cells);
      return;
    }
    for (const [i, cells] of this.kept) cells.push(record[i]!);
    this.lines.push(line);
  }

  finish(): CsvTable {
    const { file, header, lines } = this;
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
    return {
      file,
      header,
      columns: this.columns,
      lines: Int32Array.from(lines),
      rows: lines.length,
    };
  }
}

/** Whether a caught error is one of csv-parse's (CSV_* or INVALID_* codes). */
export function isCsvParseError(error: unknown): error is CsvParseError {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('CSV_') || code.startsWith('INVALID_'));
}

/** Parses CSV text (all at once, csv-parse's browser build) into columns of raw cells. */
export function parseCsvText(
  text: string,
  name: string,
  options: ReadCsvTableOptions = {},
): CsvTable {
  const table = new CsvTableBuilder(name, options);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, csvParseOptions(options)) as unknown as typeof records;
  } catch (error) {
    if (isCsvParseError(error)) throw parseError(name, error, 0);
    throw error;
  }
  for (const { record, info } of records) table.add(record, info.lines);
  return table.finish();
}

const isBlob = (v: unknown): v is CsvBlob =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as CsvBlob).text === 'function' &&
  typeof (v as CsvBlob).size === 'number';

/**
 * Reads CSV with a header row into columns of raw (trimmed) cells, from a file path (Node,
 * streaming), CSV text (a string with a line break), a `File`/`Blob`, or `{ text }`. Blank
 * lines are skipped. A missing file raises a
 * FileError; an empty file, a duplicate column name, a ragged row or a broken quote raise a
 * DataError naming the line.
 */
export async function readCsvTable(
  source: CsvSource,
  options: ReadCsvTableOptions = {},
): Promise<CsvTable> {
  if (typeof source === 'string' && /[\r\n]/.test(source))
    return parseCsvText(source, 'the CSV text', options);
  if (typeof source === 'string') {
    const node = await nodeParts(
      SCOPE,
      `reading the CSV file ${JSON.stringify(source)}`,
      'In a browser pass a File or Blob, or { text } with the CSV itself.',
    );
    return node.readCsvFile(source, options);
  }
  if (isBlob(source)) {
    const name = (source as { name?: unknown }).name;
    const label = typeof name === 'string' && name !== '' ? name : 'the CSV blob';
    let text: string;
    try {
      text = await source.text();
    } catch (cause) {
      throw new FileError(
        `${SCOPE}: cannot read ${label} (${(cause as Error).message}). Pick the file again.`,
        { path: label, cause },
      );
    }
    return parseCsvText(text, label, options);
  }
  if (typeof source === 'object' && source !== null && typeof source.text === 'string')
    return parseCsvText(source.text, source.name ?? 'the CSV text', options);
  throw new OptionsError(
    `${SCOPE}: cannot read CSV from ${show(source)} (expected a file path, a File or Blob, or { text }) → at source. Pass one of those.`,
    { path: 'source', got: source },
  );
}
