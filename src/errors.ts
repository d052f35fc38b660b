/**
 * Typed errors. Every user mistake raises a subclass of `MtgraphError` whose message reads
 * `<scope>: <what is wrong> (got X; expected Y). <how to fix>` and whose `path` names where
 * the mistake is (`tasks.segment.classes`, `edges[3]`, `options.trunk.units[0]`).
 */

export interface MtgraphErrorDetails {
  /** Where the mistake is, e.g. `tasks.segment.classes` or `edges[3]`. */
  path?: string;
  /** The offending value, when it is small enough to keep. */
  got?: unknown;
  cause?: unknown;
}

/** Longest error message mtgraph raises, in characters; longer ones are cut with a count of what was cut. */
export const MAX_MESSAGE_LENGTH = 4000;
/** Most problems one error lists; the rest are counted ("and 999,997 more"). */
export const MAX_LISTED_PROBLEMS = 3;

/** Cuts `text` to `max` characters, saying how many were left out. */
export function capText(text: string, max = MAX_MESSAGE_LENGTH): string {
  if (text.length <= max) return text;
  const cut = text.length - max;
  return `${text.slice(0, max)}… (${cut.toLocaleString('en-US')} more characters)`;
}

/**
 * The first few of `problems` (MAX_LISTED_PROBLEMS), one a line, each cut to `perLine` characters,
 * then "and N more" when there are more: what an error lists, never all of a huge input's problems.
 */
export function listProblems(
  problems: readonly string[],
  total = problems.length,
  perLine = 300,
): string[] {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => capText(p, perLine));
  const more = total - lines.length;
  if (more > 0)
    lines.push(`… and ${more.toLocaleString('en-US')} more problem${more === 1 ? '' : 's'}`);
  return lines;
}

/** Base class of every error mtgraph raises on purpose. */
export class MtgraphError extends Error {
  /** Where the mistake is (`tasks.segment.classes`, `edges[3]`, `options.strategy`), or '' for the whole input. */
  readonly path: string;
  readonly got: unknown;

  /** `message` longer than MAX_MESSAGE_LENGTH is cut (an error never prints unbounded text). */
  constructor(message: string, details: MtgraphErrorDetails = {}) {
    super(capText(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'MtgraphError';
    this.path = details.path ?? '';
    this.got = details.got;
  }
}

/** A task, affinity or graph attribute does not match the spec (wrong kind, missing classes, weight out of range...). */
export class GraphSpecError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'GraphSpecError';
  }
}

/** The graph's shape is wrong: directed or mixed, self-loops, parallel edges, no tasks. */
export class GraphStructureError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'GraphStructureError';
  }
}

/** A task id is declared twice. */
export class DuplicateTaskError extends GraphStructureError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'DuplicateTaskError';
  }
}

/** An affinity names a task that is not in the graph. */
export class UnknownTaskError extends GraphStructureError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'UnknownTaskError';
  }
}

/** A key such as `__proto__`, `constructor` or `prototype` was used as an id or attribute name. */
export class UnsafeKeyError extends GraphSpecError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'UnsafeKeyError';
  }
}

/** Options given to `plan`, `compile`, `fit`... are invalid (unknown strategy, unknown key, bad units). */
export class OptionsError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'OptionsError';
  }
}

/** A Plan cannot be made or read (unsupported version, a limit of a strategy exceeded, inconsistent references). */
export class PlanError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'PlanError';
  }
}

/** A file cannot be read or written, or its content is not what it should be. */
export class FileError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'FileError';
  }
}

/** Training or evaluation data does not fit the graph (shapes, labels, NaN in features). */
export class DataError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'DataError';
  }
}

/** Training cannot go on: a loss or the weights became non-finite. The model keeps its last good weights. */
export class TrainingError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'TrainingError';
  }
}

/** Formats a value for an error message: short, never throws. */
export function show(value: unknown): string {
  try {
    if (typeof value === 'string')
      return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
    if (
      typeof value === 'number' ||
      typeof value === 'boolean' ||
      value === null ||
      value === undefined
    )
      return String(value);
    if (Array.isArray(value)) return `an array of ${value.length}`;
    if (typeof value === 'object') {
      const name = (value as object).constructor?.name;
      return name && name !== 'Object' ? `a ${name}` : 'an object';
    }
    return typeof value;
  } catch {
    return typeof value;
  }
}

/** A TensorFlow.js backend cannot be loaded, or cannot run what is asked of it (e.g. train a layer). */
export class BackendError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'BackendError';
  }
}

/** Something needs a host mtgraph does not run on (e.g. a file path in a browser). */
export class PlatformError extends MtgraphError {
  constructor(message: string, details?: MtgraphErrorDetails) {
    super(message, details);
    this.name = 'PlatformError';
  }
}
