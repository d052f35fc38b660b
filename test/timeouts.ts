/**
 * Wall-clock budgets of the test suite, scaled to how fast this machine runs right now.
 *
 * A test's timeout guards against a hang, not a slow machine: on a busy box (other jobs on the
 * same cores) the same test takes several times longer, and a fixed 60 s fails it for nothing.
 * So each test file starts with a tiny calibration (a fixed CPU-bound loop, about 60 ms on an
 * idle core), and every budget is multiplied by how much slower than the reference the loop ran
 * (at least 1, at most MAX_SLOWDOWN, so that a real hang still fails). MTGRAPH_TEST_SLOWDOWN
 * sets the factor by hand.
 */

/** Default test and hook timeout on an idle machine (vitest.config.ts); scaled per test file. */
export const BASE_TIMEOUT_MS = 60_000;
/** Iterations of one calibration chunk. */
export const CHUNK_ITERATIONS = 1_000_000;
/** One chunk on the reference machine's idle core (the fastest of many runs there), in ms. */
export const REFERENCE_CHUNK_MS = 15;
/** Chunks per calibration. */
export const CHUNKS = 4;
/** The factor never exceeds this (a 60 s budget becomes at most 15 min). */
export const MAX_SLOWDOWN = 15;

/** The calibration work: deterministic floating-point arithmetic the JIT cannot remove. */
export function calibrationChunk(iterations = CHUNK_ITERATIONS): number {
  let s = 0;
  for (let i = 1; i <= iterations; i++) {
    s += Math.sqrt(i) * 1.0000001;
    s -= Math.floor(s / 1e6) * 1e6;
  }
  return s;
}

/** The slowdown that chunk times (ms) show against the reference: their mean over the reference, in [1, MAX_SLOWDOWN]. */
export function slowdownFrom(chunkMs: readonly number[], referenceMs = REFERENCE_CHUNK_MS): number {
  const finite = chunkMs.filter((t) => Number.isFinite(t) && t >= 0);
  if (finite.length === 0) return 1;
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  return Math.min(MAX_SLOWDOWN, Math.max(1, mean / referenceMs));
}

/** Runs the calibration (one warm-up chunk, then CHUNKS timed ones) and returns the slowdown. */
export function measureSlowdown(now: () => number = () => performance.now()): number {
  const forced = Number(process.env.MTGRAPH_TEST_SLOWDOWN);
  if (Number.isFinite(forced) && forced > 0) return Math.min(MAX_SLOWDOWN, Math.max(1, forced));
  let sink = calibrationChunk(CHUNK_ITERATIONS / 4);
  const times: number[] = [];
  for (let k = 0; k < CHUNKS; k++) {
    const t0 = now();
    sink += calibrationChunk();
    times.push(now() - t0);
  }
  if (sink === -1) times.push(0); // keeps the work observable
  return slowdownFrom(times);
}

const KEY = Symbol.for('mtgraph.test.slowdown');
type WithSlowdown = { [KEY]?: number };

/** This file's slowdown (measured once per test file by test/setup-timeouts.ts, else now). */
export function slowdown(): number {
  const g = globalThis as WithSlowdown;
  return (g[KEY] ??= measureSlowdown());
}

/** Records the slowdown measured for this file. */
export function setSlowdown(factor: number): void {
  (globalThis as WithSlowdown)[KEY] = factor;
}

/** A wall-clock budget (a timeout, or a "took less than" bound) for this machine: ms times the slowdown. */
export function scaled(ms: number, factor = slowdown()): number {
  return Math.round(ms * factor);
}
