import { createRegistry } from '../../registry.js';
import type * as tf from '@tensorflow/tfjs';
import type { CouplingPlan, Plan } from '../../plan/types.js';
import type { Penalty } from '../types.js';
import type { BuildContext, ModelParts } from '../context.js';

/**
 * How one kind of Plan coupling becomes part of a model: one file under `couplings/`,
 * registered by kind. Every hook is optional; `build` and `loadModel` never branch on a kind.
 */
export interface CouplingBuilder<C extends CouplingPlan = CouplingPlan> {
  readonly kind: C['kind'];
  /** The tfjs layer classes this coupling adds to a model (for backend checks). */
  readonly layerClasses: readonly string[];
  /** The wished name of the layer this coupling adds, if it adds one. */
  layerName?(coupling: C, index: number): string;
  /** The wished names of the layers that take that layer's parts (one per task it mixes), if any. */
  partNames?(coupling: C, index: number): string[];
  /**
   * The tasks whose head weights the coupling reads. Their heads are fused into a MultiHead only
   * when the builder sets `fusedHeads` and all of them would be fused into the same one.
   */
  headTasks?(coupling: C): readonly string[];
  /** Whether `penalties` can read heads fused into one MultiHead layer (its kernel's columns). */
  readonly fusedHeads?: boolean;
  /** Checks the coupling against the rest of the plan; throws a PlanError naming `path`. */
  check?(coupling: C, plan: Plan, path: string): void;
  /** Runs after tower layer `layer` of every task is built; may replace tower outputs in `towers`. */
  afterTowerLayer?(
    coupling: C,
    index: number,
    layer: number,
    towers: Map<string, tf.SymbolicTensor>,
    ctx: BuildContext,
  ): void;
  /** The penalties of the coupling on a built or loaded model. */
  penalties?(coupling: C, index: number, parts: ModelParts): Penalty[];
}

const builders = createRegistry<CouplingBuilder>((b) => b.kind);

/** Registers how a coupling kind is built (a later registration replaces an earlier one). */
export function registerCouplingBuilder<C extends CouplingPlan>(
  builder: CouplingBuilder<C>,
): CouplingBuilder<C> {
  builders.register(builder as unknown as CouplingBuilder);
  return builder;
}

export function getCouplingBuilder(kind: string): CouplingBuilder | undefined {
  return builders.get(kind);
}

/** The coupling kinds `build` knows. */
export function couplingKinds(): string[] {
  return builders.names();
}
