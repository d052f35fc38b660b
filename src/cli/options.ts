import { InvalidArgumentError, Option, type Command } from 'commander';
import { OptionsError, capText } from '../errors.js';

/** A whole-number option value >= min. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[-+]?\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
      throw new InvalidArgumentError(`expected a whole number (got ${JSON.stringify(value)}).`);
    if (n < min) throw new InvalidArgumentError(`expected a whole number >= ${min} (got ${n}).`);
    return n;
  };
}

/** A fraction in [0, 1). */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1)
    throw new InvalidArgumentError(
      `expected a fraction in [0, 1), e.g. 0.2 (got ${JSON.stringify(value)}).`,
    );
  return n;
}

/** A number in [0, 1]. */
export function unitInterval(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError(`expected a number in [0, 1] (got ${JSON.stringify(value)}).`);
  return n;
}

/** A positive number. */
export function positive(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive number (got ${JSON.stringify(value)}).`);
  return n;
}

/** A number >= 0. */
export function nonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(
      `expected a number >= 0, e.g. 1e-4 (got ${JSON.stringify(value)}).`,
    );
  return n;
}

/** A comma-separated list (`a,b,c`); repeated options add up. */
export function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ];
}

/** Units of a layer stack: `64,32`, or `none` for no layers. */
export function units(value: string): number[] {
  if (value.trim() === 'none' || value.trim() === '') return [];
  return value.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(
        `expected layer sizes such as 64,32 or none (got ${JSON.stringify(value)}).`,
      );
    return n;
  });
}

/** Deepest nesting of objects and arrays a JSON option may have (plan options need 3 or 4). */
export const MAX_JSON_DEPTH = 32;

/** The deepest nesting of `[` and `{` in JSON text, outside strings; counted without recursion. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** A JSON object (`{"soft":{"strength":0.1}}`), nested at most MAX_JSON_DEPTH deep. */
export function jsonObject(value: string): Record<string, unknown> {
  const example = `'{"soft":{"strength":0.1}}'`;
  const depth = jsonDepth(value);
  if (depth > MAX_JSON_DEPTH) {
    throw new InvalidArgumentError(
      `expected a JSON object such as ${example} nested at most ${MAX_JSON_DEPTH} deep (got ${depth.toLocaleString('en-US')} levels of nesting).`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    const why = error instanceof RangeError ? 'too deeply nested' : (error as Error).message;
    throw new InvalidArgumentError(
      `expected a JSON object such as ${example} (${capText(why, 200)}).`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidArgumentError(
      `expected a JSON object such as ${example} (got ${capText(JSON.stringify(parsed), 60)}).`,
    );
  }
  return parsed as Record<string, unknown>;
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
    .option(
      '--task-column <column>',
      "long format: the column naming each row's task (a task id, or a number matching the id's trailing number: 7 -> school_007)",
    )
    .option(
      '--categorical <columns>',
      'feature columns to encode as categories (comma-separated; non-numeric columns are detected)',
      list,
    )
    .option(
      '--exclude <columns>',
      'columns never used as features, e.g. ids (comma-separated)',
      list,
    )
    .option(
      '--no-standardize',
      'keep numeric features as they are (default: mean 0, standard deviation 1)',
    )
    .option(
      '--max-one-hot <n>',
      'one-hot encode categorical columns with at most n categories, integer codes above',
      wholeNumber(1),
      64,
    )
    .addOption(
      new Option(
        '--impute <how>',
        'empty numeric feature cells: an error (none) or the column mean',
      )
        .choices(['none', 'mean'])
        .default('none'),
    )
    .option('--delimiter <char>', 'field delimiter', ',');
}

/** The plan options the CLI exposes (`strategy: false`: all but --strategy, for a command that chooses the strategies). */
export function modelOptions(
  cmd: Command,
  { strategy = true }: { strategy?: boolean } = {},
): Command {
  if (strategy)
    cmd.option(
      '-s, --strategy <name>',
      'single, hard, clustered, tree, soft, cross-stitch, mmoe, ple or auto',
      'auto',
    );
  return cmd
    .option('--trunk <units>', 'shared layer sizes, e.g. 64,32 (default 64,32)', units)
    .option('--tower <units>', 'private layers before each head, e.g. 16 (default none)', units)
    .option(
      '--dropout <rate>',
      'dropout after every trunk and tower layer, in [0, 1) (default 0)',
      fraction,
    )
    .option(
      '--l2 <decay>',
      'L2 penalty on every trunk and tower kernel, l2 * sum(W^2) added to the loss (default 0)',
      nonNegative,
    )
    .option(
      '--plan-options <json>',
      'any other plan options, as a JSON object: a strategy\'s section such as \'{"soft":{"strength":0.1}}\' or \'{"mmoe":{"experts":8}}\', or trunk / tower fields such as \'{"trunk":{"activation":"tanh"}}\' (the flags above win)',
      jsonObject,
    );
}

/** Plan options `--plan-options` may not set: other flags, or the data, decide them. */
const FLAG_OWNED: Readonly<Record<string, string>> = {
  strategy: '--strategy',
  seed: '--seed',
  input: 'the graph and the data',
};

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
  planOptions?: Record<string, unknown>;
}

/**
 * Plan options from the flags; `columns` are the encoded input names when data is known.
 * `--plan-options` comes first, the other flags override it field by field; `plan()` checks the
 * result (an OptionsError names e.g. options.soft.strength).
 */
export function planOptions(
  flags: ModelFlags,
  columns?: string[],
  vocabularies?: Record<string, { ids: number }>,
): Record<string, unknown> {
  const extra = flags.planOptions ?? {};
  for (const [key, flag] of Object.entries(FLAG_OWNED)) {
    if (Object.hasOwn(extra, key)) {
      throw new OptionsError(
        `mtgraph/cli: --plan-options sets "${key}", which ${flag} decides → at --plan-options.${key}. Remove it from the JSON.`,
        { path: `--plan-options.${key}`, got: key },
      );
    }
  }
  const regularisation = {
    ...(flags.dropout !== undefined ? { dropout: flags.dropout } : {}),
    ...(flags.l2 !== undefined ? { l2: flags.l2 } : {}),
  };
  const regularised = Object.keys(regularisation).length > 0;
  const stack = (key: 'trunk' | 'tower', units: number[] | undefined) => {
    const given = extra[key];
    const base =
      given !== null && typeof given === 'object' && !Array.isArray(given)
        ? given
        : given === undefined
          ? {}
          : undefined;
    if (base === undefined) return { [key]: given }; // not an object: plan() says what is wrong
    if (!units && !regularised && given === undefined) return {};
    return { [key]: { ...base, ...(units ? { units } : {}), ...regularisation } };
  };
  return {
    ...extra,
    strategy: flags.strategy,
    seed: flags.seed,
    ...stack('trunk', flags.trunk),
    ...stack('tower', flags.tower),
    ...(columns ? { input: { columns } } : {}),
    // Embedded columns (graph input.embed): the CSV preprocessing encoded their ids.
    ...(vocabularies && Object.keys(vocabularies).length > 0 ? { vocabularies } : {}),
  };
}

/** How `train` and `compare` train: the fit and split options. */
export function trainingOptions(cmd: Command): Command {
  return cmd
    .option(
      '-b, --balance <method>',
      'loss balancing: static (task weights) or another registered method',
      'static',
    )
    .option('-e, --epochs <n>', 'passes over the training rows', wholeNumber(1), 20)
    .option('--batch-size <n>', 'rows per step', wholeNumber(1), 32)
    .option('--optimizer <name>', 'adam, sgd or rmsprop', 'adam')
    .option(
      '--learning-rate <rate>',
      "step size (default: the optimizer's, 0.001 for adam)",
      positive,
    )
    .option(
      '--valid <fraction>',
      'rows held out for validation (early stopping, the curves); per task: a task with two or more labelled rows keeps one for training and gets one for validation',
      fraction,
      0.1,
    )
    .option('--test <fraction>', 'rows held out for the final scores', fraction, 0.2)
    .option(
      '--stratify <task|column>',
      'split each class of this task (or value of this column) in the same proportions (default: the task column in long format)',
    )
    .option(
      '--group <column>',
      'keep rows with the same value of this column in the same part (e.g. a user id)',
    )
    .option(
      '--patience <n>',
      'stop when the validation loss has not improved for n epochs (and keep the best weights)',
      wholeNumber(0),
    )
    .option(
      '--no-target-scale',
      "train regression tasks on their raw targets (default: on targets standardised with the training part's mean and std; predictions stay in the targets' units)",
    );
}

export interface TrainingFlags {
  balance: string;
  epochs: number;
  batchSize: number;
  optimizer: string;
  learningRate?: number;
  valid: number;
  test: number;
  stratify?: string;
  group?: string;
  patience?: number;
  targetScale: boolean;
  seed: number;
}

/** The split options of readTrainingData from the flags. */
export function splitOptions(flags: TrainingFlags): {
  seed: number;
  valid: number;
  test: number;
  stratify?: string;
  group?: string;
} {
  return {
    seed: flags.seed,
    valid: flags.valid,
    test: flags.test,
    ...(flags.stratify !== undefined ? { stratify: flags.stratify } : {}),
    ...(flags.group !== undefined ? { group: flags.group } : {}),
  };
}

/** fit's options from the flags (without data and callbacks): `validation` says whether there is a validation part. */
export function fitSettings(flags: TrainingFlags, validation: boolean) {
  return {
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    seed: flags.seed,
    balance: flags.balance,
    optimizer: {
      name: flags.optimizer,
      ...(flags.learningRate !== undefined ? { learningRate: flags.learningRate } : {}),
    },
    ...(flags.patience !== undefined
      ? {
          earlyStopping: {
            patience: flags.patience,
            monitor: validation ? ('val_loss' as const) : ('loss' as const),
          },
        }
      : {}),
  };
}
