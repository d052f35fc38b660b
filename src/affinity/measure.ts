import { TaskGraph } from '../graph/task-graph.js';
import { readGraph, type GraphSpec } from '../schema/validate.js';
import type { TaskAttributes } from '../schema/kinds/index.js';
import type { GraphAttributes } from '../schema/graph-attributes.js';
import { resolveAffinityOptions, type MeasureAffinityOptions } from './options.js';
import { getAffinityMethod } from './registry.js';
import './label-correlation.js';
import './lookahead.js';
import './gradient-cosine.js';

const SCOPE = 'mtgraph/measureAffinity';

/** Weights on the learned graph are rounded to this many decimals (the matrices keep full precision). */
const DECIMALS = 4;

/** What `measureAffinity` returns. */
export interface AffinityResult {
  /** The same tasks and graph attributes, with one edge per measured pair: the symmetric weight in [-1, 1], `source` = the method. */
  graph: TaskGraph;
  /** Directed affinities in [-1, 1]: `matrix[i][j]` = effect of task `tasks[i]` on task `tasks[j]`; NaN where never measured. */
  matrix: number[][];
  /** The values before scaling (lookahead: the mean Z(i->j); the same as `matrix` for the other methods). */
  raw: number[][];
  /** Task ids, in graph order (the rows and columns of the matrices). */
  tasks: string[];
  method: string;
  /** Measured steps the averages are over (0 for label-correlation). */
  steps: number;
  /** Joint training steps taken (0 for label-correlation). */
  trainingSteps: number;
  /** How the weights were obtained, and what was left out. */
  notes: string[];
}

/** The symmetric weight of a pair: the mean of the measured directions, NaN when neither was measured. */
function symmetric(matrix: number[][], i: number, j: number): number {
  const a = matrix[i]![j]!;
  const b = matrix[j]![i]!;
  if (Number.isFinite(a) && Number.isFinite(b)) return (a + b) / 2;
  return Number.isFinite(a) ? a : b;
}

/** A new TaskGraph with the tasks and graph attributes of `spec` (copied) and the learned weights as edges. */
function learnedGraph(
  graph: unknown,
  spec: GraphSpec,
  matrix: number[][],
  method: string,
  threshold: number,
): { graph: TaskGraph; dropped: number; unmeasured: number } {
  const attributes = structuredClone(
    (graph as { getAttributes(): GraphAttributes }).getAttributes(),
  );
  const out = new TaskGraph(attributes);
  for (const t of spec.tasks) out.addTask(t.id, structuredClone(t.attributes) as TaskAttributes);
  const scale = 10 ** DECIMALS;
  let dropped = 0;
  let unmeasured = 0;
  spec.tasks.forEach((a, i) => {
    for (let j = i + 1; j < spec.tasks.length; j++) {
      const w = symmetric(matrix, i, j);
      if (!Number.isFinite(w)) {
        unmeasured++;
        continue;
      }
      const weight = Math.max(-1, Math.min(1, Math.round(w * scale) / scale)) || 0;
      if (Math.abs(weight) < threshold) {
        dropped++;
        continue;
      }
      out.addAffinity(a.id, spec.tasks[j]!.id, { weight, source: method });
    }
  });
  return { graph: out, dropped, unmeasured };
}

/**
 * Learns task affinities from data and returns them as a new task graph, ready for `plan()`:
 * the same tasks and attributes, one edge per measured pair with the symmetric weight in
 * [-1, 1] (`source` set to the method), and the directed matrix alongside.
 *
 * Methods (options.method):
 * - `'lookahead'` (default): task affinity grouping (Fifty et al. 2021): how a step on one task's
 *   gradient changes the others' losses, on the shared parameters of a jointly trained model.
 * - `'gradient-cosine'`: cosine similarity of the per-task gradients on the shared parameters.
 * - `'label-correlation'`: correlation of the targets on rows labelled for both tasks; no training.
 *
 * "Affinity" here means: training on one task helps (positive) or hurts (negative) the other
 * through shared parameters, on this data, model and point of training. It does not mean the
 * targets are similar: a task and its negation have label correlation -1, yet through a shared
 * trunk with separate heads they help each other (a head absorbs the sign flip), so the
 * training-based methods rate them as related. Options are validated (OptionsError) and the data
 * too (DataError) before any tensor exists; every tensor created is freed.
 */
export async function measureAffinity(
  graph: unknown,
  data: unknown,
  options: MeasureAffinityOptions = {},
): Promise<AffinityResult> {
  const resolved = resolveAffinityOptions(options);
  const spec = readGraph(graph);
  const method = getAffinityMethod(resolved.method)!;
  const m = await method.measure({ graph, spec, data, options: resolved, scope: SCOPE });
  const learned = learnedGraph(graph, spec, m.matrix, method.name, resolved.threshold);
  const notes = [...m.notes];
  if (learned.unmeasured > 0)
    notes.push(`${learned.unmeasured} pair(s) could not be measured: no edge.`);
  if (learned.dropped > 0)
    notes.push(
      `${learned.dropped} edge(s) with |weight| below the threshold ${resolved.threshold} were left out.`,
    );
  return {
    graph: learned.graph,
    matrix: m.matrix,
    raw: m.raw,
    tasks: spec.tasks.map((t) => t.id),
    method: method.name,
    steps: m.steps,
    trainingSteps: m.trainingSteps,
    notes,
  };
}
