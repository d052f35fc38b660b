import type * as tf from '@tensorflow/tfjs';
import type { PlanTask } from '../../plan/types.js';

/** What a balancing method is told when a training run starts. */
export interface BalanceContext {
  /** The tasks in training order: `taskLoss[i]` below is the loss of `tasks[i]`. */
  readonly tasks: readonly PlanTask[];
  readonly epochs: number;
  readonly seed: number;
}

/** The combined objective of one step. */
export interface Combined {
  /** The scalar to minimise (without the model's penalties, which the trainer adds). */
  total: tf.Scalar;
  /** The weight given to each task this step, `[tasks]` (recorded in the History). */
  weights: tf.Tensor1D;
}

/**
 * One run's balancer. `combine` runs inside `tf.variableGrads` every step; tensors it returns may
 * be its own long-lived ones (the trainer never disposes them).
 */
export interface Balancer {
  combine(taskLoss: tf.Tensor1D): Combined;
  /** Variables the balancer learns with the model (e.g. log-variances); default none. */
  readonly variables?: readonly tf.Variable[];
  /** Called after each epoch with the epoch's mean loss per task (training order), e.g. for DWA. */
  onEpochEnd?(epoch: number, taskLoss: readonly number[]): void;
  /** Frees the balancer's tensors. */
  dispose(): void;
}

/** A balancing method: registered by name, creates one balancer per training run. */
export interface BalanceMethod {
  readonly name: string;
  /** One sentence for docs and errors. */
  readonly summary: string;
  create(context: BalanceContext): Balancer;
}
