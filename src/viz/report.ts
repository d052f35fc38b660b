/**
 * renderReport: one self-contained HTML page (inline SVG and CSS, no script, no request) with
 * the task graph, the network, the training curves, the balancing weights, a metrics table and
 * the learned-affinity heatmap, drawing whatever it is given.
 */
import type { AbstractGraph } from 'graphology-types';
import { OptionsError } from '../errors.js';
import { explain } from '../plan/explain.js';
import { parsePlan } from '../plan/schema.js';
import type { Plan } from '../plan/types.js';
import { readGraph } from '../schema/validate.js';
import type { History } from '../train/history.js';
import type { Evaluation } from '../train/evaluate.js';
import { findUnsafeKey, isPlainObject } from '../schema/common.js';
import {
  affinitySpec,
  comparisonSpec,
  renderVegaLite,
  taskLossSpec,
  totalLossSpec,
  weightsSpec,
} from './charts.js';
import { count, escapeXml } from './escape.js';
import { renderGraphSvg } from './graph-svg.js';
import {
  REPORT_DEFAULTS,
  ReportOptionsSchema,
  SCOPE,
  resolveOptions,
  type ReportOptions,
} from './options.js';
import { renderPlanSvg } from './plan-svg.js';
import { checkTuning, tuningSection, type TuningSummary } from './tune-section.js';

/**
 * A learned (or given) task affinity matrix: `matrix[i][j]` between `tasks[i]` (row) and
 * `tasks[j]` (column), in [-1, 1]; null or NaN = unknown. What `measureAffinity` returns fits.
 */
export interface AffinityMatrix {
  tasks: string[];
  matrix: Array<Array<number | null>>;
  /** How it was measured (shown in the caption). */
  method?: string;
}

/** Several strategies' held-out scores per task (what `mtgraph compare` measures): higher is better. */
export interface StrategyComparison {
  strategies: string[];
  /** Per task: the metric compared and one score per strategy (null: none). */
  tasks: Array<{ id: string; metric: string; values: Array<number | null> }>;
  /** What the scores were measured on (shown in the caption), e.g. '1,299 test rows'. */
  scoredOn?: string;
}

/** What a report draws: the graph always, the rest when given. */
export interface ReportInput {
  graph: AbstractGraph;
  plan?: Plan;
  history?: History;
  /** Final scores per task, as `evaluate` returns them. */
  metrics?: Evaluation;
  affinity?: AffinityMatrix;
  comparison?: StrategyComparison;
  /** What `tune` searched (tuningSummary(result)): its own section, see tune-section.ts. */
  tuning?: TuningSummary;
}

const INPUT_KEYS = ['graph', 'plan', 'history', 'metrics', 'affinity', 'comparison', 'tuning'];

function fail(path: string, what: string, fix: string, got?: unknown): never {
  throw new OptionsError(`${SCOPE}/renderReport: ${what} → at ${path}. ${fix}`, { path, got });
}

function checkNumbers(value: unknown, path: string): number[] {
  if (!Array.isArray(value))
    fail(
      path,
      `expected a list of numbers (got ${typeof value})`,
      'Pass the History that fit() returned.',
      value,
    );
  value.forEach((v, i) => {
    if (typeof v !== 'number' && v !== null)
      fail(
        `${path}[${i}]`,
        `expected a number (got ${typeof v})`,
        'Pass the History that fit() returned.',
        v,
      );
  });
  return value as number[];
}

function checkSeries(value: unknown, path: string): Record<string, number[]> {
  if (!isPlainObject(value))
    fail(
      path,
      `expected an object of per-task number lists (got ${typeof value})`,
      'Pass the History that fit() returned.',
      value,
    );
  for (const [k, v] of Object.entries(value)) checkNumbers(v, `${path}.${k}`);
  return value as Record<string, number[]>;
}

function checkHistory(h: unknown): History {
  if (!isPlainObject(h))
    fail(
      'history',
      `expected the History that fit() returns (got ${typeof h})`,
      'Pass the value fit() resolved to, or leave history out.',
      h,
    );
  checkNumbers(h.loss, 'history.loss');
  checkSeries(h.taskLoss, 'history.taskLoss');
  if (h.valLoss !== undefined) checkNumbers(h.valLoss, 'history.valLoss');
  if (h.valTaskLoss !== undefined) checkSeries(h.valTaskLoss, 'history.valTaskLoss');
  if (h.weights !== undefined) checkSeries(h.weights, 'history.weights');
  if (h.penalty !== undefined) checkNumbers(h.penalty, 'history.penalty');
  return h as unknown as History;
}

