import { createRegistry } from '../registry.js';
import type { GraphSpec } from '../schema/validate.js';
import type { TaskData } from '../data/types.js';
import { getOptimizer } from '../train/optimizers.js';
import {
  BALANCE_CHOICES,
  DROPOUT_CHOICES,
  L2_RANGE,
  LEARNING_RATE_RANGE,
  TOWER_CHOICES,
  TOWER_MAX_TASKS,
  TRUNK_CHOICES,
  WEIGHT_DECAY_RANGE,
} from './defaults.js';

/** A point of a search space: the options of `plan` and of `fit` that it sets. */
export interface Candidate {
  planOptions: Record<string, unknown>;
  fitOptions: Record<string, unknown>;
}

/** What a search space sees: the graph, its training rows (never the validation rows) and the seed. */
export interface SearchContext {
  /** The user's graph, as given to tune. */
  graph: unknown;
  /** The validated graph. */
  spec: GraphSpec;
  /** The training part of the data (validation rows held out). */
  train: TaskData;
  seed: number;
}

/** What a space's `prepare` returns: its state for `sample`, and notes for the result. */
export interface Prepared<State = unknown> {
  state: State;
  notes: string[];
}

/**
 * A search space: one file under `spaces/`, registered by name. `sample` draws one candidate
 * with the seeded `random`; it is pure given the random source. `prepare` runs once, before the
 * first sample (e.g. to learn a graph from the training rows), and its time counts in the budget.
 */
export interface SearchSpace<State = unknown> {
  readonly name: string;
  /** One sentence for docs and the report. */
  readonly summary: string;
  /**
   * Successive halving's first rung for this space, in multiples of schedule.minEpochs (default
   * 1; later rungs follow by eta, up to maxEpochs). Slow starters get more: soft's per-task
   * towers start apart and are judged unfairly after a few epochs.
   */
  readonly rungScale?: number;
  /** Whether the space joins the default list for this graph (the spaces in TUNE_DEFAULTS.strategies always do). */
  byDefault?(spec: GraphSpec): boolean;
  prepare?(ctx: SearchContext): Promise<Prepared<State>>;
  sample(random: () => number, ctx: SearchContext, state: State): Candidate;
}

const spaces = createRegistry<SearchSpace>((space) => space.name);

/** Registers a search space under its name (a later registration replaces an earlier one). */
export function registerSearchSpace<State>(space: SearchSpace<State>): SearchSpace<State> {
  spaces.register(space as SearchSpace);
  return space;
}

export function getSearchSpace(name: string): SearchSpace | undefined {
  return spaces.get(name);
}

/** The registered search space names, in registration order. */
export function searchSpaceNames(): string[] {
  return spaces.names();
}

/** One of the values, uniformly. */
export function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.min(values.length - 1, Math.floor(random() * values.length))]!;
}

/** A value log-uniform in [min, max], rounded to 3 significant digits (readable in reports). */
export function logUniform(random: () => number, min: number, max: number): number {
  const v = Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min)));
  return Number(v.toPrecision(3));
}

/** Trunk and tower settings every space shares: widths, dropout and an L2 penalty on the kernels (towers only with at most TOWER_MAX_TASKS tasks). */
export function sampleLayers(
  random: () => number,
  ctx: SearchContext,
  trunks: readonly (readonly number[])[] = TRUNK_CHOICES,
  towers: readonly (readonly number[])[] = TOWER_CHOICES,
  dropouts: readonly number[] = DROPOUT_CHOICES,
): Pick<Candidate['planOptions'], 'trunk' | 'tower'> {
  const dropout = pick(random, dropouts);
  const l2 = random() < 0.5 ? 0 : logUniform(random, L2_RANGE.min, L2_RANGE.max);
  const trunk = [...pick(random, trunks)];
  const tower = ctx.spec.tasks.length > TOWER_MAX_TASKS ? [] : [...pick(random, towers)];
  return {
    trunk: { units: trunk, dropout, l2 },
    tower: { units: tower, dropout, l2 },
  };
}

/**
 * The training settings every space shares: learning rate (log scale, in `rates`), weight decay
 * when an 'adamw' optimizer is registered, balancing method.
 */
export function sampleTraining(
  random: () => number,
  rates: { min: number; max: number } = LEARNING_RATE_RANGE,
): Candidate['fitOptions'] {
  const learningRate = logUniform(random, rates.min, rates.max);
  const decay =
    getOptimizer('adamw') !== undefined && random() < 0.5
      ? logUniform(random, WEIGHT_DECAY_RANGE.min, WEIGHT_DECAY_RANGE.max)
      : undefined;
  return {
    optimizer:
      decay === undefined
        ? { name: 'adam', learningRate }
        : { name: 'adamw', learningRate, weightDecay: decay },
    balance: pick(random, BALANCE_CHOICES),
  };
}
