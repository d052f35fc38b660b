import { createRegistry } from '../registry.js';
import type { z } from 'zod';
import type { GraphSpec } from '../schema/validate.js';
import type { BlockPlan, CouplingPlan, GatePlan, LayerPlan, TowerPlan } from './types.js';
import type { ResolvedPlanOptions } from './options.js';

/** What a strategy receives: the validated graph, the resolved common options and helpers. */
export interface StrategyContext {
  spec: GraphSpec;
  options: ResolvedPlanOptions;
  /** The trunk's layers (options.trunk), ready for a block or a tower. */
  trunkLayers: LayerPlan[];
  /** A task's own tower layers: its `head` attribute, or options.tower. */
  towerLayers(task: string): LayerPlan[];
  /** Resolves another strategy (for 'auto'). */
  strategy(name: string): Strategy;
  /** Counts the parameters a partial plan would have (used by budgeted strategies). */
  countParams(result: StrategyResult): number;
}

/** What a strategy decides: the network's topology and its couplings. */
export interface StrategyResult {
  /** The strategy actually used (for 'auto'); defaults to the strategy's own name. */
  strategy?: string;
  blocks: BlockPlan[];
  towers: Record<string, TowerPlan>;
  couplings?: CouplingPlan[];
  gates?: GatePlan[];
  groups?: string[][];
  notes: string[];
}

/**
 * A sharing strategy: one file under `strategies/`, registered by name. `options` is the
 * strategy's own section of the plan options (e.g. `options.clustered`), validated by its
 * zod schema; `plan` is pure.
 */
export interface Strategy<Own = any> {
  readonly name: string;
  /** One sentence for docs and `explain`. */
  readonly summary: string;
  /** The key of the strategy's own section in the plan options. */
  readonly optionsKey: string;
  readonly options: z.ZodType<Own>;
  plan(ctx: StrategyContext, own: Own): StrategyResult;
}

const strategies = createRegistry<Strategy>((s) => s.name);

/** Registers a sharing strategy under its name (a later registration replaces an earlier one). */
export function registerStrategy<Own>(strategy: Strategy<Own>): Strategy<Own> {
  strategies.register(strategy as Strategy);
  return strategy;
}

export function getStrategy(name: string): Strategy | undefined {
  return strategies.get(name);
}

/** The registered strategy names, in registration order. */
export function strategyNames(): string[] {
  return strategies.names();
}

export function allStrategies(): Strategy[] {
  return strategies.values();
}
