import { createRegistry } from '../../registry.js';
import type * as tf from '@tensorflow/tfjs';
import type { HeadPlan, PlanTask } from '../../plan/types.js';
import type { BuildContext } from '../context.js';

/**
 * How a task's head (its output layer) is built, per task kind: one file under `heads/`,
 * registered for the kinds it serves. The layer producing the output must be named
 * `ctx.names.heads.get(task.id)`; its weights are the head's weights (for head penalties).
 */
export interface HeadBuilder {
  /** The task kinds this head serves. */
  readonly kinds: readonly string[];
  /** The tfjs layer classes it adds for a head (for backend checks): a list, or a function of the head's plan. */
  readonly layerClasses: readonly string[] | ((head: HeadPlan) => readonly string[]);
  /**
   * True when the head is exactly `Dense(head.units, head.activation)` on its input: `build` may
   * then fuse the heads of several tasks that read the same tensor into one MultiHead layer (one
   * product for all of them) followed by one Columns layer per task, named by the task.
   */
  readonly fusable?: boolean;
  build(
    input: tf.SymbolicTensor,
    head: HeadPlan,
    task: PlanTask,
    ctx: BuildContext,
  ): tf.SymbolicTensor;
}

const builders = createRegistry<HeadBuilder>((b) => b.kinds);

/** Registers a head builder for each of its kinds (a later registration replaces an earlier one). */
export function registerHead(builder: HeadBuilder): HeadBuilder {
  return builders.register(builder);
}

export function getHeadBuilder(kind: string): HeadBuilder | undefined {
  return builders.get(kind);
}

/** The task kinds that have a head builder. */
export function headKinds(): string[] {
  return builders.names();
}
