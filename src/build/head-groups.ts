import type { Plan } from '../plan/types.js';
import { getCouplingBuilder } from './couplings/registry.js';
import { getHeadBuilder } from './heads/registry.js';
import './couplings/index.js';
import './heads/index.js';

/** Tasks whose heads `build` fuses into one MultiHead layer: they all read `parent` directly. */
export interface HeadGroup {
  /** The block or gate the heads read (null: the input). */
  parent: string | null;
  /** Task ids in plan order (two or more). */
  tasks: string[];
}

/**
 * The heads of a plan that are built as one layer, from the plan alone (so a loaded model maps
 * back onto the same layers): tasks with no tower layer of their own that read the same block,
 * whose head is a plain Dense (`fusable` head builder) and that no coupling reads at the head
 * (a head penalty needs the head's own variables). Groups of one task keep their Dense head.
 */
export function fusedHeadGroups(plan: Plan): HeadGroup[] {
  const coupled = new Set(plan.couplings.flatMap((c) => getCouplingBuilder(c.kind)?.headTasks?.(c) ?? []));
  const groups = new Map<string | null, string[]>();
  for (const task of plan.tasks) {
    const tower = plan.towers[task.id];
    if (!tower || tower.layers.length > 0 || coupled.has(task.id) || !getHeadBuilder(task.kind)?.fusable) continue;
    const list = groups.get(tower.parent);
    if (list) list.push(task.id);
    else groups.set(tower.parent, [task.id]);
  }
  return [...groups].filter(([, tasks]) => tasks.length >= 2).map(([parent, tasks]) => ({ parent, tasks }));
}
