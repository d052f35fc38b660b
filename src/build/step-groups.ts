import type { LayerPlan, Plan } from '../plan/types.js';

/** A block's or a tower's first planned layer. */
export interface StepMember {
  kind: 'block' | 'tower';
  /** The block id, or the task id of the tower. */
  id: string;
}

/** First layers that `build` computes as one MultiHead product: they all read `parent`. */
export interface StepGroup {
  /** The block or gate they read (null: the input). */
  parent: string | null;
  /** In plan order: blocks first, then towers (two or more). */
  members: StepMember[];
}

/** A layer plain enough to be a column block of a fused product: no batch norm, no L2 on its kernel. */
const fusable = (layer: LayerPlan | undefined): layer is LayerPlan => layer !== undefined && !layer.batchNorm && !((layer.l2 ?? 0) > 0);

/**
 * The first layers of sibling blocks and towers that `build` fuses, from the plan alone (so a
 * loaded model maps back onto the same layers): blocks and towers whose first layer reads the
 * same tensor (MMoE's experts, PLE's first-level experts, the towers of `single`, the groups of
 * `clustered`...) are one `[inputs, sum of units]` product, and each takes its columns (a Columns
 * layer named as its Dense would be) and applies its activation. Per step that is one matrix
 * product, one gradient product for the weights and one for the input, instead of one of each per
 * member plus the sum of the members' input gradients.
 *
 * Left out, so that what reads a layer's own variables keeps reading them: layers with batch norm
 * or an L2 penalty; the towers of tasks a coupling ties or mixes; blocks no task reads (they are
 * not built); all blocks when a coupling mixes towers (it changes which tasks use what). Blocks
 * read by several tasks and those read by one are never in the same group, so a fused layer's
 * variables are either shared or each member's own.
 */
export function fusedStepGroups(plan: Plan): StepGroup[] {
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const gates = new Map(plan.gates.map((g) => [g.id, g]));
  // The tasks whose outputs depend on each block.
  const users = new Map<string, Set<string>>();
  const visit = (id: string | null, task: string, seen: Set<string>) => {
    if (id === null || seen.has(id)) return;
    seen.add(id);
    const block = blocks.get(id);
    if (block) {
      let set = users.get(id);
      if (!set) users.set(id, (set = new Set()));
      set.add(task);
      visit(block.parent, task, seen);
      return;
    }
    const gate = gates.get(id);
    if (gate) {
      visit(gate.parent, task, seen);
      for (const e of gate.experts) visit(e, task, seen);
    }
  };
  for (const t of plan.tasks) visit(plan.towers[t.id]?.parent ?? null, t.id, new Set());
  const coupled = new Set(plan.couplings.flatMap((c) => (c.kind === 'laplacian' ? c.pairs.flatMap(([a, b]) => [a, b]) : c.tasks)));
  const mixesTowers = plan.couplings.some((c) => c.kind !== 'laplacian');

  const groups = new Map<string, StepGroup>();
  const add = (parent: string | null, shared: boolean, member: StepMember) => {
    const key = `${parent === null ? '' : `#${parent}`}\u0000${shared}`;
    const group = groups.get(key);
    if (group) group.members.push(member);
    else groups.set(key, { parent, members: [member] });
  };
  if (!mixesTowers) {
    for (const b of plan.blocks) {
      const n = users.get(b.id)?.size ?? 0;
      if (n > 0 && fusable(b.layers[0])) add(b.parent, n >= 2, { kind: 'block', id: b.id });
    }
  }
  for (const t of plan.tasks) {
    const tower = plan.towers[t.id];
    if (tower && !coupled.has(t.id) && fusable(tower.layers[0])) add(tower.parent, false, { kind: 'tower', id: t.id });
  }
  return [...groups.values()].filter((g) => g.members.length >= 2);
}