function checkMetrics(m: unknown): Evaluation {
  if (!isPlainObject(m))
    fail(
      'metrics',
      `expected { [task]: { [metric]: number } } (got ${typeof m})`,
      'Pass what evaluate() returned.',
      m,
    );
  for (const [task, scores] of Object.entries(m)) {
    if (!isPlainObject(scores))
      fail(
        `metrics.${task}`,
        `expected { [metric]: number } (got ${typeof scores})`,
        'Pass what evaluate() returned.',
        scores,
      );
    for (const [name, v] of Object.entries(scores)) {
      if (typeof v !== 'number' && v !== null)
        fail(
          `metrics.${task}.${name}`,
          `expected a number (got ${typeof v})`,
          'Pass what evaluate() returned.',
          v,
        );
    }
  }
  return m as Evaluation;
}

function checkComparison(c: unknown): StrategyComparison {
  if (!isPlainObject(c))
    fail(
      'comparison',
      `expected { strategies, tasks } (got ${typeof c})`,
      'Pass the strategies and their scores per task.',
      c,
    );
  const { strategies, tasks, scoredOn } = c as Record<string, unknown>;
  if (
    !Array.isArray(strategies) ||
    strategies.length === 0 ||
    !strategies.every((s) => typeof s === 'string')
  ) {
    fail(
      'comparison.strategies',
      'expected a non-empty list of strategy names',
      'Pass e.g. ["single", "hard"].',
      strategies,
    );
  }
  if (!Array.isArray(tasks))
    fail(
      'comparison.tasks',
      'expected a list of { id, metric, values }',
      'Pass one entry per task.',
      tasks,
    );
  tasks.forEach((t, i) => {
    const where = `comparison.tasks[${i}]`;
    if (
      !isPlainObject(t) ||
      typeof t.id !== 'string' ||
      typeof t.metric !== 'string' ||
      !Array.isArray(t.values)
    )
      fail(
        where,
        'expected { id, metric, values }',
        'Give the task id, the metric and one score per strategy.',
        t,
      );
    if (
      t.values.length !== strategies.length ||
      !t.values.every((v: unknown) => v === null || typeof v === 'number')
    ) {
      fail(
        `${where}.values`,
        `expected ${strategies.length} scores (numbers or null), one per strategy (got ${JSON.stringify(t.values).slice(0, 60)})`,
        'Give one score per strategy, in the order of comparison.strategies.',
        t.values,
      );
    }
  });
  if (scoredOn !== undefined && typeof scoredOn !== 'string')
    fail(
      'comparison.scoredOn',
      'expected a string',
      "Describe the rows scored, e.g. '1,299 test rows'.",
      scoredOn,
    );
  return c as unknown as StrategyComparison;
}

function checkAffinity(a: unknown): AffinityMatrix {
  if (!isPlainObject(a))
    fail(
      'affinity',
      `expected { tasks: string[], matrix: number[][] } (got ${typeof a})`,
      'Pass the task ids and a square matrix.',
      a,
    );
  const { tasks, matrix } = a;
  if (!Array.isArray(tasks) || tasks.length === 0 || tasks.some((t) => typeof t !== 'string'))
    fail(
      'affinity.tasks',
      'expected a non-empty list of task ids',
      'Write tasks: ["a", "b", ...].',
      tasks,
    );
  if (new Set(tasks).size !== tasks.length)
    fail('affinity.tasks', 'a task id appears twice', 'List each task once.', tasks);
  if (!Array.isArray(matrix) || matrix.length !== tasks.length)
    fail(
      'affinity.matrix',
      `expected ${tasks.length} rows, one per task (got ${Array.isArray(matrix) ? matrix.length : typeof matrix})`,
      'Give a square matrix in the order of affinity.tasks.',
      matrix,
    );
  matrix.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== tasks.length)
      fail(
        `affinity.matrix[${i}]`,
        `expected ${tasks.length} values (got ${Array.isArray(row) ? row.length : typeof row})`,
        'Give a square matrix in the order of affinity.tasks.',
        row,
      );
    row.forEach((v, j) => {
      if (v !== null && typeof v !== 'number')
        fail(
          `affinity.matrix[${i}][${j}]`,
          `expected a number in [-1, 1] or null (got ${typeof v})`,
          'Use null for unknown affinities.',
          v,
        );
    });
  });
  return a as unknown as AffinityMatrix;
}

