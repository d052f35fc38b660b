import { createRegistry } from '../registry.js';
import type { GraphSpec } from '../schema/validate.js';
import type { ResolvedAffinityOptions } from './options.js';

/** What a method is given: the validated graph, the caller's data (not yet validated) and the resolved options. */
export interface AffinityInput {
  /** The caller's graph, and the same graph read into plain data. */
  graph: unknown;
  spec: GraphSpec;
  data: unknown;
  options: ResolvedAffinityOptions;
  /** Error scope, `mtgraph/measureAffinity`. */
  scope: string;
}

/** What a method measures, in graph task order. */
export interface AffinityMeasurement {
  /** Directed affinities in [-1, 1]: `matrix[i][j]` = effect of task i on task j; NaN where a pair was never measured. */
  matrix: number[][];
  /** The values before scaling (lookahead: mean Z(i->j); other methods: the same as `matrix`). */
  raw: number[][];
  /** Measured steps (0 for methods without training). */
  steps: number;
  /** Joint training steps taken (0 for methods without training). */
  trainingSteps: number;
  notes: string[];
}

/** A way of measuring task affinity: registered by name, looked up by `measureAffinity`. */
export interface AffinityMethod {
  readonly name: string;
  /** One sentence for docs and errors. */
  readonly summary: string;
  /** Options this method reads besides the common `method`, `threshold` and `seed`. */
  readonly optionKeys: readonly string[];
  measure(input: AffinityInput): Promise<AffinityMeasurement>;
}

const methods = createRegistry<AffinityMethod>((m) => m.name);

/** Registers an affinity method under its name (a later registration replaces an earlier one). */
export function registerAffinityMethod(method: AffinityMethod): AffinityMethod {
  return methods.register(method);
}

export function getAffinityMethod(name: string): AffinityMethod | undefined {
  return methods.get(name);
}

export function affinityMethodNames(): string[] {
  return methods.names();
}
