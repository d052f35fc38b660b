import { InvalidArgumentError, Option, type Command } from 'commander';

/** A whole-number option value >= min. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[-+]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number (got ${JSON.stringify(value)}).`);
    if (n < min) throw new InvalidArgumentError(`expected a whole number >= ${min} (got ${n}).`);
    return n;
  };
}

/** A fraction in [0, 1). */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`expected a fraction in [0, 1), e.g. 0.2 (got ${JSON.stringify(value)}).`);
  return n;
}

/** A number in [0, 1]. */
export function unitInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number in [0, 1] (got ${JSON.stringify(value)}).`);
  return n;
}

/** A positive number. */
export function positive(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number (got ${JSON.stringify(value)}).`);
  return n;
}

/** A number >= 0. */
export function nonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number >= 0, e.g. 1e-4 (got ${JSON.stringify(value)}).`);
  return n;
}

/** A comma-separated list (`a,b,c`); repeated options add up. */
export function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')];
}

/** Units of a layer stack: `64,32`, or `none` for no layers. */
export function units(value: string): number[] {
  if (value.trim() === 'none' || value.trim() === '') return [];
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected layer sizes such as 64,32 or none (got ${JSON.stringify(value)}).`);
    return n;
  });
}

/** --quiet and --json. */
export function outputOptions(cmd: Command): Command {
  return cmd
    .option('-q, --quiet', 'print only the result (no progress, notes or backend line)')
    .option('--json', 'print the result as one JSON document on stdout');
}

/** --seed. */
export function seedOption(cmd: Command, what: string, fallback = 0): Command {
  return cmd.option('--seed <n>', `seed of ${what}`, wholeNumber(0), fallback);
}

/** How a CSV file is read: the preprocessing options. */
export function csvOptions(cmd: Command): Command {
  return cmd
    .option('--task-column <column>', 'long format: the column naming each row\'s task (a task id, or a number matching the id\'s trailing number: 7 -> school_007)')
    .option('--categorical <columns>', 'feature columns to encode as categories (comma-separated; non-numeric columns are detected)', list)
    .option('--exclude <columns>', 'columns never used as features, e.g. ids (comma-separated)', list)
    .option('--no-standardize', 'keep numeric features as they are (default: mean 0, standard deviation 1)')
    .option('--max-one-hot <n>', 'one-hot encode categorical columns with at most n categories, integer codes above', wholeNumber(1), 64)
    .addOption(new Option('--impute <how>', 'empty numeric feature cells: an error (none) or the column mean').choices(['none', 'mean']).default('none'))
    .option('--delimiter <char>', 'field delimiter', ',');
}

/** The plan options the CLI exposes. */
export function modelOptions(cmd: Command): Command {
  return cmd
    .option('-s, --strategy <name>', 'single, hard, clustered, tree, soft, cross-stitch, mmoe, ple or auto', 'auto')
    .option('--trunk <units>', 'shared layer sizes, e.g. 64,32 (default 64,32)', units)
    .option('--tower <units>', 'private layers before each head, e.g. 16 (default none)', units)
    .option('--dropout <rate>', 'dropout after every trunk and tower layer, in [0, 1) (default 0)', fraction)
    .option('--l2 <decay>', 'L2 penalty on every trunk and tower kernel, l2 * sum(W^2) added to the loss (default 0)', nonNegative);
}

export interface CsvFlags {
  taskColumn?: string;
  categorical?: string[];
  exclude?: string[];
  standardize: boolean;
  maxOneHot: number;
  impute: 'none' | 'mean';
  delimiter: string;
}

export interface ModelFlags {
  strategy: string;
  trunk?: number[];
  tower?: number[];
  dropout?: number;
  l2?: number;
  seed: number;
}

/** Plan options from the flags; `columns` are the encoded input names when data is known. */
export function planOptions(flags: ModelFlags, columns?: string[]): Record<string, unknown> {
  const regularisation = { ...(flags.dropout !== undefined ? { dropout: flags.dropout } : {}), ...(flags.l2 !== undefined ? { l2: flags.l2 } : {}) };
  const regularised = Object.keys(regularisation).length > 0;
  return {
    strategy: flags.strategy,
    seed: flags.seed,
    ...(flags.trunk || regularised ? { trunk: { ...(flags.trunk ? { units: flags.trunk } : {}), ...regularisation } } : {}),
    ...(flags.tower || regularised ? { tower: { ...(flags.tower ? { units: flags.tower } : {}), ...regularisation } } : {}),
    ...(columns ? { input: { columns } } : {}),
  };
}
