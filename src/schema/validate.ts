import type { z } from 'zod';
import {
  GraphSpecError,
  GraphStructureError,
  type MtgraphError,
  MAX_LISTED_PROBLEMS,
  UnsafeKeyError,
  capText,
  listProblems,
  show,
} from '../errors.js';
import {
  findUnsafeKey,
  isPlainObject,
  joinPath,
  UNSAFE_KEYS,
  type LayerStackInput,
} from './common.js';
import { TASK_KINDS, taskKind, type TaskAttributes, type TaskKindName } from './kinds/index.js';
import { AffinityAttributesSchema, type AffinityAttributes, type SharingMode } from './affinity.js';
import { checkChains } from './chains.js';
import {
  GraphAttributesSchema,
  type GraphAttributes,
  type EmbedSpec,
  type GraphInputSpec,
  type InputSpec,
} from './graph-attributes.js';

const SCOPE = 'mtgraph/spec';

/** A validated task, with every default filled in. */
export interface TaskSpec {
  id: string;
  kind: TaskKindName;
  /** Number of head outputs (1 for binary, classes for multiclass...). */
  outputs: number;
  outputNames: string[];
  loss: string;
  /** Settings of the loss, when the task gives any. */
  lossOptions?: Record<string, number>;
  /** The binary task this one can only follow (ESMM), when given. */
  condition?: string;
  /** Tasks whose tower outputs this task's tower also reads, when given. */
  reads?: string[];
  readsStopGradient?: boolean;
  /** Feature columns joined to this task's tower input, when given. */
  inputs?: string[];
  /** With inputs: the tower reads them instead of the shared representation. */
  inputsOnly?: boolean;
  weight: number;
  /** The task's own tower layers, when it declares them. */
  head?: LayerStackInput;
  target: string[];
  metrics: string[];
  attributes: TaskAttributes;
}

/** A validated affinity. `index` is the edge's position in the graph's edge order. */
export interface AffinitySpec {
  index: number;
  source: string;
  target: string;
  weight: number;
  sharing: SharingMode;
  /** Where the weight comes from (the edge's `source` attribute: 'declared', 'lookahead'...), when it says. */
  origin?: string;
}

/** A task graph read into plain data: what every planner and analysis works on. */
export interface GraphSpec {
  name?: string;
  description?: string;
  input?: GraphInputSpec;
  tasks: TaskSpec[];
  affinities: AffinitySpec[];
  /** Position of each task id in `tasks`. */
  index: Map<string, number>;
}

/**
 * Converts a failed zod parse into a GraphSpecError naming the first problem, then the next few
 * and a count of the rest ("and 999,997 more"): the text stays short however bad the input.
 */
/**
 * A union's issue, replaced by the issue of the one branch the value had the type of (an object
 * given to `number | { ... }` is reported by the object's own issue, `dim must be at least 1 →
 * at input.embed.city`, not by the union's generic message). Unchanged when no single branch
 * matched the type.
 */
function unionBranchIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union' || !Array.isArray(issue.errors)) return issue;
  const typed = issue.errors.filter(
    (branch) =>
      branch.length > 0 && !(branch[0]!.code === 'invalid_type' && branch[0]!.path.length === 0),
  );
  if (typed.length !== 1) return issue;
  const inner = typed[0]![0]!;
  return unionBranchIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue);
}

export function zodError(
  error: z.ZodError,
  base: string,
  ErrorClass: new (
    m: string,
    d: { path: string; got?: unknown; cause?: unknown },
  ) => MtgraphError = GraphSpecError,
  scope = SCOPE,
): MtgraphError {
  const first = unionBranchIssue(error.issues[0]!);
  // An unknown key is reported at the key itself (`tasks.x.clases`), with a readable message.
  const keys = first.code === 'unrecognized_keys' ? first.keys : [];
  const unknownKey = keys[0];
  const path = capText(
    joinPath(base, unknownKey === undefined ? first.path : [...first.path, unknownKey]),
    200,
  );
  const shownKeys = keys.slice(0, MAX_LISTED_PROBLEMS).map((k) => JSON.stringify(capText(k, 60)));
  if (keys.length > MAX_LISTED_PROBLEMS)
    shownKeys.push(`${keys.length - MAX_LISTED_PROBLEMS} more`);
  const text =
    unknownKey !== undefined && first.message.startsWith('Unrecognized key')
      ? `unknown key ${shownKeys.join(', ')}. Check the spelling or remove it.`
      : first.message;
  let message = `${scope}: ${capText(text, 600)} → at ${path || '(root)'}`;
  if (error.issues.length > 1) {
    const rest = error.issues
      .slice(1, 1 + MAX_LISTED_PROBLEMS)
      .map(
        (issue) =>
          `✖ ${capText(issue.message, 300)} → at ${capText(joinPath(base, issue.path), 200) || '(root)'}`,
      );
    const lines = listProblems(rest, error.issues.length - 1);
    message += `\n${lines.join('\n')}`;
  }
  return new ErrorClass(message, { path, cause: error });
}

