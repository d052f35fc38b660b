import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { MtgraphModel } from '../../network/types.js';
import type { PlanTask } from '../../plan/types.js';

/**
 * What a balancer works from, which decides how the trainer runs a step:
 * - 'losses': one pass; the balancer turns the vector of task losses into the scalar to minimise.
 * - 'task-gradients': one pass per task; the balancer receives every task's gradient on the
 *   shared parameters and says how to combine them. Each task's own parameters get that task's
 *   gradient (times the balancer's `own` scale).
 * - 'representation-gradients': the gradients of the task losses with respect to the shared
 *   representation (the output of the block every task reads) are handed to the balancer, whose
 *   weights then weigh the losses of one ordinary pass (MGDA-UB).
 */
export type BalanceNeeds = 'losses' | 'task-gradients' | 'representation-gradients';

/** What a balancing method is told when a training run starts. */
export interface BalanceContext<O extends object = Record<string, unknown>> {
  /** The tasks in training order: `taskLoss[i]` below is the loss of `tasks[i]`. */
  readonly tasks: readonly PlanTask[];
  readonly epochs: number;
  /** fit's seed: every random step of a balancer derives from it. */
  readonly seed: number;
  /** The method's options (options.balanceOptions), validated by its schema, defaults filled in. */
  readonly options: O;
  /** The model being trained (read it; the trainer owns it). */
  readonly model: MtgraphModel;
  /** fit's optimizer, for methods that learn weights of their own (gradnorm). */
  readonly optimizer: { readonly name: string; readonly learningRate: number };
}

/** The combined objective of one step. */
export interface Combined {
  /** The scalar to minimise (without the model's penalties, which the trainer adds). */
  total: tf.Scalar;
  /** The weight given to each task this step, `[tasks]` (recorded in the History). */
  weights: tf.Tensor1D;
}

/**
 * The per-task gradients of one step, computed once by the trainer and shared with the balancer.
 * Rows follow the training order of the tasks. Tensors belong to the step (freed after it).
 */
export interface TaskGradients {
  /** Each task's loss this step, `[tasks]`. */
  readonly losses: tf.Tensor1D;
  /**
   * Row t: task t's gradient, flattened. On the shared parameters ('task-gradients'; columns in
   * `TaskParameters.shared` order) or on the shared representation ('representation-gradients').
   */
  readonly matrix: tf.Tensor2D;
  /** `matrix · matrixᵀ`, `[tasks, tasks]`: every dot product between task gradients (computed once). */
  gram(): tf.Tensor2D;
  /** The rows restricted to the kernels of the last shared layers (`TaskParameters.last`), `[tasks, Q]`; Q = 0 in representation mode. */
  last(): tf.Tensor2D;
}

/** How a gradient balancer combines the per-task gradients of one step. */
export interface GradientCombination {
  /**
   * Per-task weights `[tasks]`, recorded in the History: the shared parameters move along
   * `sum_t weights_t * g_t` unless `shared` says otherwise (so for a method whose update is a
   * combination of the task gradients, these are its effective coefficients).
   */
  weights: tf.Tensor1D;
  /** The combined gradient on the shared parameters, `[columns of matrix]`, when it is not `weightsᵀ · matrix`. */
  shared?: tf.Tensor1D;
  /** The factor on each task's gradient on its own parameters, `[tasks]` (default 1). */
  own?: tf.Tensor1D;
}

interface BalancerBase {
  /** Called after each epoch with the epoch's mean loss per task (training order), e.g. for DWA. */
  onEpochEnd?(epoch: number, taskLoss: readonly number[]): void;
  /**
   * The balancer's state between steps as plain JSON values (numbers, arrays, objects; NaN and
   * infinities are kept), saved in fit's checkpoints: learned weights, loss records, random
   * streams. A balancer without state leaves it out; one that has state but no getState resumes
   * from its initial state (so a resumed run is not the uninterrupted run).
   */
  getState?(): unknown | Promise<unknown>;
  /** Restores what getState returned when fit resumes from a checkpoint; throws when it does not fit. */
  setState?(state: unknown): void | Promise<void>;
  /** Frees the balancer's tensors and variables. */
  dispose(): void;
}

/**
 * A balancer that weighs the losses. `combine` runs inside `tf.variableGrads` every step; tensors
 * it returns may be its own long-lived ones (the trainer never disposes them).
 */
export interface LossBalancer extends BalancerBase {
  readonly needs?: 'losses';
  combine(taskLoss: tf.Tensor1D): Combined;
  /** Variables the balancer learns with the model (e.g. log-variances); default none. */
  readonly variables?: readonly tf.Variable[];
}

/**
 * A balancer that works on per-task gradients. `combineGradients` runs inside the step's
 * `tf.tidy`; it may read small tensors back (the Gram matrix) and update its own state.
 */
export interface GradientBalancer extends BalancerBase {
  readonly needs: 'task-gradients' | 'representation-gradients';
  combineGradients(gradients: TaskGradients): GradientCombination;
}

/** One run's balancer. */
export type Balancer = LossBalancer | GradientBalancer;

/** A balancing method: registered by name, creates one balancer per training run. */
export interface BalanceMethod<O extends object = Record<string, unknown>> {
  readonly name: string;
  /** One sentence for docs and errors. */
  readonly summary: string;
  /** What the method works from by default (its balancer may say otherwise for some options). */
  readonly needs: BalanceNeeds;
  /** Schema of options.balanceOptions for this method (a strict object; every key optional). */
  readonly options: z.ZodType<Partial<O>>;
  /** The default of every option. */
  readonly defaults: Readonly<O>;
  create(context: BalanceContext<O>): Balancer;
}

/** Types a method's options from its schema and defaults (an identity at run time). */
export function defineBalance<O extends object>(method: BalanceMethod<O>): BalanceMethod<O> {
  return method;
}
