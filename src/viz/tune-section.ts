/**
 * The report's tuning section (what `tune` / `mtgraph tune` searched): a chart of every trial's
 * settings against its validation score, the trials' table, and the best candidate's scores per
 * task (validation, and test when given).
 */
import type { TopLevelSpec } from 'vega-lite';
import { OptionsError } from '../errors.js';
import { isPlainObject } from '../schema/common.js';
import { finite } from './charts.js';
import { escapeXml } from './escape.js';
import { SCOPE } from './options.js';

/** A setting's value in a trial: a number (drawn on an axis), a label, or null (not used by the candidate). */
export type SettingValue = number | string | null;

/** What the tuning section draws: plain JSON (tuningSummary(result) in src/tune makes it from tune's result). */
export interface TuningSummary {
  /** 'mean-rank' (lower is better), 'mean' or 'objective' (higher is better). */
  objective: string;
  lowerIsBetter: boolean;
  trials: Array<{
    id: number;
    space: string;
    rung: number;
    epochs: number;
    seconds: number;
    status: string;
    /** The objective's value, null when the trial was not scored. */
    value: number | null;
    /** The settings searched, by name (learning rate, soft strength, trunk width, dropout, ...). */
    settings: Record<string, SettingValue>;
  }>;
  best: {
    trial: number;
    /** Per task: the metric, its validation score, and its test score when the best was scored on test rows. */
    tasks: Array<{ id: string; metric: string; valid: number | null; test?: number | null }>;
  };
  /** One line on the search: budget, rows, why it stopped. */
  caption?: string;
}

function fail(path: string, what: string, fix: string, got?: unknown): never {
  throw new OptionsError(`${SCOPE}/renderReport: ${what} → at ${path}. ${fix}`, { path, got });
}

/** Checks the shape of a tuning summary (numbers where numbers are drawn). */
export function checkTuning(t: unknown): TuningSummary {
  if (!isPlainObject(t) || !Array.isArray(t.trials) || !isPlainObject(t.best))
    fail(
      'tuning',
      `expected { objective, lowerIsBetter, trials, best } (got ${typeof t})`,
      "Pass tuningSummary(tune's result).",
      t,
    );
  const trials = t.trials as unknown[];
  trials.forEach((x, i) => {
    if (
      !isPlainObject(x) ||
      typeof x.id !== 'number' ||
      typeof x.space !== 'string' ||
      !(x.value === null || typeof x.value === 'number') ||
      !isPlainObject(x.settings)
    )
      fail(
        `tuning.trials[${i}]`,
        'expected { id, space, rung, epochs, seconds, status, value, settings }',
        "Pass tuningSummary(tune's result).",
        x,
      );
  });
  const tasks = (t.best as Record<string, unknown>).tasks;
  if (!Array.isArray(tasks))
    fail(
      'tuning.best.tasks',
      'expected a list of { id, metric, valid, test? }',
      'Pass one entry per task.',
      tasks,
    );
  return t as unknown as TuningSummary;
}

/** Numeric settings drawn (in this order) when at least one trial has them; log scale for the rates. */
const AXES: Array<{ key: string; title: string; log: boolean }> = [
  { key: 'learningRate', title: 'learning rate', log: true },
  { key: 'strength', title: "soft's strength", log: true },
  { key: 'width', title: 'trunk units (total)', log: false },
  { key: 'dropout', title: 'dropout', log: false },
  { key: 'l2', title: 'L2', log: false },
  { key: 'weightDecay', title: 'weight decay', log: true },
  { key: 'experts', title: 'experts', log: false },
  { key: 'epochs', title: 'epochs trained', log: false },
];

/**
 * Every scored trial's settings against its score: one small scatter per setting (x: the setting,
 * y: the score), a dot per trial coloured by search space; the best trial is ringed.
 */