/** Refuses ids that are not non-empty strings, or that could pollute prototypes. */
export function checkTaskId(id: unknown, path: string): string {
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new GraphSpecError(
      `${SCOPE}: a task id must be a string (got ${show(id)}) → at ${path}. Use a short name such as "click".`,
      { path, got: id },
    );
  }
  const key = String(id);
  if (key.length === 0) {
    throw new GraphSpecError(
      `${SCOPE}: a task id must not be empty → at ${path}. Use a short name such as "click".`,
      { path, got: id },
    );
  }
  if (UNSAFE_KEYS.has(key) || key === 'hasOwnProperty') {
    const why =
      key === 'hasOwnProperty'
        ? "graphology calls each node's neighbour index's hasOwnProperty, so it cannot be a neighbour's name; other Object.prototype names such as toString work"
        : 'it would reach Object.prototype';
    throw new UnsafeKeyError(
      `${SCOPE}: ${JSON.stringify(key)} cannot be a task id (${why}) → at ${path}. Rename the task.`,
      { path, got: key },
    );
  }
  return key;
}

function checkContainer(
  value: unknown,
  path: string,
  what: string,
  example: string,
): Record<string, unknown> {
  if (!isPlainObject(value)) {
    throw new GraphSpecError(
      `${SCOPE}: ${what} must be a plain object (got ${show(value)}) → at ${path}. Write e.g. ${example}.`,
      { path, got: value },
    );
  }
  const unsafe = findUnsafeKey(value, path);
  if (unsafe) {
    throw new UnsafeKeyError(
      `${SCOPE}: the key ${JSON.stringify(unsafe.key)} is not allowed (it could pollute Object.prototype) → at ${unsafe.path}. Remove it.`,
      { path: unsafe.path, got: unsafe.key },
    );
  }
  return value;
}

/** Validates a task's attributes; throws a GraphSpecError at `tasks.<id>.<attribute>`. */
export function parseTaskAttributes(id: string, attributes: unknown): TaskAttributes {
  const base = `tasks.${id}`;
  const attrs = checkContainer(
    attributes,
    base,
    `the attributes of task "${id}"`,
    "{ kind: 'binary' }",
  );
  const kindName = attrs.kind;
  const kind = typeof kindName === 'string' ? taskKind(kindName) : undefined;
  if (!kind) {
    const path = `${base}.kind`;
    const known = Object.keys(TASK_KINDS).join(', ');
    const found = kindName === undefined ? 'no kind' : show(kindName);
    throw new GraphSpecError(
      `${SCOPE}: unknown task kind (got ${found}; expected one of ${known}) → at ${path}. Set kind, e.g. { kind: 'binary' }.`,
      { path, got: kindName },
    );
  }
  const result = kind.schema.safeParse(attrs);
  if (!result.success) throw zodError(result.error, base);
  return result.data as TaskAttributes;
}

/** Validates an affinity's attributes; throws a GraphSpecError at `edges[i]...`. */
export function parseAffinityAttributes(path: string, attributes: unknown): AffinityAttributes {
  if (attributes === undefined) return {};
  const attrs = checkContainer(attributes, path, 'affinity attributes', '{ weight: 0.5 }');
  // Fast path for the common `{ weight }` edge: large graphs have thousands.
  const keys = Object.keys(attrs);
  if (keys.length === 1 && keys[0] === 'weight') {
    const w = attrs.weight;
    if (typeof w === 'number' && w >= -1 && w <= 1) return { weight: w };
  }
  const result = AffinityAttributesSchema.safeParse(attrs);
  if (!result.success) throw zodError(result.error, path);
  return result.data;
}

