import type { Plan } from '../plan/types.js';
import { getCouplingBuilder } from './couplings/registry.js';
import { fusedHeadGroups } from './head-groups.js';
import { getHeadBuilder } from './heads/registry.js';
import './couplings/index.js';
import './heads/index.js';

/** The tfjs layer classes `build(plan)` would put in the model (for backend checks), without building it. */
export function planLayerClasses(plan: Plan): string[] {
  const classes = new Set<string>(['InputLayer']);
  const stacks = [
    ...plan.blocks.map((b) => b.layers),
    ...Object.values(plan.towers).map((t) => t.layers),
  ];
  for (const layer of stacks.flat()) {
    classes.add('Dense');
    if (layer.batchNorm) classes.add('BatchNormalization').add('Activation');
    if (layer.dropout > 0) classes.add('MtgraphDropout');
  }
  for (const g of plan.gates) {
    classes.add('Dense').add('Reshape').add('MtgraphGateMix');
    if (g.experts.length > 1) classes.add('Concatenate');
  }
  const groups = fusedHeadGroups(plan);
  const fused = new Set(groups.flatMap((g) => g.tasks));
  for (const t of plan.tasks) {
    if (fused.has(t.id)) continue;
    const own = getHeadBuilder(t.kind)?.layerClasses ?? [];
    for (const c of typeof own === 'function' ? own(plan.heads[t.id]!) : own) classes.add(c);
  }
  if (groups.length > 0) classes.add('MtgraphMultiHead').add('MtgraphColumns');
  for (const t of plan.tasks) {
    if (t.condition !== undefined) classes.add('Multiply');
    if (t.reads && t.reads.length > 0) classes.add('Concatenate').add('Dense');
    if (t.readsStopGradient && t.reads && t.reads.length > 0) classes.add('MtgraphStopGradient');
    if (t.inputColumns && t.inputColumns.length > 0) classes.add('Concatenate').add('MtgraphPick');
  }
  if (plan.embeddings?.length) {
    classes.add('MtgraphPick').add('Embedding').add('Reshape');
    if (plan.embeddings.length > 1 || plan.input.features > plan.embeddings.length)
      classes.add('Concatenate');
  }
  for (const coupling of plan.couplings)
    for (const c of getCouplingBuilder(coupling.kind)?.layerClasses ?? []) classes.add(c);
  return [...classes];
}
