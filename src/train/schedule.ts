import { z } from 'zod';
import { says } from '../schema/common.js';

/**
 * Learning-rate schedules, as a function of training progress in epochs (`epoch + step / steps`,
 * so the rate changes every step and a resumed run follows the uninterrupted one exactly):
 * - `cosine`: `min + (base - min) * (1 + cos(pi * t / epochs)) / 2` (epochs: fit's epochs);
 * - `warmup-cosine`: linear from 0 up to base over `warmup` epochs, then cosine over the rest;
 * - `step`: `base * factor ^ floor(t / every)`;
 * - `exponential`: `base * rate ^ t`.
 * Each kind is one entry of SCHEDULES (a registry: adding a kind adds one entry).
 */
export interface ScheduleKind<Options> {
  readonly kind: string;
  readonly summary: string;
  readonly options: z.ZodType<Options>;
  /** The learning rate at progress `t` (epochs, fractional) of a run of `epochs` epochs. */
  rate(base: number, t: number, epochs: number, options: Options): number;
}

const positive = (name: string, example: string) =>
  z
    .number({ error: says(`schedule.${name} must be a number`, `Use e.g. ${example}.`) })
    .positive({ error: says(`schedule.${name} must be > 0`, `Use e.g. ${example}.`) });
const minRate = z
  .number({ error: says('schedule.minLearningRate must be a number', 'Use e.g. 0.') })
  .min(0, { error: says('schedule.minLearningRate must be >= 0', 'Use e.g. 0.') });
const factor = z
  .number({ error: says('schedule.factor must be a number', 'Use e.g. factor: 0.5.') })
  .gt(0, { error: says('schedule.factor must be in (0, 1]', 'Use e.g. factor: 0.5.') })
  .max(1, { error: says('schedule.factor must be in (0, 1]', 'Use e.g. factor: 0.5.') });

function cosine(base: number, min: number, t: number, span: number): number {
  const f = Math.min(Math.max(t / span, 0), 1);
  return min + ((base - min) * (1 + Math.cos(Math.PI * f))) / 2;
}

const cosineOptions = z.strictObject({
  kind: z.literal('cosine'),
  /** Epochs of the decay (default: fit's epochs); the rate stays at minLearningRate after. */
  epochs: positive('epochs', 'epochs: 20').optional(),
  minLearningRate: minRate.optional(),
});
const warmupOptions = z.strictObject({
  kind: z.literal('warmup-cosine'),
  /** Epochs of linear warm-up from 0 (fractional allowed). */
  warmup: positive('warmup', 'warmup: 1'),
  epochs: positive('epochs', 'epochs: 20').optional(),
  minLearningRate: minRate.optional(),
});
const stepOptions = z.strictObject({
  kind: z.literal('step'),
  /** Multiply by factor every `every` epochs. */
  every: positive('every', 'every: 10'),
  factor,
});
const exponentialOptions = z.strictObject({
  kind: z.literal('exponential'),
  /** Factor per epoch, applied continuously (rate ^ t). */
  rate: z
    .number({ error: says('schedule.rate must be a number', 'Use e.g. rate: 0.9.') })
    .gt(0, { error: says('schedule.rate must be in (0, 1]', 'Use e.g. rate: 0.9.') })
    .max(1, { error: says('schedule.rate must be in (0, 1]', 'Use e.g. rate: 0.9.') }),
});

/** Types a schedule kind by its options. */
function define<O>(kind: ScheduleKind<O>): ScheduleKind<O> {
  return kind;
}

export const SCHEDULES = [
  define({
    kind: 'cosine',
    summary: 'cosine decay from the learning rate to minLearningRate over epochs',
    options: cosineOptions,
    rate: (base, t, epochs, o: z.infer<typeof cosineOptions>) =>
      cosine(base, o.minLearningRate ?? 0, t, o.epochs ?? epochs),
  }),
  define({
    kind: 'warmup-cosine',
    summary: 'linear warm-up over warmup epochs, then cosine decay',
    options: warmupOptions,
    rate: (base, t, epochs, o: z.infer<typeof warmupOptions>) =>
      t < o.warmup
        ? (base * t) / o.warmup
        : cosine(base, o.minLearningRate ?? 0, t - o.warmup, (o.epochs ?? epochs) - o.warmup),
  }),
  define({
    kind: 'step',
    summary: 'multiplied by factor every `every` epochs',
    options: stepOptions,
    rate: (base, t, _epochs, o: z.infer<typeof stepOptions>) =>
      base * o.factor ** Math.floor(t / o.every + 1e-9),
  }),
  define({
    kind: 'exponential',
    summary: 'multiplied by rate each epoch, continuously',
    options: exponentialOptions,
    rate: (base, t, _epochs, o: z.infer<typeof exponentialOptions>) => base * o.rate ** t,
  }),
] as unknown as ReadonlyArray<ScheduleKind<never>>;

/** A schedule as fit's `optimizer.schedule` takes it. */
export type ScheduleOptions =
  | z.infer<typeof cosineOptions>
  | z.infer<typeof warmupOptions>
  | z.infer<typeof stepOptions>
  | z.infer<typeof exponentialOptions>;

export const ScheduleSchema = z.discriminatedUnion(
  'kind',
  [cosineOptions, warmupOptions, stepOptions, exponentialOptions],
  {
    error: says(
      "unknown schedule kind (expected 'cosine', 'step', 'exponential' or 'warmup-cosine')",
      "Write e.g. schedule: { kind: 'cosine' }.",
    ),
  },
);

/** The learning rate of `schedule` at progress t (epochs), for a run of `epochs` epochs. */
export function scheduledRate(
  base: number,
  schedule: ScheduleOptions | undefined,
  t: number,
  epochs: number,
): number {
  if (!schedule) return base;
  const kind = SCHEDULES.find((s) => s.kind === schedule.kind)!;
  return kind.rate(base, t, epochs, schedule as never);
}