export function parseGraphAttributes(attributes: unknown): GraphAttributes {
  const attrs = checkContainer(
    attributes ?? {},
    'graph',
    'graph attributes',
    '{ input: { features: 10 } }',
  );
  const result = GraphAttributesSchema.safeParse(attrs);
  if (!result.success) throw zodError(result.error, 'graph');
  return result.data;
}

/** The graph input in one form; undefined when the graph does not say. */
export function normaliseInput(input: GraphAttributes['input']): InputSpec | undefined {
  if (input === undefined) return undefined;
  if (typeof input === 'number') return { features: input };
  const { features, columns, categorical } = input;
  if (features !== undefined && columns !== undefined && features !== columns.length) {
    throw new GraphSpecError(
      `${SCOPE}: input.features and input.columns disagree (got features: ${features} but ${columns.length} column name(s)) → at graph.input. Give one of them, or make them match.`,
      { path: 'graph.input', got: input },
    );
  }
  if (features === undefined && columns === undefined) {
    throw new GraphSpecError(
      `${SCOPE}: input needs features or columns (got neither) → at graph.input. Write input: { features: 10 } or input: { columns: [...] }.`,
      { path: 'graph.input' },
    );
  }
  const spec: InputSpec = { features: features ?? columns!.length };
  if (columns) spec.columns = [...columns];
  if (categorical) {
    const unknown = columns ? categorical.find((c) => !columns.includes(c)) : undefined;
    if (unknown !== undefined) {
      throw new GraphSpecError(
        `${SCOPE}: categorical column ${JSON.stringify(unknown)} is not one of the input columns → at graph.input.categorical. Add it to input.columns or remove it.`,
        { path: 'graph.input.categorical', got: unknown },
      );
    }
    spec.categorical = [...categorical];
  }
  const embed = normaliseEmbed(input, columns);
  if (embed) spec.embed = embed;
  return spec;
}

/**
 * The embedded columns of an input object, each as { dim, buckets?, minCount } (minCount from the
 * column, else input.minCount, else 1). An embedded column must be one of the input columns (when
 * they are named) and must not also be listed as categorical (one-hot / integer codes).
 */
function normaliseEmbed(
  input: Exclude<GraphAttributes['input'], number | undefined>,
  columns: readonly string[] | undefined,
): Record<string, EmbedSpec> | undefined {
  if (input.embed === undefined) {
    if (input.minCount !== undefined)
      throw new GraphSpecError(
        `${SCOPE}: input.minCount is set but no column is embedded (got minCount: ${input.minCount}; expected input.embed) → at graph.input.minCount. Embed a column (input: { embed: { city: 8 } }) or drop minCount.`,
        { path: 'graph.input.minCount', got: input.minCount },
      );
    return undefined;
  }
  const names = Object.keys(input.embed);
  if (names.length === 0)
    throw new GraphSpecError(
      `${SCOPE}: input.embed names no column (got {}) → at graph.input.embed. Write embed: { city: 8 }, or drop embed.`,
      { path: 'graph.input.embed', got: input.embed },
    );
  const out: Record<string, EmbedSpec> = {};
  for (const name of names) {
    const path = `graph.input.embed.${name}`;
    if (UNSAFE_KEYS.has(name))
      throw new UnsafeKeyError(
        `${SCOPE}: the embedded column name ${JSON.stringify(name)} is reserved → at ${path}. Rename the column.`,
        { path, got: name },
      );
    if (columns && !columns.includes(name))
      throw new GraphSpecError(
        `${SCOPE}: embedded column ${JSON.stringify(name)} is not one of the input columns (got ${JSON.stringify(name)}; expected one of ${columns.slice(0, 10).join(', ')}${columns.length > 10 ? ', ...' : ''}) → at ${path}. Add it to input.columns or remove it from embed.`,
        { path, got: name },
      );
    if (input.categorical?.includes(name))
      throw new GraphSpecError(
        `${SCOPE}: column ${JSON.stringify(name)} is both embedded and categorical (got it in input.embed and input.categorical; expected one encoding) → at ${path}. Remove it from input.categorical: an embedded column is already read as categories.`,
        { path, got: name },
      );
    const given = input.embed[name]!;
    const e = typeof given === 'number' ? { dim: given } : given;
    out[name] = {
      dim: e.dim,
      ...('buckets' in e && e.buckets !== undefined ? { buckets: e.buckets } : {}),
      minCount: ('minCount' in e ? e.minCount : undefined) ?? input.minCount ?? 1,
    };
    if (out[name]!.buckets !== undefined && 'minCount' in e && e.minCount !== undefined)
      throw new GraphSpecError(
        `${SCOPE}: embedded column ${JSON.stringify(name)} sets both buckets and minCount (got buckets: ${out[name]!.buckets}, minCount: ${e.minCount}; expected one) → at ${path}. Hashing has no vocabulary to fold rare values into: drop minCount, or drop buckets to fit a vocabulary.`,
        { path, got: given },
      );
  }
  return out;
}

