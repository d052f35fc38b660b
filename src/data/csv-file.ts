/** Node only (see src/platform): a CSV file read by streaming, into the CsvTable of csv-table.ts. */
import { parse } from 'csv-parse';
import { DataError, FileError } from '../errors.js';
import { openRegularFile } from '../io/files.js';
import {
  CsvTableBuilder,
  csvParseOptions,
  isCsvParseError,
  parseError,
  type CsvTable,
  type ReadCsvTableOptions,
} from './csv-table.js';

const SCOPE = 'mtgraph/csv';

/** Reads a CSV file with a header row, streaming (csv-parse), into columns of raw cells. */
export async function readCsvFile(
  file: string,
  options: ReadCsvTableOptions = {},
): Promise<CsvTable> {
  // A regular file only: a FIFO or device is refused before it is opened (it would hang the read).
  const handle = await openRegularFile(file, 'data file', SCOPE);
  const parser = parse(csvParseOptions(options));
  const input = handle.createReadStream();
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  const table = new CsvTableBuilder(file, options);
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      table.add(record, info.lines);
    }
  } catch (error) {
    input.destroy();
    if (error instanceof DataError) throw error;
    if (isCsvParseError(error)) throw parseError(file, error, table.width);
    const code = (error as NodeJS.ErrnoException).code;
    throw new FileError(
      `${SCOPE}: cannot read the data file ${file} (${code ?? (error as Error).message}). Check the file is readable.`,
      { path: file, cause: error },
    );
  }
  return table.finish();
}
