import * as tf from '@tensorflow/tfjs';
import { PlanError } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { SerializedTaskGraph } from '../schema/serialized.js';
import type { ModelParts } from './context.js';
import { getCouplingBuilder } from './couplings/registry.js';
import { fusedHeadOf, type LayerNames } from './names.js';
import type { MtgraphModel, Penalty } from './types.js';

/** The model `build` and `loadModel` return: a tfjs model with its plan, penalties and names. */
class BuiltModel implements MtgraphModel {
  readonly outputIndex: ReadonlyMap<string, number>;
  private disposed = false;

  constructor(
    readonly model: tf.LayersModel,
    readonly plan: Plan,
    readonly layerNames: LayerNames,
    readonly penalties: readonly Penalty[],
    readonly graph: SerializedTaskGraph | undefined,
    public metadata: Record<string, unknown>,
  ) {
    this.outputIndex = new Map(plan.tasks.map((t, i) => [t.id, i]));
  }

  get trainableVariables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  penalty(): tf.Scalar {
    if (this.penalties.length === 0) return tf.scalar(0);
    return tf.tidy(() => tf.addN(this.penalties.map((p) => p.value())) as tf.Scalar);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

export interface AssembleOptions {
  graph?: SerializedTaskGraph;
  metadata?: Record<string, unknown>;
}

/** Wraps a tfjs model made from `plan` (built or loaded) and attaches the plan's penalties. */
export function assemble(
  model: tf.LayersModel,
  plan: Plan,
  names: LayerNames,
  options: AssembleOptions = {},
): MtgraphModel {
  const parts: ModelParts = {
    model,
    plan,
    names,
    towerDense: (task, index) => model.getLayer(names.towers.get(task)![index]!.dense),
    head: (task) => {
      const fusedIn = fusedHeadOf(names, task);
      if (fusedIn)
        throw new PlanError(
          `mtgraph/build: the head of "${task}" is fused into layer "${fusedIn.layer}" with ${fusedIn.tasks.length - 1} other head(s), so it has no variables of its own → at couplings. A coupling that reads heads must list them in its builder's headTasks(), and read fused heads from their layer when it sets fusedHeads.`,
          { path: 'couplings', got: task },
        );
      return model.getLayer(names.heads.get(task)!);
    },
  };
  const penalties = plan.couplings.flatMap(
    (c, i) => getCouplingBuilder(c.kind)?.penalties?.(c, i, parts) ?? [],
  );
  return new BuiltModel(model, plan, names, penalties, options.graph, options.metadata ?? {});
}
