/**
 * Charts of a training run, specified in vega-lite, compiled to vega and rendered to SVG in
 * Node (no canvas, no browser, no network: data is inline and the loader refuses to load).
 */
import type * as Vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { categoryColor } from './colors.js';
import { xmlSafe } from './escape.js';

const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';

const CONFIG = {
  font: FONT,
  background: '#ffffff',
  view: { stroke: '#dddddd' },
  axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#eeeeee' },
  legend: { labelFontSize: 11, titleFontSize: 11 },
  header: { labelFontSize: 11 },
  title: { fontSize: 13, anchor: 'start' as const },
};

/** A loader that loads nothing: charts only draw inline data, so a report can never make a request. */
function noLoader(vega: typeof Vega): Vega.Loader {
  const refuse = () =>
    Promise.reject(new Error('mtgraph/viz: charts draw inline data only; loading is disabled.'));
  const base = vega.loader();
  return Object.assign(base, { load: refuse, sanitize: refuse, http: refuse, file: refuse });
}

/**
 * Renders a vega-lite spec to an SVG string (warnings silenced: the report never writes to the
 * console). `idPrefix` is put before every id the SVG defines (clip paths, gradients), so that
 * several charts inlined in one page do not share ids.
 */
export async function renderVegaLite(spec: TopLevelSpec, idPrefix = ''): Promise<string> {
  // Loaded on first use: a program that draws no chart never loads vega.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const logger = vega.logger(vega.None);
  const compiled = compile({ config: CONFIG, ...spec } as TopLevelSpec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), {
    renderer: 'none',
    loader: noLoader(vega),
    logger,
    logLevel: vega.None,
  });
  try {
    // Task names reach the SVG text unescaped by vega: controls become U+FFFD as in escapeXml.
    const svg = xmlSafe(await view.toSVG());
    return idPrefix ? prefixIds(svg, idPrefix) : svg;
  } finally {
    view.finalize();
  }
}

/** Prefixes the ids an SVG defines, and its references to them (`url(#id)`, `href="#id"`). */
export function prefixIds(svg: string, prefix: string): string {
  const ids = new Set([...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
  if (ids.size === 0) return svg;
  return svg
    .replace(/(\sid=")([^"]+)"/g, (all, a: string, id: string) =>
      ids.has(id) ? `${a}${prefix}${id}"` : all,
    )
    .replace(/url\(#([^)]+)\)/g, (all, id: string) => (ids.has(id) ? `url(#${prefix}${id})` : all))
    .replace(/(href=")#([^"]+)"/g, (all, a: string, id: string) =>
      ids.has(id) ? `${a}#${prefix}${id}"` : all,
    );
}

/** A value vega-lite can draw: finite numbers stay, NaN and infinities become gaps (null). */
export const finite = (v: number | undefined | null): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

type Row = Record<string, string | number | null>;

/** Joint loss per epoch: training, validation and the coupling penalty (when not all zero). */
export function totalLossSpec(series: Array<{ name: string; values: number[] }>): TopLevelSpec {
  const values: Row[] = [];
  for (const s of series)
    s.values.forEach((v, e) => values.push({ epoch: e + 1, value: finite(v), series: s.name }));
  const epochs = Math.max(...series.map((s) => s.values.length));
  return {
    width: 520,
    height: 220,
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: epochs <= 30 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: series.map((s) => s.name),
        scale: { range: ['#4c78a8', '#f58518', '#8e44ad'] },
      },
    },
  } as TopLevelSpec;
}

/** Per-task training and validation loss, one small chart per task (independent y scales). */
export function taskLossSpec(
  tasks: string[],
  train: Record<string, number[]>,
  val: Record<string, number[]> | undefined,
): TopLevelSpec {
  const values: Row[] = [];
  let epochs = 0;
  tasks.forEach((t, order) => {
    (train[t] ?? []).forEach((v, e) =>
      values.push({ task: t, order, epoch: e + 1, value: finite(v), split: 'train' }),
    );
    (val?.[t] ?? []).forEach((v, e) =>
      values.push({ task: t, order, epoch: e + 1, value: finite(v), split: 'validation' }),
    );
    epochs = Math.max(epochs, train[t]?.length ?? 0);
  });
  return {
    data: { values },
    columns: Math.min(4, tasks.length),
    facet: {
      field: 'task',
      type: 'nominal',
      sort: { field: 'order', op: 'min' },
      header: { title: null, labelLimit: 180 },
    },
    spec: {
      width: 180,
      height: 100,
      mark: { type: 'line', strokeWidth: 1.5, point: epochs <= 12 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
        color: {
          field: 'split',
          type: 'nominal',
          title: null,
          scale: { domain: ['train', 'validation'], range: ['#4c78a8', '#f58518'] },
          legend: { orient: 'top' },
        },
      },
    },
    // Each cell draws its own x axis: shared axes sit under the last row of each column, and
    // float under empty cells when the last row is not full.
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
  } as TopLevelSpec;
}

