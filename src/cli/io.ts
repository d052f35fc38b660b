/** Where the command writes: the process streams in use, string buffers in tests. */
export interface CliIO {
  stdout: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

/** The output flags every command takes. */
export interface OutputFlags {
  quiet?: boolean;
  json?: boolean;
}

/**
 * How a command talks: results on stdout (human text, or one JSON document with --json),
 * everything else (progress, notes, the backend in use) on stderr, silenced by --quiet
 * (and by --json, so stdout stays one parseable document).
 */
export class Output {
  constructor(
    readonly io: CliIO,
    readonly flags: OutputFlags,
  ) {}

  get json(): boolean {
    return this.flags.json === true;
  }

  /** Progress and context on stderr (not with --quiet or --json). */
  info(text: string): void {
    if (!this.flags.quiet && !this.flags.json) this.io.stderr.write(`${terminalSafe(text)}\n`);
  }

  /** A warning on stderr (not with --quiet). */
  warn(text: string): void {
    if (!this.flags.quiet) this.io.stderr.write(`note: ${terminalSafe(text)}\n`);
  }

  /** Human-readable result on stdout (not with --json). */
  result(text: string): void {
    const safe = terminalSafe(text);
    if (!this.flags.json) this.io.stdout.write(safe.endsWith('\n') ? safe : `${safe}\n`);
  }

  /** The machine-readable result on stdout (only with --json). */
  data(value: unknown): void {
    // JSON.stringify leaves DEL, C1 controls and bidi overrides raw: escaped the same way (still valid JSON).
    if (this.flags.json)
      this.io.stdout.write(`${terminalSafe(JSON.stringify(value, jsonSafe, 2))}\n`);
  }
}

/**
 * Control characters (C0 but newline and tab, DEL, C1) and bidirectional overrides, which a
 * terminal would obey: a task named "\x1b]0;..." must print as text, not retitle the window.
 */
const TERMINAL_UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text for a terminal: every control character written as its escape (`\u001b`), newlines and tabs kept. */
export function terminalSafe(text: string): string {
  return text.replace(
    TERMINAL_UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** JSON replacer: non-finite numbers as null, typed arrays as lists. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

/** Aligns rows of cells into columns (first column left, the rest right-aligned). */
export function table(cells: string[][]): string {
  const rows = cells.map((row) => row.map(terminalSafe));
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows
    .map((row) =>
      row
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A number for a table: 4 significant digits, '-' when missing. */
export function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const a = Math.abs(value);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}
