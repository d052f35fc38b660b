import { GraphSpecError, OptionsError, PlanError } from '../errors.js';
import { readGraph, type GraphSpec } from '../schema/validate.js';
import { TASK_KINDS } from '../schema/kinds/index.js';
import { getStrategy, type StrategyContext, type StrategyResult } from './registry.js';
import { runStrategy } from './run.js';
import {
  resolvePlanOptions,
  resolveStack,
  type PlanOptions,
  type ResolvedPlanOptions,
} from './options.js';
import { layersOf } from './layers.js';
import { countParams } from './params.js';
import { embeddedWidth, embeddingParams, planEmbeddings } from './embeddings.js';
import {
  PLAN_VERSION,
  type EmbeddingPlan,
  type HeadPlan,
  type LayerPlan,
  type Plan,
  type PlanTask,
} from './types.js';
import './strategies/index.js';

function headOf(task: GraphSpec['tasks'][number]): HeadPlan {
  return { units: task.outputs, activation: TASK_KINDS[task.kind].headActivation, loss: task.loss };
}

/** The heads' target scales from options.targetScale, checked against the graph's tasks. */
function scaledHeads(
  spec: GraphSpec,
  heads: Record<string, HeadPlan>,
  scales: ResolvedPlanOptions['targetScale'],
): Record<string, HeadPlan> {
  const byId = new Map(spec.tasks.map((t) => [t.id, t]));
  for (const [id, scale] of Object.entries(scales)) {
    const where = `options.targetScale.${id}`;
    const task = byId.get(id);
    if (!task)
      throw new OptionsError(
        `mtgraph/plan: options.targetScale names "${id}", which is no task of the graph → at ${where}. Use one of: ${[...byId.keys()].slice(0, 10).join(', ')}.`,
        { path: where, got: id },
      );
    if (task.kind !== 'regression')
      throw new OptionsError(
        `mtgraph/plan: options.targetScale names the ${task.kind} task "${id}"; only regression targets are scaled → at ${where}. Remove it.`,
        { path: where, got: task.kind },
      );
    const spread = (v: number | number[], what: 'mean' | 'std') => {
      const values = typeof v === 'number' ? Array.from({ length: task.outputs }, () => v) : v;
      if (values.length !== task.outputs)
        throw new OptionsError(
          `mtgraph/plan: options.targetScale.${id}.${what} has ${values.length} value(s) for ${task.outputs} output(s) → at ${where}.${what}. Give one number, or one per output.`,
          { path: `${where}.${what}`, got: values.length },
        );
      return [...values];
    };
    heads[id] = {
      ...heads[id]!,
      scale: { mean: spread(scale.mean, 'mean'), std: spread(scale.std, 'std') },
    };
  }
  return heads;
}

function context(
  spec: GraphSpec,
  options: ResolvedPlanOptions,
  inputWidth: number,
): StrategyContext {
  const towerByTask = new Map<string, LayerPlan[]>();
  for (const t of spec.tasks) {
    towerByTask.set(t.id, layersOf(t.head ? resolveStack(t.head, options.tower) : options.tower));
  }
  const heads = Object.fromEntries(spec.tasks.map((t) => [t.id, headOf(t)]));
  const ctx: StrategyContext = {
    spec,
    options,
    trunkLayers: layersOf(options.trunk),
    towerLayers: (task) => towerByTask.get(task)!.map((l) => ({ ...l })),
    strategy: (name) => {
      const s = getStrategy(name);
      if (!s)
        throw new PlanError(`mtgraph/plan: unknown strategy "${name}".`, {
          path: 'options.strategy',
          got: name,
        });
      return s;
    },
    countParams: (r) =>
      countParams(
        {
          blocks: r.blocks,
          towers: r.towers,
          heads,
          gates: r.gates ?? [],
          couplings: r.couplings ?? [],
        },
        inputWidth,
      ).total,
  };
  return ctx;
}

