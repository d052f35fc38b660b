/**
 * A small reader for the numeric CSV files in ../shared/data: a header row, comma-separated,
 * no quoted fields (checked, not assumed), LF or CRLF line ends. Used by the graph generator.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A CSV file read into columns of raw strings, keyed by header name. */
export interface CsvTable {
  file: string;
  header: string[];
  rows: number;
  /** The raw text of a column; throws when the column does not exist. */
  text(column: string): string[];
  /** A column parsed as finite numbers; throws naming the row when a cell is not a number. */
  numbers(column: string): Float64Array;
}

/** Fails with a clear message when the shared data folder (next to the checkout) is absent. */
export function requireDataDir(dataDir: string): void {
  if (!existsSync(dataDir)) {
    throw new Error(
      `the shared data folder ${dataDir} does not exist. The graphs are measured from the datasets in ../shared/data ` +
        '(next to the repository checkout); run this script from a checkout that has it.',
    );
  }
}

/** Reads a whole CSV file; refuses quoted fields and rows whose field count differs from the header's. */
export function readCsv(file: string): CsvTable {
  if (!existsSync(file))
    throw new Error(`csv: cannot find ${file}. Check the shared data folder is complete.`);
  let content = readFileSync(file, 'utf8');
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);
  if (content.includes('"')) {
    throw new Error(
      `csv: ${file} contains quoted fields; this reader handles plain comma-separated values only.`,
    );
  }
  const lines = content.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new Error(`csv: ${file} is empty (expected a header row).`);
  const header = lines[0]!.split(',').map((name) => name.trim());
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (name === '') throw new Error(`csv: ${file} has an empty column name at position ${i + 1}.`);
    if (index.has(name)) throw new Error(`csv: ${file} has the column "${name}" twice.`);
    index.set(name, i);
  });
  const columns: string[][] = header.map(() => new Array<string>(lines.length - 1));
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(',');
    if (cells.length !== header.length) {
      throw new Error(
        `csv: ${file} line ${r + 1} has ${cells.length} fields (expected ${header.length}, as in the header).`,
      );
    }
    for (let c = 0; c < cells.length; c++) columns[c]![r - 1] = cells[c]!.trim();
  }
  const column = (name: string): string[] => {
    const i = index.get(name);
    if (i === undefined) {
      throw new Error(
        `csv: ${path.basename(file)} has no column "${name}" (columns: ${header.slice(0, 8).join(', ')}${header.length > 8 ? ', ...' : ''}).`,
      );
    }
    return columns[i]!;
  };
  return {
    file,
    header,
    rows: lines.length - 1,
    text: column,
    numbers(name) {
      const raw = column(name);
      const out = new Float64Array(raw.length);
      for (let r = 0; r < raw.length; r++) {
        const cell = raw[r]!;
        const value = cell === '' ? Number.NaN : Number(cell);
        if (!Number.isFinite(value)) {
          throw new Error(
            `csv: ${path.basename(file)} column "${name}" line ${r + 2} is not a number (got ${JSON.stringify(cell)}).`,
          );
        }
        out[r] = value;
      }
      return out;
    },
  };
}
