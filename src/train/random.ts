/**
 * Random streams of a training run whose state can be saved and restored (checkpoints): the same
 * numbers as `seededRandom` (mulberry32), with the 32-bit state readable and settable.
 */

/** A seeded source in [0, 1); `state` is the whole state of the stream. */
export interface RandomStream {
  (): number;
  state: number;
}

/** A stream equal to `seededRandom(seed)`, or continuing from a saved `state`. */
export function randomStream(seed: number, state?: number): RandomStream {
  const next = (() => {
    next.state = (next.state + 0x6d2b79f5) >>> 0;
    let t = next.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as RandomStream;
  next.state = state ?? ((Math.floor(seed) >>> 0) ^ 0x9e3779b9) >>> 0;
  return next;
}

/** Reads a saved stream state (a 32-bit unsigned integer), or undefined when `value` is not one. */
export function streamState(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff
    ? value
    : undefined;
}

/**
 * The seed of epoch `epoch`'s shuffle: a hash of (seed, epoch), so that each epoch's order depends
 * on nothing but the run's seed and the epoch, and a run resumed at epoch k shuffles as the
 * uninterrupted run did.
 */
export function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((Math.floor(seed) >>> 0) ^ 0x85ebca6b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ Math.imul(epoch + 1, 0x9e3779b1), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}
