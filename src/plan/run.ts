import type { Strategy, StrategyContext, StrategyResult } from './registry.js';

/** Runs a strategy with its own options section (its defaults when the section is absent). */
export function runStrategy(ctx: StrategyContext, strategy: Strategy): StrategyResult {
  const own = ctx.options.sections[strategy.optionsKey] ?? strategy.options.parse({});
  return strategy.plan(ctx, own);
}
