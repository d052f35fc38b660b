import { csvError } from '../data/csv-table.js';
import type { CsvTable } from '../data/csv-table.js';

/**
 * `--sample-weight <column>`: the weight of each training row, read from a CSV column, for every
 * task (fit's `sampleWeight`). Each cell must be a number >= 0; 0 leaves the row out.
 */
export function sampleWeightColumn(
  table: CsvTable,
  column: string,
  rows: ArrayLike<number>,
  tasks: readonly { id: string }[],
): Record<string, Float64Array> {
  const cells = table.columns.get(column);
  if (!cells) {
    throw csvError(
      table.file,
      { column },
      `--sample-weight names a column the file does not have (got ${JSON.stringify(column)}; expected one of ${table.header.slice(0, 8).join(', ')}${table.header.length > 8 ? ', ...' : ''})`,
      'Check the spelling of the weight column.',
      column,
    );
  }
  const weights = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const cell = cells[r]!;
    const value = cell === '' ? NaN : Number(cell);
    if (!Number.isFinite(value) || value < 0) {
      throw csvError(
        table.file,
        { line: table.lines[r], column },
        `a sample weight must be a number >= 0 (got ${JSON.stringify(cell)})`,
        'Fill the weight column with numbers >= 0 (0 leaves a row out of training).',
        cell,
      );
    }
    weights[i] = value;
  }
  return Object.fromEntries(tasks.map((t) => [t.id, weights]));
}