/**
 * The graph's input in one form: as normaliseInput, and also only categorical and embedded
 * columns (`input: { categorical: ['city'] }`, `input: { embed: { user: 16 } }`), whose features
 * the data then decides.
 */
export function normaliseGraphInput(input: GraphAttributes['input']): GraphInputSpec | undefined {
  if (
    typeof input === 'object' &&
    input.features === undefined &&
    input.columns === undefined &&
    (input.categorical !== undefined || input.embed !== undefined || input.minCount !== undefined)
  ) {
    const embed = normaliseEmbed(input, undefined);
    return {
      ...(input.categorical !== undefined ? { categorical: [...input.categorical] } : {}),
      ...(embed ? { embed } : {}),
    };
  }
  return normaliseInput(input);
}

/** Fills in a task's defaults from its kind. */
export function taskSpec(id: string, attributes: TaskAttributes): TaskSpec {
  const kind = TASK_KINDS[attributes.kind];
  const target =
    attributes.target === undefined
      ? [id]
      : typeof attributes.target === 'string'
        ? [attributes.target]
        : [...attributes.target];
  const spec: TaskSpec = {
    id,
    kind: attributes.kind,
    outputs: kind.outputs(attributes),
    outputNames: kind.outputNames(attributes, id),
    loss: attributes.loss ?? kind.losses[0],
    weight: attributes.weight ?? 1,
    target,
    metrics: attributes.metrics ? [...attributes.metrics] : [...kind.defaultMetrics],
    attributes,
  };
  if (attributes.head) spec.head = attributes.head;
  if (attributes.lossOptions) spec.lossOptions = { ...attributes.lossOptions };
  if (attributes.condition !== undefined) spec.condition = attributes.condition;
  if (attributes.reads && attributes.reads.length > 0) spec.reads = [...attributes.reads];
  if (attributes.inputs) spec.inputs = [...attributes.inputs];
  if (attributes.inputsOnly) {
    if (!attributes.inputs) {
      throw new GraphSpecError(
        `${SCOPE}: task "${id}" sets inputsOnly but lists no inputs (got inputsOnly: true; expected inputs: [columns...]) → at tasks.${id}.inputsOnly. List the columns its tower reads (inputs: ['age', 'city']), or drop inputsOnly.`,
        { path: `tasks.${id}.inputsOnly`, got: true },
      );
    }
    spec.inputsOnly = true;
  }
  if (attributes.readsStopGradient !== undefined)
    spec.readsStopGradient = attributes.readsStopGradient;
  return spec;
}

interface GraphLike {
  type: string;
  multi: boolean;
  order: number;
  forEachNode(cb: (node: string, attributes: unknown) => void): void;
  forEachEdge(
    cb: (
      edge: string,
      attributes: unknown,
      source: string,
      target: string,
      sa: unknown,
      ta: unknown,
      undirected: boolean,
    ) => void,
  ): void;
  getAttributes(): unknown;
}

function isGraphLike(value: unknown): value is GraphLike {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as GraphLike).forEachNode === 'function' &&
    typeof (value as GraphLike).forEachEdge === 'function' &&
    typeof (value as GraphLike).type === 'string'
  );
}

