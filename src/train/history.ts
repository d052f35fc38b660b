/** What `onEpochEnd` receives after each epoch. Per-task values are keyed by task id. */
export interface EpochLogs {
  /** 0-based epoch index, as in Keras and tfjs callbacks: the epoch's number is `epoch + 1`. */
  epoch: number;
  /**
   * Mean over the epoch's batches of the step objective: sum_t weight_t * loss_t + penalty (for
   * `uncertainty` plus its sum_t s_t / 2 term, which can be negative).
   */
  loss: number;
  /** Each task's masked mean loss over the epoch's labelled rows (NaN when it had none). */
  taskLoss: Record<string, number>;
  /**
   * The balancing weights, averaged over the epoch's steps. For loss-weighting methods the factor
   * of each task's loss; for gradient methods the effective coefficient of each task's gradient in
   * the shared update (`sum_t weight_t * g_t`): mgda's weights sum to 1, pcgrad's exceed 1 where a
   * projection added a multiple of another task's gradient.
   */
  weights: Record<string, number>;
  /** The coupling penalties and layer regularisers, averaged over the epoch's steps. */
  penalty: number;
  /** Validation objective with the epoch's mean weights, and per-task validation losses (when there is validation data). */
  valLoss?: number;
  valTaskLoss?: Record<string, number>;
  /**
   * Each task's metrics (`{ [task]: { [metric]: value } }`, as `evaluate` reports them) at the end
   * of the epoch, on the training data when there is no validation data; present on the epochs
   * metrics are computed for (options `metrics`, `metricsEvery`).
   */
  metrics?: Record<string, Record<string, number>>;
  /** The same on the validation data, when there is any. */
  valMetrics?: Record<string, Record<string, number>>;
  /** Wall time of the epoch in milliseconds (training, validation, metrics and the read-back). */
  timeMs: number;
  /** The learning rate of the epoch's last step (with a schedule or reduceLrOnPlateau). */
  learningRate?: number;
}

/** What `fit` returns: per-epoch losses, metrics, balancing weights and timing. Arrays have one entry per epoch run. */
export interface History {
  epochs: number;
  loss: number[];
  taskLoss: Record<string, number[]>;
  /** Each task's balancing weight per epoch, for every method (see EpochLogs.weights). */
  weights: Record<string, number[]>;
  penalty: number[];
  /** The learning rate of each epoch's last step (with a schedule or reduceLrOnPlateau). */
  learningRate?: number[];
  valLoss?: number[];
  valTaskLoss?: Record<string, number[]>;
  /**
   * Per task, per metric, one value per epoch (NaN on epochs skipped by `metricsEvery`): on the
   * training data when there is no validation data (`metrics`), else on the validation data
   * (`valMetrics`). Absent with `metrics: false`.
   */
  metrics?: Record<string, Record<string, number[]>>;
  valMetrics?: Record<string, Record<string, number[]>>;
  /**
   * With early stopping: the NUMBER of the best epoch by the monitored value, counted from 1 as
   * the CLI, the report and Keras's messages count epochs ("best epoch 10"); its values are at
   * index `bestEpoch - 1` of the per-epoch arrays (`valLoss[bestEpoch - 1]`), and it is the epoch
   * whose `onEpochEnd(epoch)` had `epoch === bestEpoch - 1`. The model holds its weights when
   * restoreBestWeights (the default).
   */
  bestEpoch?: number;
  /** True when early stopping ended training before `epochs`. */
  stoppedEarly: boolean;
  /**
   * What `fit` noticed about the data that may hurt training and how to fix it, as sentences
   * (empty when nothing): e.g. regression targets whose sizes differ by 100x or more without a
   * target scale (see targetScale).
   */
  notes: string[];
  /** The seed of shuffling (and of a shuffled validation split). */
  seed: number;
  /** Rows used for training and for validation. */
  trainRows: number;
  valRows: number;
  timing: {
    /** Validating the data and creating the tensors. */
    prepareMs: number;
    epochMs: number[];
    totalMs: number;
    /** Training rows per second over all epochs (training steps, validation and read-backs included). */
    samplesPerSecond: number;
  };
}
