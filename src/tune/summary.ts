import type { TuningSummary, SettingValue } from '../viz/tune-section.js';
import type { TuneResult, TuneTrial } from './types.js';

const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );
const numberOr = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const units = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.every((u) => typeof u === 'number') ? (v as number[]) : undefined;

/** A trial's searched settings, flat (the report's table and chart): rates, widths, dropout, strength... */
export function trialSettings(t: TuneTrial): Record<string, SettingValue> {
  const p = t.planOptions;
  const trunk = units(get(p, 'trunk', 'units'));
  const tower = units(get(p, 'tower', 'units'));
  const groups = get(p, 'clustered', 'groups');
  return {
    learningRate: numberOr(get(t.fitOptions, 'optimizer', 'learningRate')),
    weightDecay: numberOr(get(t.fitOptions, 'optimizer', 'weightDecay')),
    balance: typeof t.fitOptions.balance === 'string' ? t.fitOptions.balance : null,
    trunk: trunk ? `[${trunk.join(',')}]` : null,
    width: trunk ? trunk.reduce((a, b) => a + b, 0) : null,
    tower: tower ? `[${tower.join(',')}]` : null,
    dropout: numberOr(get(p, 'trunk', 'dropout')),
    l2: numberOr(get(p, 'trunk', 'l2')),
    strength: numberOr(get(p, 'soft', 'strength')),
    experts: numberOr(get(p, 'mmoe', 'experts')),
    resolution: numberOr(get(p, 'clustered', 'resolution')),
    groups: Array.isArray(groups) ? groups.length : null,
  };
}

/**
 * The report's view of a tune result (renderReport's `tuning`): every trial with its flat
 * settings and score, and the best's per-task validation scores, with `test` scores per task
 * (the best retrained and scored on test rows) when given.
 */
export function tuningSummary(
  result: TuneResult,
  test?: Record<string, number>,
  caption?: string,
): TuningSummary {
  const used = (k: string) => result.trials.some((t) => trialSettings(t)[k] !== null);
  return {
    objective: result.objective,
    lowerIsBetter: result.objective === 'mean-rank',
    trials: result.trials.map((t) => {
      const settings = trialSettings(t);
      return {
        id: t.id,
        space: t.space,
        rung: t.rung,
        epochs: t.bestEpochs,
        seconds: t.seconds,
        status: t.status,
        value: Number.isFinite(t.value) ? t.value : null,
        settings: Object.fromEntries(Object.entries(settings).filter(([k]) => used(k))),
      };
    }),
    best: {
      trial: result.best.trial,
      tasks: Object.entries(result.best.score.tasks).map(([id, s]) => ({
        id,
        metric: s.metric,
        valid: Number.isFinite(s.value) ? s.value : null,
        ...(test ? { test: Number.isFinite(test[id]) ? test[id]! : null } : {}),
      })),
    },
    ...(caption ? { caption } : {}),
  };
}
