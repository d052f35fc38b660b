import type * as tf from '@tensorflow/tfjs';
import type { ResolvedFitOptions } from './options.js';
import { initialPlateau, plateauStep, type PlateauState } from './plateau.js';
import { scheduledRate } from './schedule.js';
import { learningRateOf, setLearningRate } from './optimizer-knobs.js';

/**
 * The learning rate of a run, step by step: the schedule's rate at the run's progress (epoch +
 * step / steps per epoch) times reduce-on-plateau's factor. Both depend only on the epoch, the step
 * and the saved plateau state, so a resumed run sets the rates of the uninterrupted one.
 */
export class RateControl {
  /** False without a schedule and without reduceLrOnPlateau: the rate is never touched. */
  readonly active: boolean;
  private plateau: PlateauState;

  constructor(
    private readonly optimizer: tf.Optimizer,
    private readonly opts: ResolvedFitOptions,
    private readonly stepsPerEpoch: number,
    restored?: PlateauState,
  ) {
    this.active = opts.optimizer.schedule !== undefined || opts.reduceLrOnPlateau !== undefined;
    this.plateau = restored ?? initialPlateau();
  }

  /** The rate for step `step` (0-based) of epoch `epoch`. */
  rateAt(epoch: number, step: number): number {
    const { learningRate, schedule } = this.opts.optimizer;
    const t = epoch + step / this.stepsPerEpoch;
    return scheduledRate(learningRate, schedule, t, this.opts.epochs) * this.plateau.scale;
  }

  /** Sets the optimizer's rate before a step. */
  beforeStep(epoch: number, step: number): void {
    if (this.active) setLearningRate(this.optimizer, this.rateAt(epoch, step));
  }

  /** The rate the optimizer holds now. */
  get rate(): number {
    return learningRateOf(this.optimizer);
  }

  /** After an epoch: reduce-on-plateau looks at its monitored value (loss or val_loss). */
  endEpoch(logs: { loss: number; valLoss?: number }): void {
    const p = this.opts.reduceLrOnPlateau;
    if (!p) return;
    const value = p.monitor === 'val_loss' ? (logs.valLoss ?? NaN) : logs.loss;
    this.plateau = plateauStep(this.plateau, value, this.rate, p);
  }

  /** Reduce-on-plateau's state, for checkpoints (undefined without it). */
  get state(): PlateauState | undefined {
    return this.opts.reduceLrOnPlateau ? { ...this.plateau } : undefined;
  }
}
