import type { LayerStack } from './options.js';
import type { LayerPlan } from './types.js';

/** The layers of a resolved stack. */
export function layersOf(stack: LayerStack): LayerPlan[] {
  return stack.units.map((units) => ({
    units,
    activation: stack.activation,
    dropout: stack.dropout,
    batchNorm: stack.batchNorm,
    ...(stack.l2 > 0 ? { l2: stack.l2 } : {}),
  }));
}
