/** Defaults of `tune`, visible to callers (merged once in resolveTuneOptions). */
export const TUNE_DEFAULTS = Object.freeze({
  /** Search spaces tried (mmoe is added when the graph has more than 3 tasks, learned with 3 to 12 tasks). */
  strategies: Object.freeze(['single', 'hard', 'clustered', 'soft']),
  /** Trials (training runs), wall seconds and CPU seconds; the search stops at whichever comes first. */
  budget: Object.freeze({ trials: 30, seconds: Infinity, cpuSeconds: Infinity }),
  seed: 0,
  /** Share of each task's labelled rows held out for scoring when no validationData is given. */
  validationSplit: 0.2,
  /** 'mean-rank' (each task's compareBy metric ranked over the trials, ranks averaged; lower is better) or 'mean' (mean of the metrics). */
  objective: 'mean-rank',
  /** Successive halving (ASHA): rung k trains up to minEpochs * eta^k epochs, capped at maxEpochs; the best 1/eta of a rung is continued. */
  schedule: Object.freeze({ minEpochs: 3, eta: 3, maxEpochs: 81 }),
  /** Early stopping on the validation loss inside every trial (patience, in epochs, at most a third of the trial's epochs). */
  patience: 5,
  /** Rounds of ensemble selection after the search (0: none, the result has only `best`). */
  ensemble: 0,
  /** Tasks above which the learned-graph candidate is left out by default (measuring every pair grows with the square). */
  learnedMaxTasks: 12,
  /** Tasks above which mmoe is searched by default. */
  mmoeMinTasks: 4,
});

/** Trunk widths searched (each a layer stack; [] = linear heads on the inputs). */
export const TRUNK_CHOICES: readonly (readonly number[])[] = [[16], [32], [64], [64, 32]];
/**
 * Tower widths searched (private layers before each head), with at most TOWER_MAX_TASKS tasks.
 * Per-task layers are not fused: with School's 139 tasks a [16] tower made an epoch 15x slower.
 */
export const TOWER_CHOICES: readonly (readonly number[])[] = [[], [], [8], [16]];
/** Tasks above which towers are not searched (no tower). */
export const TOWER_MAX_TASKS = 16;
/** Dropout rates searched. */
export const DROPOUT_CHOICES: readonly number[] = [0, 0, 0.1, 0.2, 0.3];
/** Learning rate range searched on a log scale. */
export const LEARNING_RATE_RANGE = Object.freeze({ min: 3e-4, max: 3e-2 });
/** L2 penalty on trunk and tower kernels: 0 half of the time, else log-uniform in this range. */
export const L2_RANGE = Object.freeze({ min: 1e-6, max: 1e-2 });
/** Weight decay range (log scale) searched when an 'adamw' optimizer is registered. */
export const WEIGHT_DECAY_RANGE = Object.freeze({ min: 1e-5, max: 1e-1 });
/** Balancing methods searched (the cheap ones: one gradient per step). */
export const BALANCE_CHOICES: readonly string[] = ['static', 'static', 'uncertainty', 'dwa'];
