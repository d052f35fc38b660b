/**
 * One registry for everything mtgraph looks up by name (strategies, balancing methods, losses,
 * metrics, optimizers, heads, couplings, affinity methods): adding one is registering one object,
 * and the code that uses them never branches on a specific one.
 */

/** Named entries in registration order; a later registration under a name replaces the earlier. */
export interface Registry<T> {
  /** Registers `entry` under its name(s); returns it. */
  register<U extends T>(entry: U): U;
  get(name: string): T | undefined;
  /** The registered names, in registration order. */
  names(): string[];
  /** The registered entries, in registration order (one per entry, whatever its names). */
  values(): T[];
}

/** A registry whose entries are named by `nameOf` (one name, or several, e.g. a head's kinds). */
export function createRegistry<T>(nameOf: (entry: T) => string | readonly string[]): Registry<T> {
  const entries = new Map<string, T>();
  return {
    register(entry) {
      const names = nameOf(entry);
      for (const name of typeof names === 'string' ? [names] : names) entries.set(name, entry);
      return entry;
    },
    get: (name) => entries.get(name),
    names: () => [...entries.keys()],
    values: () => [...new Set(entries.values())],
  };
}
