import type { Plan } from '../plan/types.js';
import { getCouplingBuilder } from './couplings/registry.js';
import { getHeadBuilder } from './heads/registry.js';
import './couplings/index.js';
import './heads/index.js';
import { widensTower } from '../schema/chains.js';

/** Tasks whose heads `build` fuses into one MultiHead layer: they all read `parent` directly. */
export interface HeadGroup {
  /** The block or gate the heads read (null: the input). */
  parent: string | null;
  /** Task ids in plan order (two or more). */
  tasks: string[];
}

/**
 * The heads of a plan that are built as one layer, from the plan alone (so a loaded model maps
 * back onto the same layers): tasks with no tower layer of their own that read the same block and
 * whose head is a plain Dense (`fusable` head builder). Heads a coupling reads (a head Laplacian)
 * are fused only when its builder can read fused heads (`fusedHeads`) and all the heads it reads
 * go into the same layer; otherwise they keep their own Dense. Groups of one task keep their Dense.
 */
export function fusedHeadGroups(plan: Plan): HeadGroup[] {
  const parentOf = new Map<string, string | null>();
  for (const task of plan.tasks) {
    const tower = plan.towers[task.id];
    // A head reading other tasks' towers (reads) reads its own input: never fused.
    if (
      tower &&
      tower.layers.length === 0 &&
      !widensTower(task) &&
      getHeadBuilder(task.kind)?.fusable
    )
      parentOf.set(task.id, tower.parent);
  }
  const readers = plan.couplings
    .map((c) => ({
      builder: getCouplingBuilder(c.kind),
      tasks: getCouplingBuilder(c.kind)?.headTasks?.(c) ?? [],
    }))
    .filter((r) => r.tasks.length > 0);
  for (const r of readers) if (!r.builder?.fusedHeads) for (const t of r.tasks) parentOf.delete(t);
  // A coupling reading fused heads needs all of its heads in one layer: else none of them is fused.
  const groupSize = () => {
    const size = new Map<string | null, number>();
    for (const p of parentOf.values()) size.set(p, (size.get(p) ?? 0) + 1);
    return size;
  };
  for (let changed = true; changed; ) {
    changed = false;
    const size = groupSize();
    for (const r of readers) {
      const parents = new Set(r.tasks.map((t) => (parentOf.has(t) ? parentOf.get(t)! : undefined)));
      const together =
        parents.size === 1 && !parents.has(undefined) && (size.get([...parents][0]!) ?? 0) >= 2;
      if (!together) for (const t of r.tasks) changed = parentOf.delete(t) || changed;
    }
  }
  const groups = new Map<string | null, string[]>();
  for (const task of plan.tasks) {
    if (!parentOf.has(task.id)) continue;
    const parent = parentOf.get(task.id)!;
    const list = groups.get(parent);
    if (list) list.push(task.id);
    else groups.set(parent, [task.id]);
  }
  return [...groups]
    .filter(([, tasks]) => tasks.length >= 2)
    .map(([parent, tasks]) => ({ parent, tasks }));
}
