import type * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { getCouplingBuilder } from '../network/couplings/index.js';
import type { Plan } from '../plan/types.js';
import { blockKey, gateKey, planPartUsers, taskParameters } from '../train/parameters.js';

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
  const addsLayer = (i: number) =>
    getCouplingBuilder(plan.couplings[i]!.kind)?.layerName !== undefined;
  const users = planPartUsers(plan, addsLayer);
  const shared = (key: string) => (users.get(key)?.size ?? 0) >= 2;
  const parts = [
    ...plan.blocks.map((b) => b.id).filter((id) => shared(blockKey(id))),
    ...plan.gates.map((g) => g.id).filter((id) => shared(gateKey(id))),
  ];
  const mixing = plan.couplings.flatMap((c, i) =>
    addsLayer(i) && 'tasks' in c && c.tasks.length >= 2 ? [`${c.kind}#${i}`] : [],
  );
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