function checkTopology(spec: GraphSpec, r: StrategyResult, strategy: string): void {
  const ids = new Set<string>();
  for (const x of [...r.blocks, ...(r.gates ?? [])]) {
    if (ids.has(x.id))
      throw new PlanError(
        `mtgraph/plan: strategy "${strategy}" produced the id "${x.id}" twice; block and gate ids must be unique.`,
        { path: `blocks.${x.id}` },
      );
    ids.add(x.id);
  }
  for (const t of spec.tasks) {
    const tower = r.towers[t.id];
    if (!tower)
      throw new PlanError(`mtgraph/plan: strategy "${strategy}" gave task "${t.id}" no tower.`, {
        path: `towers.${t.id}`,
      });
    if (tower.parent !== null && !ids.has(tower.parent))
      throw new PlanError(
        `mtgraph/plan: the tower of "${t.id}" reads the unknown "${tower.parent}".`,
        { path: `towers.${t.id}.parent` },
      );
  }
}

/**
 * The strategy's topology with the towers of `inputsOnly` tasks reading the network input (their
 * own columns, picked when built) instead of a block or gate. Blocks and gates no tower reads any
 * more are dropped, and each block lists only the tasks whose path still goes through it.
 */
function readingOwnInputs(spec: GraphSpec, r: StrategyResult): StrategyResult {
  const own = new Set(spec.tasks.filter((t) => t.inputsOnly).map((t) => t.id));
  if (own.size === 0) return r;
  const towers = Object.fromEntries(
    Object.entries(r.towers).map(([id, t]) => [id, own.has(id) ? { ...t, parent: null } : t]),
  );
  const blocks = new Map(r.blocks.map((b) => [b.id, b]));
  const gates = new Map((r.gates ?? []).map((g) => [g.id, g]));
  const users = new Map<string, Set<string>>();
  const reach = (id: string | null, task: string) => {
    if (id === null) return;
    let set = users.get(id);
    if (set?.has(task)) return;
    if (!set) users.set(id, (set = new Set()));
    set.add(task);
    const b = blocks.get(id);
    if (b) reach(b.parent, task);
    const g = gates.get(id);
    if (g) {
      reach(g.parent, task);
      for (const e of g.experts) reach(e, task);
    }
  };
  for (const [task, t] of Object.entries(towers)) reach(t.parent, task);
  return {
    ...r,
    towers,
    blocks: r.blocks
      .filter((b) => users.has(b.id))
      .map((b) => ({ ...b, tasks: b.tasks.filter((t) => !own.has(t)) })),
    ...(r.gates ? { gates: r.gates.filter((g) => users.has(g.id)) } : {}),
  };
}

/**
 * Compiles a task graph into a Plan: the plain-JSON description of a multi-task network.
 * Pure and deterministic: the same graph, options and seed give byte-identical JSON.
 */
