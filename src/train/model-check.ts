import type { MtgraphModel } from '../network/types.js';
import { OptionsError, show } from '../errors.js';

/** Refuses anything that is not a built model (before any data is touched). */
export function checkModel(model: unknown, scope: string): asserts model is MtgraphModel {
  const m = model as Partial<MtgraphModel> | null | undefined;
  const ok =
    m !== null &&
    typeof m === 'object' &&
    typeof m.model?.apply === 'function' &&
    Array.isArray(m.plan?.tasks) &&
    m.outputIndex instanceof Map &&
    Array.isArray(m.trainableVariables) &&
    typeof m.penalty === 'function';
  if (!ok) {
    throw new OptionsError(
      `${scope}: the model must be what build(plan) or compile(graph, options) returns (got ${show(model)}) → at model. Build it first: const model = compile(graph, options).`,
      { path: 'model', got: model },
    );
  }
}