/** Builds a graph from graphology's serialized JSON; TaskGraph.from registers itself here (schema/ does not import graph/). */
let serializedReader: ((data: unknown) => unknown) | undefined;

/** Registers how `readGraph` turns serialized JSON into a graph (called by the TaskGraph module). */
export function registerSerializedReader(read: (data: unknown) => unknown): void {
  serializedReader = read;
}

/** JSON text parsed, or a GraphSpecError / given error class naming the syntax problem. */
export function parseJsonText(
  text: string,
  what: string,
  ErrorClass: new (m: string, d: { path: string; got?: unknown }) => MtgraphError = GraphSpecError,
  scope = SCOPE,
): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const why = error instanceof RangeError ? 'nested too deeply' : (error as Error).message;
    throw new ErrorClass(
      `${scope}: the string given as ${what} is not JSON (${capText(why, 200)}) → at (root). Pass the parsed object, a graph, or valid JSON text.`,
      { path: '', got: capText(text, 60) },
    );
  }
}

/**
 * Validates any graphology graph as a task graph and reads it into plain data.
 * Accepts a TaskGraph, a plain graphology `UndirectedGraph` / `Graph({ type: 'undirected' })`,
 * graphology's serialized JSON (`graph.export()`, as in graphs/*.json), or that JSON as text.
 */
export function readGraph(graph: unknown): GraphSpec {
  if (typeof graph === 'string') graph = parseJsonText(graph, 'a task graph');
  if (isPlainObject(graph) && 'nodes' in graph && serializedReader) graph = serializedReader(graph);
  if (!isGraphLike(graph)) {
    throw new GraphStructureError(
      `${SCOPE}: expected a graphology graph (got ${show(graph)}). Build one with new TaskGraph(), pass its serialized JSON (graph.export()) or load a file with loadGraph(path).`,
      { path: '', got: graph },
    );
  }
  if (graph.type !== 'undirected') {
    throw new GraphStructureError(
      `${SCOPE}: a task graph must be undirected (got a ${graph.type} graph) → at graph.type. Affinities are symmetric: use new TaskGraph() or graphology's UndirectedGraph.`,
      { path: 'graph.type', got: graph.type },
    );
  }
  if (graph.order === 0) {
    throw new GraphStructureError(
      `${SCOPE}: the graph has no tasks → at tasks. Add at least one task with graph.addTask(id, { kind }).`,
      { path: 'tasks' },
    );
  }
  const attributes = parseGraphAttributes(graph.getAttributes());
  const tasks: TaskSpec[] = [];
  const index = new Map<string, number>();
  graph.forEachNode((node, attrs) => {
    const id = checkTaskId(node, `tasks.${node}`);
    index.set(id, tasks.length);
    tasks.push(taskSpec(id, parseTaskAttributes(id, attrs)));
  });
  const affinities: AffinitySpec[] = [];
  const seen = graph.multi ? new Set<string>() : undefined;
  let i = 0;
  graph.forEachEdge((_edge, attrs, source, target) => {
    const path = `edges[${i}]`;
    if (source === target) {
      throw new GraphStructureError(
        `${SCOPE}: self-loop on task "${source}" → at ${path}. A task's affinity with itself is implicit: remove the edge.`,
        { path, got: source },
      );
    }
    if (seen) {
      const pair = source < target ? `${source}\u0000${target}` : `${target}\u0000${source}`;
      if (seen.has(pair)) {
        throw new GraphStructureError(
          `${SCOPE}: parallel affinity between "${source}" and "${target}" → at ${path}. Keep one edge per pair and combine the weights.`,
          { path, got: [source, target] },
        );
      }
      seen.add(pair);
    }
    const a = parseAffinityAttributes(path, attrs);
    const affinity: AffinitySpec = {
      index: i,
      source,
      target,
      weight: a.weight ?? 1,
      sharing: a.sharing ?? 'auto',
    };
    if (a.source !== undefined) affinity.origin = a.source;
    affinities.push(affinity);
    i++;
  });
  checkChains(tasks);
  const spec: GraphSpec = { tasks, affinities, index };
  if (attributes.name !== undefined) spec.name = attributes.name;
  if (attributes.description !== undefined) spec.description = attributes.description;
  const input = normaliseGraphInput(attributes.input);
  if (input) spec.input = input;
  return spec;
}
