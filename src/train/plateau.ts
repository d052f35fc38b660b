/** Options of fit's `reduceLrOnPlateau` (as Keras's ReduceLROnPlateau), resolved. */
export interface PlateauOptions {
  /** Epochs without improvement before the rate is multiplied by factor. */
  patience: number;
  /** In (0, 1): the multiplier (default 0.1). */
  factor: number;
  monitor: 'val_loss' | 'loss';
  /** An improvement must exceed this (default 0). */
  minDelta: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown: number;
  /** The rate never goes below this (default 0). */
  minLearningRate: number;
}

/** Reduce-on-plateau's state between epochs (saved in checkpoints). */
export interface PlateauState {
  /** The factor applied to the (scheduled) learning rate: a product of reductions. */
  scale: number;
  best: number;
  wait: number;
  cooldown: number;
}

export function initialPlateau(): PlateauState {
  return { scale: 1, best: Infinity, wait: 0, cooldown: 0 };
}

/**
 * The state after an epoch whose monitored value is `value`; `rate` is the learning rate the epoch
 * ended with (the floor minLearningRate applies to it). A NaN value counts as no improvement.
 */
export function plateauStep(
  state: PlateauState,
  value: number,
  rate: number,
  o: PlateauOptions,
): PlateauState {
  const next = { ...state };
  if (next.cooldown > 0) {
    next.cooldown--;
    next.wait = 0;
  }
  if (value < next.best - o.minDelta) {
    next.best = value;
    next.wait = 0;
    return next;
  }
  if (next.cooldown > 0) return next;
  next.wait++;
  if (next.wait >= Math.max(1, o.patience)) {
    const reduced = Math.max(rate * o.factor, o.minLearningRate);
    if (rate > 0 && reduced < rate) next.scale *= reduced / rate;
    next.wait = 0;
    next.cooldown = o.cooldown;
  }
  return next;
}
