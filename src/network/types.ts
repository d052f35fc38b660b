import type * as tf from '@tensorflow/tfjs';
import type { Plan } from '../plan/types.js';
import type { SerializedTaskGraph } from '../schema/serialized.js';
import type { LayerNames } from './names.js';

/**
 * A cross-task regulariser attached to a built model (from a Plan coupling). `value()` computes
 * the penalty from the current weights; call it inside `tf.tidy` / `tf.variableGrads`.
 */
export interface Penalty {
  /** e.g. 'laplacian:tower.0' */
  readonly name: string;
  readonly kind: 'laplacian';
  value(): tf.Scalar;
}

/**
 * What `build(plan)` returns: the joint tfjs model and what it was built from.
 * Contract shared by build, train and io.
 */
export interface MtgraphModel {
  /**
   * One model, one named output per task, in `plan.tasks` order. Output `i` is task
   * `plan.tasks[i].id`; its layer is named by the task id, sanitised when the id holds characters
   * tfjs layer names cannot (see `layerNames.heads`), so look tasks up with `outputIndex`.
   */
  readonly model: tf.LayersModel;
  readonly plan: Plan;
  /** The task graph the plan came from, when known (graphology serialized JSON). */
  readonly graph?: SerializedTaskGraph;
  /** Coupling penalties (soft sharing); empty for other strategies. Learned mixings (cross-stitch, gates) live inside `model`. */
  readonly penalties: readonly Penalty[];
  /** Sum of every penalty (a scalar 0 when there are none). Call inside tf.tidy / variableGrads. */
  penalty(): tf.Scalar;
  /** The model's trainable variables: pass these, and only these, to variableGrads / optimizers. */
  readonly trainableVariables: tf.Variable[];
  /** Index of each task id among the model outputs. */
  readonly outputIndex: ReadonlyMap<string, number>;
  /** The tfjs layer name of every part of the plan (blocks, gates, towers, heads, couplings): `model.getLayer(name)`. */
  readonly layerNames: LayerNames;
  /** Training metadata carried through save/load (epochs trained, seed, balance, preprocessing...). */
  metadata: Record<string, unknown>;
  /** Frees every tensor of the model. */
  dispose(): void;
}
