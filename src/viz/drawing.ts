/**
 * What every picture of a task graph shares: the layout, a colour and a size per task, and the
 * legend that explains them. renderGraphSvg, toGexf and toGraphml all draw from one Drawing.
 */
import type { AbstractGraph } from 'graphology-types';
import { OptionsError } from '../errors.js';
import { louvainGroups } from '../graph/groups.js';
import { readGraph, type GraphSpec } from '../schema/validate.js';
import { KIND_COLORS, UNGROUPED_COLOR, categoryColor } from './colors.js';
import { safeColor, truncate } from './escape.js';
import { computeLayout, type GraphLayout, type ResolvedLayoutOptions } from './layout.js';
import { SCOPE, type SizeFunction } from './options.js';

export interface DrawingOptions extends ResolvedLayoutOptions {
  colorBy: 'group' | 'kind' | 'none';
  groups?: string[][];
  sizeBy: string | SizeFunction;
  nodeSize: [number, number] | 'auto';
}

export interface DrawnTask {
  id: string;
  /** The task's `label` attribute, else its id. */
  label: string;
  kind: string;
  /** Index of the task's colour group in `legend.entries`-order, or -1. */
  group: number;
  color: string;
  /** The value `sizeBy` gave (NaN when the task has none). */
  value: number;
  /** Radius in px. */
  r: number;
  attributes: Record<string, unknown>;
}

export interface LegendEntry {
  color: string;
  label: string;
}

export interface Drawing {
  spec: GraphSpec;
  layout: GraphLayout;
  tasks: DrawnTask[];
  legend: { title: string; entries: LegendEntry[]; more: number };
  size: { label: string; min: number; max: number; rMin: number; rMax: number };
}

/** Legend entries listed before "+ N more". */
export const LEGEND_MAX = 12;

/** Node radius range [min, max] in px for a graph of n tasks. */
export function autoNodeSize(n: number): [number, number] {
  if (n <= 30) return [7, 18];
  if (n <= 200) return [4, 12];
  if (n <= 2000) return [2.5, 8];
  return [1.5, 5];
}

function groupsOf(
  spec: GraphSpec,
  options: DrawingOptions,
): { groups: string[][]; source: string } {
  if (options.groups) {
    const seen = new Set<string>();
    options.groups.forEach((group, i) =>
      group.forEach((id, j) => {
        if (!spec.index.has(id)) {
          throw new OptionsError(
            `${SCOPE}: groups name the unknown task ${JSON.stringify(id)} → at options.groups[${i}][${j}]. Use task ids of this graph (plan.groups fits the graph it was planned from).`,
            { path: `options.groups[${i}][${j}]`, got: id },
          );
        }
        if (seen.has(id)) {
          throw new OptionsError(
            `${SCOPE}: task ${JSON.stringify(id)} is in two groups → at options.groups[${i}][${j}]. Put each task in one group.`,
            { path: `options.groups[${i}][${j}]`, got: id },
          );
        }
        seen.add(id);
      }),
    );
    return { groups: options.groups, source: 'given groups' };
  }
  return {
    groups: louvainGroups(spec, { seed: options.seed }).groups,
    source: `Louvain groups, seed ${options.seed}`,
  };
}

function sizeValues(
  spec: GraphSpec,
  sizeBy: string | SizeFunction,
): { values: number[]; label: string } {
  if (typeof sizeBy === 'function') {
    return {
      values: spec.tasks.map((t) => Number(sizeBy(t.id, { ...t.attributes }))),
      label: 'size: given function',
    };
  }
  if (sizeBy === 'degree') {
    const values = spec.tasks.map(() => 0);
    for (const a of spec.affinities) {
      values[spec.index.get(a.source)!]! += Math.abs(a.weight);
      values[spec.index.get(a.target)!]! += Math.abs(a.weight);
    }
    return { values, label: 'size: sum of |weight|' };
  }
  if (sizeBy === 'weight')
    return { values: spec.tasks.map((t) => t.weight), label: 'size: task weight' };
  if (sizeBy === 'outputs')
    return { values: spec.tasks.map((t) => t.outputs), label: 'size: outputs' };
  const values = spec.tasks.map((t) => {
    const v = (t.attributes as Record<string, unknown>)[sizeBy];
    return typeof v === 'number' ? v : NaN;
  });
  if (values.every((v) => !Number.isFinite(v))) {
    throw new OptionsError(
      `${SCOPE}: sizeBy ${JSON.stringify(sizeBy)} is not a numeric attribute of any task → at options.sizeBy. Use 'degree', 'weight', 'outputs', a numeric task attribute, or a function.`,
      { path: 'options.sizeBy', got: sizeBy },
    );
  }
  return { values, label: `size: ${sizeBy}` };
}

