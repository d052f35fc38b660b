import type * as tf from '@tensorflow/tfjs';
import type { Plan } from '../plan/types.js';
import type { LayerNames } from './names.js';

/** A tfjs kernel initialiser. */
export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/** What the parts of `build` (stacks, gates, heads, couplings) share while the model is made. */
export interface BuildContext {
  readonly plan: Plan;
  readonly names: LayerNames;
  /** The build seed (initialisers and dropout streams derive theirs from it and a layer name). */
  readonly seed: number;
  /** The kernel initialiser of the named layer: glorotUniform with a seed derived from the build seed and the name. */
  kernelInitializer(layer: string): Initializer;
  /** Records a new layer so that a failed build can free its weights; returns it. */
  track<L extends tf.layers.Layer>(layer: L): L;
}

/** The built (or loaded) model's layers, as the plan names them: what penalties read. */
export interface ModelParts {
  readonly model: tf.LayersModel;
  readonly plan: Plan;
  readonly names: LayerNames;
  /** The Dense layer of tower layer `index` of `task`. */
  towerDense(task: string, index: number): tf.layers.Layer;
  /** The output (head) layer of `task`. */
  head(task: string): tf.layers.Layer;
}