const fmt = (v: number | null | undefined): string => {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
};

/** A figure around an SVG: shrunk to the page width when it is at most twice as wide, else scrollable at full size. */
function figure(svg: string, caption: string): string {
  const width = Number(/^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1] ?? 0);
  return `<figure${width > 0 && width <= 2 * PAGE_WIDTH ? ' class="fit"' : ''}>${svg}<figcaption>${escapeXml(caption)}</figcaption></figure>`;
}

/** The width of a section's content in px (main's max-width less paddings). */
const PAGE_WIDTH = 1190;

const finiteOr = (v: number | null | undefined): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : null;

const lastFinite = (xs: number[] | undefined): number | undefined => {
  if (!xs) return undefined;
  for (let i = xs.length - 1; i >= 0; i--) if (Number.isFinite(xs[i])) return xs[i];
  return undefined;
};

const STYLE = `
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
header h1 { font-size: 26px; margin: 8px 0 4px; }
.meta { color: #555; margin: 0 0 8px; }
nav a { margin-right: 14px; color: #2f5d8a; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 8px; padding: 12px 18px 18px; margin: 18px 0; }
h2 { font-size: 19px; margin: 6px 0 10px; }
figure { margin: 8px 0 14px; overflow: auto; max-height: 1400px; }
figure.fit svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 13px; margin-top: 4px; }
svg { display: block; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f3f3f3; position: sticky; top: 0; }
.table { overflow: auto; max-height: 720px; }
pre { background: #f6f6f6; padding: 10px; overflow: auto; font-size: 12.5px; }
.note { color: #666; font-size: 13px; }
.warning { color: #8a4b00; background: #fff6e5; border-left: 3px solid #e69500; padding: 6px 10px; font-size: 13px; }
`;

/**
 * Renders a self-contained HTML report: the task graph, the network (with a plan), the loss
 * curves and balancing weights (with a history), a metrics table (with metrics or a history
 * with metrics), and the affinity heatmap (with an affinity matrix). All text is escaped; the
 * page has no script and a Content-Security-Policy that forbids any request.
 */
