import { createRegistry } from '../../registry.js';
import type { BalanceMethod } from './types.js';
import { staticBalance } from './static.js';
import { uncertaintyBalance } from './uncertainty.js';
import { dwaBalance } from './dwa.js';
import { gradnormBalance } from './gradnorm.js';
import { pcgradBalance } from './pcgrad.js';
import { mgdaBalance } from './mgda.js';
import { rlwBalance } from './rlw.js';
import { cagradBalance } from './cagrad.js';

export type {
  BalanceMethod,
  Balancer,
  BalanceContext,
  BalanceNeeds,
  Combined,
  GradientBalancer,
  GradientCombination,
  LossBalancer,
  TaskGradients,
} from './types.js';
export { defineBalance } from './types.js';
export { uncertaintyObjective, uncertaintyScales, type UncertaintyOptions } from './uncertainty.js';
export { dwaWeights, type DwaOptions } from './dwa.js';
export { gradnormGradient, type GradnormOptions } from './gradnorm.js';
export { pcgradWeights } from './pcgrad.js';
export { minNormWeights, gradientNormalizers, type MgdaOptions } from './mgda.js';
export { rlwWeights } from './rlw.js';
export { cagradWeights, type CagradOptions } from './cagrad.js';

/** A method of any options type (the registry holds them all). */
type AnyMethod = BalanceMethod<any>;

const methods = createRegistry<AnyMethod>((m) => m.name);

/** Registers a balancing method under its name (a later registration replaces an earlier one). */
export function registerBalance<O extends object>(method: BalanceMethod<O>): BalanceMethod<O> {
  methods.register(method as AnyMethod);
  return method;
}

export function getBalance(name: string): AnyMethod | undefined {
  return methods.get(name);
}

/** Registered balancing method names, in registration order. */
export function balanceNames(): string[] {
  return methods.names();
}

for (const method of [
  staticBalance,
  uncertaintyBalance,
  dwaBalance,
  gradnormBalance,
  pcgradBalance,
  mgdaBalance,
  rlwBalance,
  cagradBalance,
]) {
  registerBalance(method as AnyMethod);
}
