/**
 * Seeded ForceAtlas2 layout (graphology-layout-forceatlas2) in bounded time: the number of
 * iterations shrinks as the graph grows, and Barnes-Hut turns on for large graphs.
 */
import { UndirectedGraph } from 'graphology';
import { safeNeighbours } from '../graph/safe-neighbours.js';
import forceAtlas2Import from 'graphology-layout-forceatlas2';
import type { ForceAtlas2Settings } from 'graphology-layout-forceatlas2';
import { OptionsError } from '../errors.js';
import { seededRandom } from '../graph/random.js';
import type { GraphSpec } from '../schema/validate.js';
import { SCOPE } from './options.js';

// CommonJS package: the runtime default export is the layout function itself.
const forceAtlas2 = forceAtlas2Import as unknown as (typeof forceAtlas2Import)['default'];

/** Above this many tasks, 'auto' uses the Barnes-Hut approximation. */
export const BARNES_HUT_FROM = 500;
/** 'auto' iterations: ITERATION_BUDGET / (tasks + affinities / 2), clamped to [MIN, MAX]. */
export const ITERATION_BUDGET = 1_500_000;
export const MIN_ITERATIONS = 100;
export const MAX_ITERATIONS = 500;

export interface GraphLayout {
  /** Positions in task order (the order of `readGraph(graph).tasks`), y pointing up. */
  x: Float64Array;
  y: Float64Array;
  iterations: number;
  barnesHut: boolean;
  /** The ForceAtlas2 settings used. */
  settings: ForceAtlas2Settings;
  /** 'forceatlas2', or 'positions' when the graph's own x, y were used. */
  source: 'forceatlas2' | 'positions';
  ms: number;
}

export interface ResolvedLayoutOptions {
  seed: number;
  iterations: number | 'auto';
  barnesHut: boolean | 'auto';
  forceAtlas2?: ForceAtlas2Settings;
  usePositions: boolean;
}

/** The number of iterations 'auto' gives a graph of this size. */
export function autoIterations(tasks: number, affinities: number): number {
  return Math.max(
    MIN_ITERATIONS,
    Math.min(MAX_ITERATIONS, Math.round(ITERATION_BUDGET / (tasks + affinities / 2))),
  );
}

/** The ForceAtlas2 settings mtgraph uses for a graph of `order` tasks (graphology's inferred settings, Barnes-Hut as asked). */
export function layoutSettings(
  order: number,
  options: Pick<ResolvedLayoutOptions, 'barnesHut' | 'forceAtlas2'>,
): ForceAtlas2Settings {
  const barnesHutOptimize =
    options.barnesHut === 'auto' ? order > BARNES_HUT_FROM : options.barnesHut;
  return { ...forceAtlas2.inferSettings(order), barnesHutOptimize, ...options.forceAtlas2 };
}

/** A graphology graph with seeded initial positions and the layout weights (positive affinities attract; negative ones do not). */
export function layoutInput(spec: GraphSpec, seed: number): UndirectedGraph {
  const rand = seededRandom(seed);
  const n = spec.tasks.length;
  const spread = 10 * Math.sqrt(n);
  const g = safeNeighbours(new UndirectedGraph({ allowSelfLoops: false }));
  for (const t of spec.tasks)
    g.addNode(t.id, { x: (rand() * 2 - 1) * spread, y: (rand() * 2 - 1) * spread, size: 1 });
  for (const a of spec.affinities)
    g.mergeEdge(a.source, a.target, { weight: Math.max(0, a.weight) });
  return g;
}

/** Lays out the tasks of `spec`: ForceAtlas2 from seeded positions, or the graph's own x, y with `usePositions`. */
export function computeLayout(spec: GraphSpec, options: ResolvedLayoutOptions): GraphLayout {
  const t0 = performance.now();
  const n = spec.tasks.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const settings = layoutSettings(n, options);
  if (options.usePositions) {
    spec.tasks.forEach((t, i) => {
      const { x: px, y: py } = t.attributes as { x?: unknown; y?: unknown };
      if (
        typeof px !== 'number' ||
        typeof py !== 'number' ||
        !Number.isFinite(px) ||
        !Number.isFinite(py)
      ) {
        throw new OptionsError(
          `${SCOPE}: usePositions needs finite x and y on every task (task ${JSON.stringify(t.id)} has x ${String(px)}, y ${String(py)}) → at tasks.${t.id}.x. Run the layout once with writePositions: true, or drop usePositions.`,
          { path: `tasks.${t.id}.x`, got: px },
        );
      }
      x[i] = px;
      y[i] = py;
    });
    return {
      x,
      y,
      iterations: 0,
      barnesHut: false,
      settings,
      source: 'positions',
      ms: performance.now() - t0,
    };
  }
  const iterations =
    options.iterations === 'auto' ? autoIterations(n, spec.affinities.length) : options.iterations;
  const g = layoutInput(spec, options.seed);
  if (n > 1) forceAtlas2.assign(g, { iterations, settings, getEdgeWeight: 'weight' });
  spec.tasks.forEach((t, i) => {
    x[i] = g.getNodeAttribute(t.id, 'x') as number;
    y[i] = g.getNodeAttribute(t.id, 'y') as number;
  });
  return {
    x,
    y,
    iterations: n > 1 ? iterations : 0,
    barnesHut: settings.barnesHutOptimize === true,
    settings,
    source: 'forceatlas2',
    ms: performance.now() - t0,
  };
}
