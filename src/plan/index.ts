export * from './types.js';
export { plan } from './compile-plan.js';
export { explain, type ExplainOptions } from './explain.js';
export { parsePlan, PlanSchema } from './schema.js';
export {
  PLAN_DEFAULTS,
  resolvePlanOptions,
  type PlanOptions,
  type ResolvedPlanOptions,
  type LayerStack,
} from './options.js';
export {
  registerStrategy,
  getStrategy,
  strategyNames,
  type Strategy,
  type StrategyContext,
  type StrategyResult,
} from './registry.js';
export { countParams } from './params.js';
export {
  chooseStrategy,
  graphShape,
  crossStitchAlpha,
  type GraphShape,
} from './strategies/index.js';
