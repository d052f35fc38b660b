import type { Activation } from '../schema/common.js';
import type { TaskKindName } from '../schema/kinds/index.js';
import type { InputSpec } from '../schema/graph-attributes.js';

/** The Plan format version this code writes and reads. */
export const PLAN_VERSION = 1 as const;

/** One dense layer. */
export interface LayerPlan {
  units: number;
  activation: Activation;
  /** Dropout rate after the layer (0 = none). */
  dropout: number;
  batchNorm: boolean;
  /** L2 penalty on the kernel, `l2 * sum(W²)` added to the training loss; absent when 0. */
  l2?: number;
}

/** A task as the Plan sees it. */
export interface PlanTask {
  id: string;
  kind: TaskKindName;
  /** Head width (1 for binary, classes for multiclass, labels for multilabel, outputs for regression). */
  outputs: number;
  outputNames: string[];
  loss: string;
  /** Settings of the loss (e.g. focal's gamma and alpha), when the task gives any. */
  lossOptions?: Record<string, number>;
  /**
   * A binary task this binary task can only follow: the model outputs p(condition) × p(task |
   * condition), and the task's loss reads that product over all rows (ESMM).
   */
  condition?: string;
  /** Tasks whose tower outputs (what their heads read) join this task's tower input, in this order (AITM). */
  reads?: string[];
  /** With reads: this task's loss does not train the towers it reads. */
  readsStopGradient?: boolean;
  /** The task's own feature columns (names as given), joined to its tower input. */
  inputs?: string[];
  /** Their indexes among the model input columns (a one-hot encoded column gives all of its columns). */
  inputColumns?: number[];
  /**
   * With inputs: the tower reads its input columns (and the towers it reads) instead of the shared
   * representation; its tower's parent is then null and its loss does not train any block.
   */
  inputsOnly?: boolean;
  weight: number;
  target: string[];
  metrics: string[];
}

/**
 * A shared stack of layers. `parent` is the id of the block or gate whose output it reads
 * (null = the network input). Without gates the blocks form a tree; `tasks` are the tasks
 * whose path goes through the block.
 */
export interface BlockPlan {
  id: string;
  parent: string | null;
  tasks: string[];
  layers: LayerPlan[];
  /** 'shared' for trunk and group blocks, 'expert' for mixture-of-experts experts. */
  role: 'shared' | 'expert';
}

/** A task's private stack: reads `parent` (a block id, a gate id, or null = the input). */
export interface TowerPlan {
  parent: string | null;
  layers: LayerPlan[];
}

/** A task's output layer and loss. */
export interface HeadPlan {
  units: number;
  activation: 'linear' | 'sigmoid' | 'softmax';
  loss: string;
  /**
   * Regression only: the head outputs `mean[i] + std[i] * z[i]` (one value per output), and the
   * loss compares z with the standardised labels. Absent: outputs as they are.
   */
  scale?: { mean: number[]; std: number[] };
}

/**
 * A softmax gate mixing expert outputs: `weights = softmax(dense(parent))`,
 * `output = sum_e weights[e] * expert_e`. `task` is null for PLE's shared gates.
 */
export interface GatePlan {
  id: string;
  task: string | null;
  parent: string | null;
  experts: string[];
}

/** A graph-Laplacian penalty `strength * sum_(a,b,w) w * ||W_a - W_b||^2` on one tower layer (or the heads). */
export interface LaplacianCoupling {
  kind: 'laplacian';
  /** Tower layer index (0 = the first tower layer), or 'head' for the output layers. */
  layer: number | 'head';
  strength: number;
  pairs: Array<[string, string, number]>;
}

/** A cross-stitch unit after tower layer `after`: `out_i = sum_j alpha[i][j] * tower_j`. */
export interface CrossStitchCoupling {
  kind: 'cross-stitch';
  after: number;
  tasks: string[];
  alpha: number[][];
}

export type CouplingPlan = LaplacianCoupling | CrossStitchCoupling;

/**
 * An embedded input column: its ids (input column `index`) look up rows of a trainable table
 * `[rows, dim]` shared by all tasks; the looked-up vectors join the other (numeric) input columns.
 */
export interface EmbeddingPlan {
  column: string;
  /** Index of the column among the model input columns. */
  index: number;
  dim: number;
  /** Rows of the table. */
  rows: number;
  /**
   * How the column's values become ids before the model reads them:
   * - 'vocabulary': the value (as text) is looked up in `vocabulary`: id 1 + its position, 0 (the
   *   out-of-vocabulary row) when absent;
   * - 'hash': the stable hash (FNV-1a, 32 bit, of the value's UTF-8 text) modulo `buckets`;
   * - 'ids': the data holds the ids already (a CSV preprocessing encoded them); a value that is no
   *   whole number in [0, rows) reads row 0.
   */
  lookup: 'vocabulary' | 'hash' | 'ids';
  vocabulary?: string[];
  buckets?: number;
  /** Values seen fewer times when fitting folded into row 0. */
  minCount?: number;
}

export interface ParamCount {
  total: number;
  /** Parameters of each embedded column's table (rows × dim). */
  embeddings?: Record<string, number>;
  blocks: Record<string, number>;
  towers: Record<string, number>;
  heads: Record<string, number>;
  gates: Record<string, number>;
  couplings: number;
}

/** The plain-JSON description of a multi-task network. Deterministic for a graph, options and seed. */
export interface Plan {
  version: typeof PLAN_VERSION;
  strategy: string;
  /** The strategy asked for (differs from `strategy` for 'auto'). */
  requested: string;
  seed: number;
  name?: string;
  input: InputSpec;
  /** Embedded input columns, in input order (absent: none). */
  embeddings?: EmbeddingPlan[];
  tasks: PlanTask[];
  blocks: BlockPlan[];
  towers: Record<string, TowerPlan>;
  heads: Record<string, HeadPlan>;
  couplings: CouplingPlan[];
  gates: GatePlan[];
  /** Task groups, for strategies that group tasks (clustered, tree's first split). */
  groups?: string[][];
  params: ParamCount;
  notes: string[];
}