export function plan(graph: unknown, options: PlanOptions = {}): Plan {
  const spec = readGraph(graph);
  const resolved = resolvePlanOptions(options);
  const input = resolved.input ?? (spec.input?.features !== undefined ? spec.input : undefined);
  if (!input) {
    throw new OptionsError(
      'mtgraph/plan: the number of input features is unknown → at graph.input. Set the graph attribute input (e.g. new TaskGraph({ input: { features: 10 } })) or pass options.input.',
      { path: 'graph.input' },
    );
  }
  // The graph's embed applies under an options.input that names columns (the CLI's, from a CSV);
  // an options.input of a bare feature count replaces the graph's input entirely.
  const embed = resolved.input
    ? (resolved.input.embed ?? (input.columns ? spec.input?.embed : undefined))
    : input.embed;
  const embeddings = planEmbeddings(input, embed, resolved.vocabularies);
  const width = embeddedWidth(input.features, embeddings);
  const ctx = context(spec, resolved, width);
  const result = readingOwnInputs(spec, runStrategy(ctx, getStrategy(resolved.strategy)!));
  const used = result.strategy ?? resolved.strategy;
  checkTopology(spec, result, used);
  const tasks: PlanTask[] = spec.tasks.map((t) => ({
    id: t.id,
    kind: t.kind,
    outputs: t.outputs,
    outputNames: t.outputNames,
    loss: t.loss,
    ...(t.lossOptions ? { lossOptions: t.lossOptions } : {}),
    ...(t.condition !== undefined ? { condition: t.condition } : {}),
    ...(t.reads ? { reads: t.reads } : {}),
    ...(t.readsStopGradient !== undefined ? { readsStopGradient: t.readsStopGradient } : {}),
    ...(t.inputs
      ? { inputs: t.inputs, inputColumns: taskInputColumns(t.id, t.inputs, input.columns) }
      : {}),
    ...(t.inputsOnly ? { inputsOnly: true } : {}),
    weight: t.weight,
    target: t.target,
    metrics: t.metrics,
  }));
  const towers = Object.fromEntries(spec.tasks.map((t) => [t.id, result.towers[t.id]!]));
  const heads = scaledHeads(
    spec,
    Object.fromEntries(spec.tasks.map((t) => [t.id, headOf(t)])),
    resolved.targetScale,
  );
  const gates = result.gates ?? [];
  const couplings = result.couplings ?? [];
  const reads = Object.fromEntries(spec.tasks.flatMap((t) => (t.reads ? [[t.id, t.reads]] : [])));
  const extraInputs = Object.fromEntries(
    tasks.flatMap((t) => (t.inputColumns ? [[t.id, t.inputColumns.length]] : [])),
  );
  if (embeddings) checkTaskInputs(tasks, embeddings);
  const params = countParams(
    {
      blocks: result.blocks,
      towers,
      heads,
      gates,
      couplings,
      reads,
      extraInputs,
      inputsOnly: tasks.flatMap((t) => (t.inputsOnly ? [t.id] : [])),
    },
    width,
  );
  if (embeddings) {
    params.embeddings = embeddingParams(embeddings);
    params.total += Object.values(params.embeddings).reduce((a, b) => a + b, 0);
  }
  if (params.total > resolved.maxParams) {
    throw new OptionsError(
      `mtgraph/plan: the ${used} network would have ${params.total.toLocaleString('en-US')} parameters (expected at most ${resolved.maxParams.toLocaleString('en-US')}, options.maxParams) → at options.maxParams. Use fewer or narrower layers or experts, or raise maxParams if the machine has the memory (4 bytes per parameter, 3x that with Adam).`,
      { path: 'options.maxParams', got: params.total },
    );
  }
  const out: Plan = {
    version: PLAN_VERSION,
    strategy: used,
    requested: resolved.strategy,
    seed: resolved.seed,
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    input: embed && !input.embed ? { ...input, embed } : input,
    ...(embeddings ? { embeddings } : {}),
    tasks,
    blocks: result.blocks,
    towers,
    heads,
    couplings,
    gates,
    ...(result.groups ? { groups: result.groups } : {}),
    params,
    notes: result.notes,
  };
  return out;
}

/** A task's own inputs may not name an embedded column (its ids are no feature). */
function checkTaskInputs(tasks: readonly PlanTask[], embeddings: readonly EmbeddingPlan[]): void {
  for (const t of tasks) {
    const hit = embeddings.find((e) => t.inputColumns?.includes(e.index));
    if (hit)
      throw new GraphSpecError(
        `mtgraph/plan: task "${t.id}" reads the embedded column ${JSON.stringify(hit.column)} as an input of its own (got inputs ${JSON.stringify(t.inputs)}; expected columns that are not embedded) → at tasks.${t.id}.inputs. Its embedding already feeds the shared representation: remove it from inputs, or stop embedding it.`,
        { path: `tasks.${t.id}.inputs`, got: hit.column },
      );
  }
}

/**
 * The model input columns of a task's `inputs`: a name is an input column, or a source column
 * whose one-hot columns are named `name=value` (all of them, in order).
 */
function taskInputColumns(
  task: string,
  names: readonly string[],
  columns?: readonly string[],
): number[] {
  const path = `tasks.${task}.inputs`;
  if (!columns) {
    throw new GraphSpecError(
      `mtgraph/plan: task "${task}" lists inputs but the graph's input has no column names → at ${path}. Name the input columns (input: { columns: [...] }, as the CLI does from the CSV header), or drop inputs.`,
      { path, got: names },
    );
  }
  const out: number[] = [];
  names.forEach((name, i) => {
    const exact = columns.indexOf(name);
    const found =
      exact >= 0 ? [exact] : columns.flatMap((c, j) => (c.startsWith(`${name}=`) ? [j] : []));
    if (found.length === 0) {
      throw new GraphSpecError(
        `mtgraph/plan: task "${task}" reads an unknown input column (got ${JSON.stringify(name)}; expected one of ${columns.slice(0, 10).join(', ')}${columns.length > 10 ? ', ...' : ''}) → at ${path}[${i}]. Name columns of the graph's input.`,
        { path: `${path}[${i}]`, got: name },
      );
    }
    for (const j of found) if (!out.includes(j)) out.push(j);
  });
  return out;
}
