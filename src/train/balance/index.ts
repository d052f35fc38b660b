import type { BalanceMethod } from './types.js';
import { staticBalance } from './static.js';

export type { BalanceMethod, Balancer, BalanceContext, Combined } from './types.js';

const methods = new Map<string, BalanceMethod>();

/** Registers a balancing method under its name (a later registration replaces an earlier one). */
export function registerBalance(method: BalanceMethod): BalanceMethod {
  methods.set(method.name, method);
  return method;
}

export function getBalance(name: string): BalanceMethod | undefined {
  return methods.get(name);
}

/** Registered balancing method names, in registration order. */
export function balanceNames(): string[] {
  return [...methods.keys()];
}

registerBalance(staticBalance);
