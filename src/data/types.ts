import type * as tf from '@tensorflow/tfjs';

/** A row-major matrix given as flat values and a shape `[rows, columns]`. */
export interface FlatMatrix {
  values: Float32Array | Float64Array | Int32Array | readonly number[];
  shape: readonly [number, number] | readonly number[];
}

/** Features: a rank-2 tensor, rows of numbers, or flat values with a shape. */
export type FeatureInput = tf.Tensor | readonly (readonly number[])[] | FlatMatrix;

/** One label (a number, a boolean for 0/1 labels, a class name, or null / NaN / -1 for a missing label). */
export type LabelValue = number | boolean | string | null | undefined;

/**
 * A task's labels, one entry per row of x: a list or typed array (one label per row), rows of
 * labels (multi-output regression, multilabel), a tensor ([n] or [n, width]), or flat values with a shape.
 */
export type LabelInput =
  | tf.Tensor
  | readonly LabelValue[]
  | readonly (readonly LabelValue[])[]
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | FlatMatrix;

/** A task's mask: 1 (or true) where the label counts, 0 where it is missing; one per row, or one per label column. */
export type MaskInput =
  | tf.Tensor
  | readonly (number | boolean)[]
  | readonly (readonly (number | boolean)[])[]
  | Float32Array
  | Float64Array
  | Int32Array
  | Uint8Array
  | FlatMatrix;

/** Training or evaluation data in memory: features and, per task, labels and an optional mask. */
export interface TaskData {
  x: FeatureInput;
  y: Readonly<Record<string, LabelInput>>;
  mask?: Readonly<Record<string, MaskInput>>;
}

/** One task's labels after validation: `width` columns per row, missing entries 0 with mask 0. */
export interface PreparedTask {
  id: string;
  /** Label columns per row (outputs for regression, 1 for binary and multiclass, labels for multilabel). */
  width: number;
  /** rows * width labels (class index for multiclass); 0 where missing. */
  labels: Float32Array;
  /** rows * width, 1 where labelled. */
  mask: Float32Array;
  /** Rows with at least one label. */
  labelled: number;
  /** The user excluded the task on purpose (no labels and an all-zero mask). */
  excluded: boolean;
}

/** Validated data, still on the host: features and per-task labels + masks, in `plan.tasks` order. */
export interface PreparedData {
  rows: number;
  features: number;
  /** rows * features, row-major. */
  x: Float32Array;
  tasks: PreparedTask[];
}