export async function renderReport(
  input: ReportInput,
  options: ReportOptions = {},
): Promise<string> {
  if (!isPlainObject(input))
    fail(
      'input',
      `expected { graph, plan?, history?, metrics?, affinity? } (got ${typeof input})`,
      'Pass an object with at least the graph.',
      input,
    );
  const unsafe =
    findUnsafeKey(input.metrics ?? {}, 'metrics') ??
    findUnsafeKey(input.affinity ?? {}, 'affinity');
  if (unsafe)
    fail(
      unsafe.path,
      `the key ${JSON.stringify(unsafe.key)} is not allowed`,
      'Remove it.',
      unsafe.key,
    );
  for (const key of Object.keys(input)) {
    if (!INPUT_KEYS.includes(key))
      fail(
        key,
        `unknown input ${JSON.stringify(key)} (expected any of: ${INPUT_KEYS.join(', ')})`,
        'Check the spelling or remove it.',
        key,
      );
  }
  const o = resolveOptions(ReportOptionsSchema, options, REPORT_DEFAULTS, 'renderReport');
  const spec = readGraph(input.graph);
  const plan = input.plan === undefined ? undefined : parsePlan(input.plan);
  const history = input.history === undefined ? undefined : checkHistory(input.history);
  const metrics = input.metrics === undefined ? undefined : checkMetrics(input.metrics);
  const affinity = input.affinity === undefined ? undefined : checkAffinity(input.affinity);
  const comparison = input.comparison === undefined ? undefined : checkComparison(input.comparison);
  const tuning = input.tuning === undefined ? undefined : checkTuning(input.tuning);
  const seed = o.seed ?? plan?.seed ?? 0;
  const title = o.title ?? spec.name ?? 'mtgraph report';
  const taskIds = spec.tasks.map((t) => t.id);
  const sections: Array<{ id: string; title: string; html: string }> = [];
  let charts = 0;
  const chart = (spec: Parameters<typeof renderVegaLite>[0]) =>
    renderVegaLite(spec, `chart${++charts}-`);

  // Task graph.
  const graphOptions = { seed, ...(plan?.groups ? { groups: plan.groups } : {}), ...o.graph };
  const graphSvg = renderGraphSvg(input.graph, graphOptions);
  sections.push({
    id: 'graph',
    title: 'Task graph',
    html: figure(
      graphSvg,
      `${spec.tasks.length} tasks and ${spec.affinities.length} affinities. Node colour: ${o.graph?.colorBy === 'kind' ? 'task kind' : plan?.groups && !o.graph?.groups ? "the plan's groups" : 'groups'}; dashed red edges are conflicting (negative) affinities.`,
    ),
  });

  // Network.
  if (plan) {
    sections.push({
      id: 'network',
      title: 'Network',
      html:
        figure(
          renderPlanSvg(plan, o.plan ?? {}),
          `Strategy ${plan.strategy}${plan.requested !== plan.strategy ? ` (asked: ${plan.requested})` : ''}, ${count(plan.params.total)} parameters.`,
        ) +
        `<details><summary>The plan explained</summary><pre>${escapeXml(explain(plan, { maxNames: 12 }))}</pre></details>`,
    });
  }

  // Training.
  if (history) {
    const parts: string[] = [];
    const epochs = history.loss.length;
    const facts = [
      `${epochs} epoch${epochs === 1 ? '' : 's'}`,
      history.trainRows !== undefined ? `${count(history.trainRows)} training rows` : '',
      history.valRows ? `${count(history.valRows)} validation rows` : '',
      history.bestEpoch !== undefined ? `best epoch ${history.bestEpoch}` : '',
      history.stoppedEarly ? 'stopped early' : '',
      history.timing?.totalMs !== undefined
        ? `${(history.timing.totalMs / 1000).toFixed(1)} s`
        : '',
    ].filter(Boolean);
    parts.push(`<p class="note">${escapeXml(facts.join(' · '))}</p>`);
    for (const note of history.notes ?? []) parts.push(`<p class="warning">${escapeXml(note)}</p>`);
    const series = [{ name: 'train', values: history.loss }];
    if (history.valLoss) series.push({ name: 'validation', values: history.valLoss });
    if (history.penalty?.some((p) => p !== 0 && Number.isFinite(p)))
      series.push({ name: 'penalty', values: history.penalty });
    parts.push(
      figure(
        await chart(totalLossSpec(series)),
        'Joint objective per epoch (weighted sum of the task losses plus coupling penalties).',
      ),
    );

    const withLoss = taskIds.filter((t) => history.taskLoss[t]);
    const extra = Object.keys(history.taskLoss).filter((t) => !spec.index.has(t));
    const all = [...withLoss, ...extra];
    if (all.length > 0) {
      let shown = all;
      let note =
        'Per-task loss on the training data and, when there is one, on the validation data.';
      if (all.length > o.maxTaskCharts) {
        const final = (t: string) =>
          lastFinite(history.valTaskLoss?.[t]) ?? lastFinite(history.taskLoss[t]) ?? -Infinity;
        shown = [...all].sort((a, b) => final(b) - final(a)).slice(0, o.maxTaskCharts);
        note += ` Showing the ${o.maxTaskCharts} of ${all.length} tasks with the highest final loss; the table below lists all.`;
      }
      parts.push(
        figure(await chart(taskLossSpec(shown, history.taskLoss, history.valTaskLoss)), note),
      );
    }

    const weighted = all.filter((t) => (history.weights?.[t]?.length ?? 0) > 0);
    if (weighted.length > 0) {
      const varies = weighted.some((t) => {
        const w = history.weights[t]!.filter(Number.isFinite);
        return w.length > 1 && Math.max(...w) - Math.min(...w) > 1e-9;
      });
      if (varies && epochs > 1) {
        let shown = weighted;
        if (weighted.length > 60) {
          const spread = (t: string) => {
            const w = history.weights[t]!.filter(Number.isFinite);
            return Math.max(...w) - Math.min(...w);
          };
          shown = [...weighted].sort((a, b) => spread(b) - spread(a)).slice(0, 60);
        }
        parts.push(
          figure(
            await chart(weightsSpec(shown, history.weights)),
            `Loss-balancing weights per epoch${shown.length < weighted.length ? ` (the ${shown.length} tasks whose weight varied most)` : ''}.`,
          ),
        );
      } else {
        parts.push(constantWeights(weighted, history.weights));
      }
    }
    sections.push({ id: 'training', title: 'Training', html: parts.join('\n') });
  }

  // Metrics table.
  const table = metricsTable(
    spec.tasks.map((t) => ({ id: t.id, kind: t.kind })),
    metrics,
    history,
  );
  if (table) sections.push({ id: 'metrics', title: 'Metrics', html: table });

  // Affinity heatmap.
  if (affinity) {
    const { spec: heatmap, binned } = affinitySpec(affinity.tasks, affinity.matrix);
    const svg = await chart(heatmap);
    const n = affinity.tasks.length;
    const directed = affinity.matrix.some((row, i) =>
      row.some((v, j) => finiteOr(v) !== finiteOr(affinity.matrix[j]![i])),
    );
    const method = typeof affinity.method === 'string' ? ` Measured by ${affinity.method}.` : '';
    const how =
      (directed
        ? ' Directed: the cell in row i and column j is the effect of task i on task j.'
        : '') +
      method +
      (binned > 1
        ? ` The ${n} tasks are binned, in the given order, into groups of ${binned}: each cell is the mean affinity between two groups.`
        : n > 60
          ? ' Task names are left out at this size.'
          : '');
    sections.push({
      id: 'affinity',
      title: 'Learned affinity',
      html: figure(
        svg,
        `Affinity between ${n} tasks on a fixed scale from -1 (red, conflicting) to 1 (blue, related).${how}`,
      ),
    });
  }

  // Strategies compared.
  if (comparison && comparison.tasks.length > 0) {
    const svg = await chart(comparisonSpec(comparison.strategies, comparison.tasks));
    const head = `<tr><th>task</th><th>metric</th>${comparison.strategies.map((s) => `<th>${escapeXml(s)}</th>`).join('')}</tr>`;
    const body = comparison.tasks.map((t) => {
      const scores = t.values.map((v) => (v === null || !Number.isFinite(v) ? -Infinity : v));
      const best = Math.max(...scores);
      return `<tr><td>${escapeXml(t.id)}</td><td>${escapeXml(t.metric)}</td>${t.values.map((v, k) => `<td>${v === null || !Number.isFinite(v) ? '–' : `${scores[k] === best ? '<b>' : ''}${v.toFixed(4)}${scores[k] === best ? '</b>' : ''}`}</td>`).join('')}</tr>`;
    });
    sections.push({
      id: 'comparison',
      title: 'Strategies compared',
      html:
        figure(
          svg,
          `Held-out score per task and strategy${comparison.scoredOn ? `, on ${comparison.scoredOn}` : ''}; higher is better (each task's metric is named beside it).`,
        ) +
        `<div class="table"><table><thead>${head}</thead><tbody>${body.join('')}</tbody></table></div><p class="note">Bold: the best score of each task. – means no score.</p>`,
    });
  }

  if (tuning) sections.push(await tuningSection(tuning, chart, figure));

  const meta = [
    `${spec.tasks.length} tasks`,
    `${spec.affinities.length} affinities`,
    plan ? `strategy ${plan.strategy}` : '',
    plan ? `${count(plan.params.total)} parameters` : '',
    history ? `${history.loss.length} epochs` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="mtgraph">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    '<header>',
    `<h1>${escapeXml(title)}</h1>`,
    `<p class="meta">${escapeXml(meta)}</p>`,
    spec.description ? `<p>${escapeXml(spec.description)}</p>` : '',
    `<nav>${sections.map((s) => `<a href="#${s.id}">${escapeXml(s.title)}</a>`).join('')}</nav>`,
    '</header>',
    ...sections.map(
      (s) => `<section id="${s.id}">\n<h2>${escapeXml(s.title)}</h2>\n${s.html}\n</section>`,
    ),
    '<footer class="note">Made by mtgraph. This page is self-contained: it loads nothing and runs no script.</footer>',
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Tasks named in a table cell before "and N more". */
const WEIGHT_TASKS_NAMED = 12;

/** Constant balancing weights: one sentence when all are equal, else a table of each value and its tasks. */
function constantWeights(tasks: string[], weights: Record<string, number[]>): string {
  const byValue = new Map<string, string[]>();
  for (const t of tasks) {
    const v = fmt(lastFinite(weights[t]));
    let list = byValue.get(v);
    if (!list) byValue.set(v, (list = []));
    list.push(t);
  }
  if (byValue.size === 1)
    return `<p class="note">${escapeXml(`Loss-balancing weights were constant over the epochs (all ${[...byValue.keys()][0]}).`)}</p>`;
  const rows = [...byValue]
    .sort((a, b) => Number(b[0]) - Number(a[0]) || a[0].localeCompare(b[0]))
    .map(([v, ts]) => {
      const named = ts.slice(0, WEIGHT_TASKS_NAMED).join(', ');
      const more =
        ts.length > WEIGHT_TASKS_NAMED
          ? ` and ${ts.length - WEIGHT_TASKS_NAMED} more (${ts.length} tasks)`
          : '';
      return `<tr><td>${escapeXml(named + more)}</td><td>${escapeXml(v)}</td></tr>`;
    });
  return `<p class="note">Loss-balancing weights were constant over the epochs; they differ between tasks:</p><div class="table"><table class="weights"><thead><tr><th>tasks</th><th>weight</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** Final metrics per task: from `metrics` (evaluate), else from the last epoch of the history with metrics; with the last losses from the history. */
function metricsTable(
  tasks: Array<{ id: string; kind: string }>,
  metrics: Evaluation | undefined,
  history: History | undefined,
): string | undefined {
  const rows = new Map<string, Record<string, number | undefined>>();
  let source = '';
  if (metrics) {
    source = 'Scores passed in (as from evaluate)';
    for (const [task, scores] of Object.entries(metrics)) rows.set(task, { ...scores });
  } else if (history?.valMetrics || history?.metrics) {
    const per = history.valMetrics ?? history.metrics!;
    source = `Metrics at the last epoch they were computed, on the ${history.valMetrics ? 'validation' : 'training'} data`;
    for (const [task, byMetric] of Object.entries(per)) {
      const r: Record<string, number | undefined> = {};
      for (const [m, xs] of Object.entries(byMetric)) r[m] = lastFinite(xs);
      rows.set(task, r);
    }
  }
  const lossCols: string[] = [];
  if (history) {
    lossCols.push('train loss');
    if (history.valTaskLoss) lossCols.push('val loss');
    for (const t of new Set([...tasks.map((x) => x.id), ...Object.keys(history.taskLoss)])) {
      const r = rows.get(t) ?? {};
      r['train loss'] = lastFinite(history.taskLoss[t]);
      if (history.valTaskLoss) r['val loss'] = lastFinite(history.valTaskLoss[t]);
      if (Object.values(r).some((v) => v !== undefined)) rows.set(t, r);
    }
  }
  if (rows.size === 0) return undefined;
  const names = new Set<string>();
  for (const r of rows.values())
    for (const k of Object.keys(r)) if (!lossCols.includes(k)) names.add(k);
  const metricCols = [...names].sort((a, b) =>
    a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b),
  );
  const cols = [...metricCols, ...lossCols];
  const kindOf = new Map(tasks.map((t) => [t.id, t.kind]));
  const order = [
    ...tasks.map((t) => t.id).filter((t) => rows.has(t)),
    ...[...rows.keys()].filter((t) => !kindOf.has(t)),
  ];
  const head = `<tr><th>task</th><th>kind</th>${cols.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr>`;
  const body = order.map((t) => {
    const r = rows.get(t)!;
    return `<tr><td>${escapeXml(t)}</td><td>${escapeXml(kindOf.get(t) ?? '')}</td>${cols.map((c) => `<td>${fmt(r[c])}</td>`).join('')}</tr>`;
  });
  const notes = [source, history ? 'train / val loss: the last epoch of the history' : '']
    .filter(Boolean)
    .join('; ');
  return `<div class="table"><table><thead>${head}</thead><tbody>${body.join('')}</tbody></table></div><p class="note">${escapeXml(notes)}. – means no value (no labels, or not computed).</p>`;
}