export function tuningSpec(t: TuningSummary): TopLevelSpec {
  const rows: Array<Record<string, string | number | null>> = [];
  const axes = AXES.filter((a) =>
    t.trials.some((x) => typeof (a.key === 'epochs' ? x.epochs : x.settings[a.key]) === 'number'),
  );
  for (const x of t.trials) {
    if (x.value === null || !Number.isFinite(x.value)) continue;
    for (const a of axes) {
      const v = a.key === 'epochs' ? x.epochs : x.settings[a.key];
      if (typeof v !== 'number' || !Number.isFinite(v) || (a.log && v <= 0)) continue;
      rows.push({
        setting: a.title,
        value: finite(v),
        score: finite(x.value),
        space: x.space,
        trial: x.id + 1,
        best: x.id === t.best.trial ? 'best' : 'other',
      });
    }
  }
  const scoreTitle =
    t.objective === 'mean-rank'
      ? 'mean rank (lower is better)'
      : `${t.objective} (higher is better)`;
  return {
    data: { values: rows },
    columns: Math.min(4, Math.max(1, axes.length)),
    facet: {
      field: 'setting',
      type: 'nominal',
      sort: axes.map((a) => a.title),
      header: { title: null, labelLimit: 200 },
    },
    spec: {
      width: 200,
      height: 150,
      layer: [
        {
          mark: { type: 'point', filled: true, size: 60, opacity: 0.8 },
          encoding: {
            x: {
              field: 'value',
              type: 'quantitative',
              title: null,
              scale: { zero: false, nice: true },
            },
            y: {
              field: 'score',
              type: 'quantitative',
              title: scoreTitle,
              scale: { zero: false, reverse: t.lowerIsBetter },
            },
            color: { field: 'space', type: 'nominal', title: 'space' },
            tooltip: [
              { field: 'trial' },
              { field: 'space' },
              { field: 'value' },
              { field: 'score', format: '.4f' },
            ],
          },
        },
        {
          transform: [{ filter: "datum.best === 'best'" }],
          mark: { type: 'point', size: 220, strokeWidth: 2, color: '#222' },
          encoding: {
            x: { field: 'value', type: 'quantitative' },
            y: { field: 'score', type: 'quantitative' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
}

const num = (v: number | null | undefined, digits = 4) =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';

/** The section's HTML: the chart, the best's per-task scores and every trial. */
export async function tuningSection(
  t: TuningSummary,
  chart: (spec: TopLevelSpec) => Promise<string>,
  figure: (svg: string, caption: string) => string,
): Promise<{ id: string; title: string; html: string }> {
  const svg = await chart(tuningSpec(t));
  const best = t.trials.find((x) => x.id === t.best.trial);
  const hasTest = t.best.tasks.some((x) => x.test !== undefined);
  const taskRows = t.best.tasks
    .map(
      (x) =>
        `<tr><td>${escapeXml(x.id)}</td><td>${escapeXml(x.metric)}</td><td>${num(x.valid)}</td>${hasTest ? `<td>${num(x.test)}</td>` : ''}</tr>`,
    )
    .join('');
  const names = [...new Set(t.trials.flatMap((x) => Object.keys(x.settings)))];
  const trialRows = t.trials
    .map(
      (x) =>
        `<tr${x.id === t.best.trial ? ' style="font-weight:600"' : ''}><td>${x.id + 1}</td><td>${escapeXml(x.space)}</td><td>${x.rung}</td><td>${x.epochs}</td><td>${x.seconds.toFixed(1)}</td><td>${escapeXml(x.status)}</td><td>${num(x.value, 3)}</td>${names.map((n) => `<td>${escapeXml(x.settings[n] ?? '–')}</td>`).join('')}</tr>`,
    )
    .join('');
  const html = [
    figure(
      svg,
      `Each scored trial's settings against its validation score (${t.objective}${t.lowerIsBetter ? ', lower is better: the axis is reversed' : ''}); ringed: the best.${t.caption ? ` ${t.caption}` : ''}`,
    ),
    `<h3>Best: trial ${t.best.trial + 1}${best ? ` (${escapeXml(best.space)})` : ''}</h3>`,
    `<div class="table"><table><thead><tr><th>task</th><th>metric</th><th>validation</th>${hasTest ? '<th>test</th>' : ''}</tr></thead><tbody>${taskRows}</tbody></table></div>`,
    `<h3>Every trial</h3>`,
    `<div class="table"><table><thead><tr><th>trial</th><th>space</th><th>rung</th><th>epochs</th><th>s</th><th>status</th><th>score</th>${names.map((n) => `<th>${escapeXml(n)}</th>`).join('')}</tr></thead><tbody>${trialRows}</tbody></table></div>`,
    `<p class="note">Rung k of successive halving trains up to eta^k times the first rung's epochs; the best of each rung continue. cut: the time budget ran out during the run.</p>`,
  ].join('\n');
  return { id: 'tuning', title: 'Tuning', html };
}
