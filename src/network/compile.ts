import { plan } from '../plan/compile-plan.js';
import type { PlanOptions } from '../plan/options.js';
import { build } from './build.js';
import type { MtgraphModel } from './types.js';

/** Plans and builds in one step: `build(plan(graph, options), { graph })`. The graph is kept with the model. */
export function compile(graph: unknown, options: PlanOptions = {}): MtgraphModel {
  const p = plan(graph, options);
  const exportable = typeof (graph as { export?: unknown } | null)?.export === 'function';
  return build(p, exportable ? { graph: graph as { export(): unknown } } : {});
}
