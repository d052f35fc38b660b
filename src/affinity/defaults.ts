/** The defaults of `measureAffinity`, visible to callers. */
export const AFFINITY_DEFAULTS = Object.freeze({
  method: 'lookahead',
  /** Drop learned edges with |weight| below this (0 keeps every measured pair). */
  threshold: 0,
  seed: 0,
  /** label-correlation: fewest rows labelled for both tasks before a pair gets an edge. */
  minRows: 10,
  /**
   * lookahead / gradient-cosine: joint training steps (warm-up included). Short on purpose: the
   * tasks' interplay shows while the shared representation is being learned; near convergence
   * what is left is competition over each task's noise, which makes even related tasks look
   * conflicting (measured on generated families: within-group affinity falls below zero).
   */
  steps: 50,
  /**
   * Joint steps before the first measurement (at most half the steps): with the heads still
   * random, the tasks' gradients on the trunk are unrelated whatever the tasks.
   */
  warmup: 10,
  /** Measure at every n-th step after the warm-up. */
  measureEvery: 1,
  batchSize: 32,
  /** Learning rate of the lookahead SGD step on the shared parameters. */
  lookaheadRate: 0.01,
  /** Optimizer of the joint training steps. */
  optimizer: Object.freeze({ name: 'adam', learningRate: 0.01 }),
  /** How lookahead affinities are scaled into [-1, 1]: by each task's own lookahead gain ('self') or by the largest |value| ('max'). */
  scale: 'self',
  /** The plan the model is built from when no model is given. */
  plan: Object.freeze({ strategy: 'hard' }),
} as const);

/** Largest number of tasks `groupTasks` searches exhaustively (Bell(12) ≈ 4.2 million partitions at most). */
export const EXHAUSTIVE_MAX_TASKS = 12;