/** Balancing weights over epochs: lines for up to 10 tasks, else a task × epoch heatmap (epochs sampled to at most 100 columns). */
export function weightsSpec(tasks: string[], weights: Record<string, number[]>): TopLevelSpec {
  const epochs = Math.max(0, ...tasks.map((t) => weights[t]?.length ?? 0));
  if (tasks.length <= 10) {
    const values: Row[] = [];
    for (const t of tasks)
      (weights[t] ?? []).forEach((v, e) =>
        values.push({ task: t, epoch: e + 1, weight: finite(v) }),
      );
    return {
      width: 520,
      height: 200,
      data: { values },
      mark: { type: 'line', strokeWidth: 1.8, point: epochs <= 30 },
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
        y: { field: 'weight', type: 'quantitative', title: 'weight' },
        color: {
          field: 'task',
          type: 'nominal',
          title: 'task',
          sort: tasks,
          scale: { domain: tasks, range: tasks.map((_, i) => categoryColor(i)) },
          legend: { labelLimit: 200 },
        },
      },
    } as TopLevelSpec;
  }
  const step = Math.max(1, Math.ceil(epochs / 100));
  const values: Row[] = [];
  tasks.forEach((t, order) => {
    const w = weights[t] ?? [];
    for (let e = 0; e < w.length; e += step)
      values.push({ task: t, order, epoch: e + 1, weight: finite(w[e]) });
  });
  const cell = Math.max(3, Math.min(14, Math.floor(600 / Math.ceil(epochs / step))));
  const rowHeight = Math.max(4, Math.min(14, Math.floor(700 / tasks.length)));
  return {
    width: { step: cell },
    height: { step: rowHeight },
    data: { values },
    mark: { type: 'rect', aria: false },
    encoding: {
      x: {
        field: 'epoch',
        type: 'ordinal',
        title: step > 1 ? `epoch (every ${step}th)` : 'epoch',
        axis: { labelOverlap: 'greedy', labelAngle: 0 },
      },
      y: {
        field: 'task',
        type: 'nominal',
        sort: { field: 'order', op: 'min' },
        title: null,
        axis: tasks.length > 60 ? null : { labelLimit: 160 },
      },
      color: {
        field: 'weight',
        type: 'quantitative',
        title: 'weight',
        scale: { scheme: 'viridis' },
      },
    },
  } as TopLevelSpec;
}

/** Tasks drawn one by one in the affinity heatmap; above, consecutive tasks are binned (mean affinity per pair of bins). */
export const AFFINITY_MAX_CELLS = 120;

/**
 * A task × task affinity heatmap on a diverging scale fixed to [-1, 1] (red conflicting, blue
 * related). More than AFFINITY_MAX_CELLS tasks are binned in their given order.
 */
export function affinitySpec(
  tasks: string[],
  matrix: Array<Array<number | null>>,
): { spec: TopLevelSpec; binned: number } {
  const n = tasks.length;
  const k = Math.ceil(n / AFFINITY_MAX_CELLS);
  const bins = Math.ceil(n / k);
  const name = (b: number) =>
    k === 1 ? tasks[b]! : `${tasks[b * k]!} … ${tasks[Math.min(n, (b + 1) * k) - 1]!}`;
  const values: Row[] = [];
  for (let bi = 0; bi < bins; bi++) {
    for (let bj = 0; bj < bins; bj++) {
      let sum = 0,
        count = 0;
      for (let i = bi * k; i < Math.min(n, (bi + 1) * k); i++) {
        for (let j = bj * k; j < Math.min(n, (bj + 1) * k); j++) {
          const w = finite(matrix[i]![j]);
          if (w !== null) {
            sum += w;
            count++;
          }
        }
      }
      if (count > 0)
        values.push({
          a: name(bi),
          ai: bi,
          b: name(bj),
          bj,
          weight: Math.round((sum / count) * 1000) / 1000,
        });
    }
  }
  const cell = Math.max(3, Math.min(28, Math.floor(640 / bins)));
  const labels = bins <= 60;
  return {
    binned: k,
    spec: {
      width: { step: cell },
      height: { step: cell },
      data: { values },
      mark: { type: 'rect', aria: bins <= 40 },
      encoding: {
        x: {
          field: 'b',
          type: 'nominal',
          sort: { field: 'bj', op: 'min' },
          title: null,
          axis: labels ? { labelAngle: -50, labelLimit: 120 } : null,
        },
        y: {
          field: 'a',
          type: 'nominal',
          sort: { field: 'ai', op: 'min' },
          title: null,
          axis: labels ? { labelLimit: 160 } : null,
        },
        color: {
          field: 'weight',
          type: 'quantitative',
          title: k > 1 ? 'mean affinity' : 'affinity',
          scale: { scheme: 'redblue', domain: [-1, 1] },
        },
      },
    } as TopLevelSpec,
  };
}

/**
 * Held-out scores of several strategies per task (higher is better): one small chart per task
 * with its own y scale, a dot per strategy, so that differences of a few thousandths show.
 */
export function comparisonSpec(
  strategies: string[],
  tasks: Array<{ id: string; metric: string; values: Array<number | null> }>,
): TopLevelSpec {
  const values: Row[] = [];
  tasks.forEach((t, order) =>
    t.values.forEach((v, k) =>
      values.push({
        task: `${t.id} (${t.metric})`,
        order,
        strategy: strategies[k]!,
        score: finite(v),
      }),
    ),
  );
  return {
    data: { values },
    columns: Math.min(4, tasks.length),
    facet: {
      field: 'task',
      type: 'nominal',
      sort: { field: 'order', op: 'min' },
      header: { title: null, labelLimit: 180 },
    },
    spec: {
      width: Math.max(120, strategies.length * 36),
      height: 120,
      mark: { type: 'point', filled: true, size: 90 },
      encoding: {
        x: {
          field: 'strategy',
          type: 'nominal',
          title: null,
          sort: strategies,
          axis: { labelAngle: -30 },
        },
        y: {
          field: 'score',
          type: 'quantitative',
          title: 'score',
          scale: { zero: false, padding: 8 },
        },
        color: { field: 'strategy', type: 'nominal', title: null, sort: strategies, legend: null },
        tooltip: [{ field: 'task' }, { field: 'strategy' }, { field: 'score', format: '.4f' }],
      },
    },
    // Each cell draws its own x axis (see taskLossSpec).
    resolve: { scale: { y: 'independent' }, axis: { x: 'independent' } },
  } as TopLevelSpec;
}