/** Lays out and styles a graph (validated with readGraph). */
export function computeDrawing(graph: AbstractGraph, options: DrawingOptions): Drawing {
  const spec = readGraph(graph);
  const n = spec.tasks.length;
  const layout = computeLayout(spec, options);

  // Colours.
  const group = new Array<number>(n).fill(-1);
  const entries: LegendEntry[] = [];
  let title = '';
  let colorOf: (i: number) => string = () => categoryColor(0);
  let totalEntries = 0;
  if (options.colorBy === 'group') {
    const { groups, source } = groupsOf(spec, options);
    const real = groups.filter((g) => g.length > 1);
    real.forEach((g, k) =>
      g.forEach((id) => {
        group[spec.index.get(id)!] = k;
      }),
    );
    title = `colour: ${source}`;
    totalEntries = real.length;
    real.slice(0, LEGEND_MAX).forEach((g, k) => {
      entries.push({
        color: categoryColor(k),
        label: `${truncate(labelOf(spec, g[0]!), 22)} and ${g.length - 1} more`,
      });
    });
    if (group.some((g) => g < 0)) {
      entries.push({ color: UNGROUPED_COLOR, label: 'not in a group' });
      totalEntries++;
    }
    colorOf = (i) => (group[i]! >= 0 ? categoryColor(group[i]!) : UNGROUPED_COLOR);
  } else if (options.colorBy === 'kind') {
    title = 'colour: task kind';
    const kinds = new Set<string>(spec.tasks.map((t) => t.kind));
    for (const k of Object.keys(KIND_COLORS))
      if (kinds.has(k)) entries.push({ color: KIND_COLORS[k]!, label: k });
    totalEntries = entries.length;
    colorOf = (i) => KIND_COLORS[spec.tasks[i]!.kind] ?? UNGROUPED_COLOR;
  } else {
    title = '';
    colorOf = () => categoryColor(0);
  }

  // Sizes.
  const { values, label: sizeLabel } = sizeValues(spec, options.sizeBy);
  const finite = values.filter(Number.isFinite);
  const min = finite.length ? Math.min(...finite) : 0;
  const max = finite.length ? Math.max(...finite) : 0;
  const [rMin, rMax] = options.nodeSize === 'auto' ? autoNodeSize(n) : options.nodeSize;
  const radius = (v: number) => {
    if (!Number.isFinite(v)) return rMin;
    if (max === min) return (rMin + rMax) / 2;
    return rMin + (rMax - rMin) * Math.sqrt((v - min) / (max - min));
  };

  const tasks: DrawnTask[] = spec.tasks.map((t, i) => {
    const attributes = t.attributes as Record<string, unknown>;
    return {
      id: t.id,
      label: labelOf(spec, t.id),
      kind: t.kind,
      group: group[i]!,
      color: safeColor(attributes.color) ?? colorOf(i),
      value: values[i]!,
      r: radius(values[i]!),
      attributes,
    };
  });
  return {
    spec,
    layout,
    tasks,
    legend: { title, entries, more: Math.max(0, totalEntries - entries.length) },
    size: { label: sizeLabel, min, max, rMin, rMax },
  };
}

/** A task's display name: its `label` attribute, else its id. */
export function labelOf(spec: GraphSpec, id: string): string {
  const label = (spec.tasks[spec.index.get(id)!]!.attributes as { label?: unknown }).label;
  return typeof label === 'string' && label.length > 0 ? label : id;
}
