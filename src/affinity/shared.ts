import type * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../build/types.js';
import { getCouplingBuilder } from '../build/couplings/index.js';
import type { Plan } from '../plan/types.js';
import { taskParameters } from '../train/parameters.js';

/**
 * The parts of a plan that the outputs of two tasks or more depend on, by name, from the plan
 * alone (before a model exists): blocks and experts read by several tasks — directly, or through
 * a gate (PLE's task experts feed the shared gate of the next level) —, gates serving several
 * tasks, and couplings that add a layer mixing towers (cross-stitch units, named `kind#index`).
 * A tower layer mixed by a cross-stitch unit is shared too; it is reached through its unit.
 * Empty when the tasks share no parameter (`single`, `soft`: a Laplacian penalty couples towers
 * without sharing them). The same rule as `taskParameters`, which finds the variables.
 */
export function sharedBlocks(plan: Plan): string[] {
  const users = new Map<string, Set<string>>();
  const use = (key: string, task: string) => {
    let set = users.get(key);
    if (!set) users.set(key, (set = new Set()));
    set.add(task);
  };
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const gates = new Map(plan.gates.map((g) => [g.id, g]));
  const reads = (id: string | null, task: string, seen: Set<string>) => {
    if (id === null || seen.has(id)) return;
    seen.add(id);
    const block = blocks.get(id);
    if (block) {
      use(id, task);
      reads(block.parent, task, seen);
      return;
    }
    const gate = gates.get(id);
    if (gate) {
      use(id, task);
      reads(gate.parent, task, seen);
      for (const e of gate.experts) reads(e, task, seen);
    }
  };
  for (const task of plan.tasks) reads(plan.towers[task.id]?.parent ?? null, task.id, new Set());
  const mixing: string[] = [];
  plan.couplings.forEach((c, i) => {
    if (!('tasks' in c) || c.tasks.length < 2 || getCouplingBuilder(c.kind)?.layerName === undefined) return;
    mixing.push(`${c.kind}#${i}`);
  });
  const parts = [...plan.blocks.map((b) => b.id), ...plan.gates.map((g) => g.id)].filter((id) => (users.get(id)?.size ?? 0) >= 2);
  return [...parts, ...mixing];
}

/**
 * The trainable variables two tasks or more share (`taskParameters(model).shared`, in
 * `model.trainableVariables` order): shared blocks and experts, gates serving several tasks, and
 * cross-stitch units with the tower layers they mix — the parameters through which one task's
 * gradient step reaches another task's loss.
 */
export function sharedVariables(model: MtgraphModel): tf.Variable[] {
  return taskParameters(model).shared;
}
