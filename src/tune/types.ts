/** One training run of the search: a candidate trained up to its rung's epochs and scored on the validation rows. */
export interface TuneTrial {
  /** 0, 1, 2, ... in the order trials ran. */
  id: number;
  /** The candidate (a point of a search space) this run trains; a promoted candidate runs again at the next rung. */
  candidate: number;
  /** Successive-halving rung (0 = the shortest runs). */
  rung: number;
  /** The search space it came from ('single', 'soft', 'learned', ...). */
  space: string;
  /** The plan's strategy. */
  strategy: string;
  /** The options given to plan (with the seed). */
  planOptions: Record<string, unknown>;
  /** The options given to fit (without the data, early stopping and callbacks). */
  fitOptions: Record<string, unknown>;
  /** The most epochs this rung allows. */
  maxEpochs: number;
  /** Epochs trained, and the epoch (1-based count) whose weights were scored (early stopping restores them). */
  epochs: number;
  bestEpochs: number;
  params: number;
  seconds: number;
  /** 'done' (scored), 'failed' (training diverged: error says how), 'cut' (the time budget ran out during the run: scored at its best epoch when it finished one). */
  status: 'done' | 'failed' | 'cut';
  error?: string;
  /** Each task's compareBy score on the validation rows (r2, auc, accuracy or mean-auc by its kind). */
  scores: Record<string, number>;
  /** The objective's value: the mean rank among every scored trial with 'mean-rank' (lower is better), else the objective (higher is better). */
  value: number;
}

/** The best candidate: what to pass to `plan` and `fit` to train it again (on train + validation: no early stopping, its best epoch count). */
export interface TuneBest {
  strategy: string;
  space: string;
  planOptions: Record<string, unknown>;
  fitOptions: Record<string, unknown>;
  /** Its trial's validation scores: the objective's value, and each task's compareBy metric and score. */
  score: {
    objective: string;
    value: number;
    tasks: Record<string, { metric: string; value: number }>;
  };
  trial: number;
}

/** A trial chosen for the ensemble: its weight, and what to pass to `plan` and `fit` to train it again. */
export interface TuneEnsembleMember {
  trial: number;
  /** Its share of the ensemble's mean (the times ensemble selection chose it / the rounds kept); the weights sum to 1. */
  weight: number;
  strategy: string;
  space: string;
  planOptions: Record<string, unknown>;
  /** As TuneBest's: its trial's best epoch count, without early stopping. */
  fitOptions: Record<string, unknown>;
}

/**
 * The weighted mean of several trials' predictions chosen on the validation rows (options.ensemble);
 * train it with `fitEnsemble`, predict with `predictEnsemble`.
 */
export interface TuneEnsemble {
  members: TuneEnsembleMember[];
  /** Rounds of ensemble selection (options.ensemble); the best prefix of them is kept. */
  rounds: number;
  /**
   * The ensemble's validation scores: the objective's value ('mean' of the tasks' compareBy
   * scores when the objective is 'mean-rank' or 'mean'), and each task's compareBy score.
   */
  score: TuneBest['score'];
}

/** What the progress callback receives after each trial. */
export interface TuneProgress {
  trial: TuneTrial;
  /** The best so far (undefined until a trial is scored). */
  best: TuneTrial | undefined;
  trials: number;
  budget: { trials: number; seconds: number; cpuSeconds: number };
  /** Wall seconds and this process's CPU seconds since the search started (cpuSeconds NaN without a CPU clock). */
  seconds: number;
  cpuSeconds: number;
}

/** What `tune` returns. */
export interface TuneResult {
  best: TuneBest;
  /** With options.ensemble: the trials whose mean predicts the validation rows best (ensemble selection). */
  ensemble?: TuneEnsemble;
  /** Every trial, in the order they ran. */
  trials: TuneTrial[];
  /** The spaces searched, the objective, and why the search stopped. */
  strategies: string[];
  objective: string;
  stopped: 'trials' | 'seconds' | 'cpuSeconds';
  /** Wall seconds and this process's CPU seconds the search took (cpuSeconds NaN without a CPU clock). */
  seconds: number;
  cpuSeconds: number;
  /** Rows the trials trained on and were scored on. */
  rows: { train: number; valid: number };
  notes: string[];
}
