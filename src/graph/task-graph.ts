import { UndirectedGraph } from 'graphology';
import type { GraphOptions } from 'graphology-types';
import { safeNeighbours } from './safe-neighbours.js';
import {
  DuplicateTaskError,
  MtgraphError,
  GraphSpecError,
  GraphStructureError,
  UnknownTaskError,
  UnsafeKeyError,
  show,
} from '../errors.js';
import {
  checkTaskId,
  parseAffinityAttributes,
  parseGraphAttributes,
  parseTaskAttributes,
  registerSerializedReader,
  normaliseGraphInput,
  zodError,
} from '../schema/validate.js';
import { isPlainObject, findUnsafeKey } from '../schema/common.js';
import { SerializedGraphSchema } from '../schema/serialized.js';
import type { TaskAttributes } from '../schema/kinds/index.js';
import type { AffinityAttributes } from '../schema/affinity.js';
import type { GraphAttributes } from '../schema/graph-attributes.js';

const SCOPE = 'mtgraph/TaskGraph';

/** Runs fn; an MtgraphError it raises also names the entry of the serialized file (`nodes[2]`). */
function inFile<T>(entry: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof MtgraphError && !error.message.includes(`(${entry} in the file)`))
      error.message += ` (${entry} in the file)`;
    throw error;
  }
}

/**
 * graphology's UndirectedGraph of tasks, typed without its static `from` (generic over any
 * attributes), which TaskGraph.from replaces by one that returns a validated TaskGraph. Declared
 * this way, mtgraph's .d.ts type-checks in any consumer (no `@ts-expect-error` to lose).
 */
const TaskGraphBase = UndirectedGraph as unknown as new (
  options?: GraphOptions,
) => UndirectedGraph<TaskAttributes, AffinityAttributes, GraphAttributes>;

/**
 * A task graph: graphology's `UndirectedGraph` whose nodes are tasks and whose edges are
 * affinities. `addTask` and `addAffinity` validate as they go; the graph stays simple
 * (no parallel edges) and loop-free.
 */
export class TaskGraph extends TaskGraphBase {
  constructor(attributes: GraphAttributes = {}) {
    const parsed = parseGraphAttributes(attributes);
    normaliseGraphInput(parsed.input);
    super({ multi: false, allowSelfLoops: false });
    safeNeighbours(this);
    this.replaceAttributes(parsed);
  }

  /** Adds a task after validating its id and attributes; returns the id. */
  addTask(id: string, attributes: TaskAttributes): string {
    const path = `tasks.${String(id)}`;
    const key = checkTaskId(id, path);
    if (this.hasNode(key)) {
      throw new DuplicateTaskError(
        `${SCOPE}: task "${key}" is declared twice → at ${path}. Use another id, or update it with graph.replaceNodeAttributes.`,
        { path, got: key },
      );
    }
    this.addNode(key, parseTaskAttributes(key, attributes));
    return key;
  }

  /**
   * Adds an affinity between two declared tasks; the weight (default 1) must be in [-1, 1].
   * Returns the edge key (`key` when given).
   */
  addAffinity(a: string, b: string, attributes: AffinityAttributes = {}, key?: string): string {
    const path = `edges[${this.size}]`;
    for (const end of [a, b]) {
      if (!this.hasNode(String(end))) {
        throw new UnknownTaskError(
          `${SCOPE}: affinity ${show(a)} -- ${show(b)} names the unknown task ${show(end)} → at ${path}. Add it first with addTask, or check the spelling.`,
          { path, got: end },
        );
      }
    }
    if (String(a) === String(b)) {
      throw new GraphStructureError(
        `${SCOPE}: self-loop on task "${a}" → at ${path}. A task's affinity with itself is implicit: remove the edge.`,
        { path, got: a },
      );
    }
    if (this.hasEdge(a, b)) {
      throw new GraphStructureError(
        `${SCOPE}: parallel affinity between "${a}" and "${b}" → at ${path}. Keep one edge per pair: change its weight with graph.setEdgeAttribute(a, b, 'weight', w).`,
        { path, got: [a, b] },
      );
    }
    const attrs = parseAffinityAttributes(path, attributes);
    if (key === undefined) {
      // A key from the ends (not graphology's per-process counter), so saved files are reproducible.
      let generated = `${a}--${b}`;
      for (let n = 2; this.hasEdge(generated); n++) generated = `${a}--${b}#${n}`;
      return this.addEdgeWithKey(generated, a, b, attrs);
    }
    if (this.hasEdge(key)) {
      throw new GraphStructureError(
        `${SCOPE}: edge key "${key}" is used twice → at ${path}.key. Give each edge its own key or leave keys out.`,
        { path: `${path}.key`, got: key },
      );
    }
    return this.addEdgeWithKey(key, a, b, attrs);
  }

  /** Builds and validates a TaskGraph from graphology's serialized JSON (`graph.export()`). */
  static from(data: unknown): TaskGraph {
    if (!isPlainObject(data)) {
      throw new GraphSpecError(
        `${SCOPE}: a serialized graph must be an object with nodes and edges (got ${show(data)}) → at (root). Use graphology's export() format.`,
        { path: '', got: data },
      );
    }
    const unsafe = findUnsafeKey(data, '');
    if (unsafe) {
      throw new UnsafeKeyError(
        `${SCOPE}: the key ${JSON.stringify(unsafe.key)} is not allowed (it could pollute Object.prototype) → at ${unsafe.path}. Remove it.`,
        { path: unsafe.path, got: unsafe.key },
      );
    }
    const options = data.options;
    if (isPlainObject(options)) {
      if (options.type !== undefined && options.type !== 'undirected') {
        throw new GraphStructureError(
          `${SCOPE}: a task graph must be undirected (got options.type ${show(options.type)}) → at options.type. Remove it or set it to "undirected".`,
          { path: 'options.type', got: options.type },
        );
      }
      if (options.multi === true) {
        throw new GraphStructureError(
          `${SCOPE}: a task graph cannot be a multigraph (got options.multi true) → at options.multi. Keep one edge per pair and set multi to false.`,
          { path: 'options.multi', got: true },
        );
      }
    }
    const envelope = SerializedGraphSchema.pick({ $schema: true, options: true }).safeParse({
      $schema: data.$schema,
      options: data.options,
    });
    if (!envelope.success) throw zodError(envelope.error, '');
    const { nodes, edges } = data;
    if (!Array.isArray(nodes)) {
      throw new GraphSpecError(
        `${SCOPE}: a serialized graph needs a nodes array (got ${show(nodes)}) → at nodes. Write nodes: [{ key: "click", attributes: { kind: "binary" } }].`,
        { path: 'nodes', got: nodes },
      );
    }
    if (edges !== undefined && !Array.isArray(edges)) {
      throw new GraphSpecError(
        `${SCOPE}: edges must be an array (got ${show(edges)}) → at edges. Write edges: [{ source: "a", target: "b", attributes: { weight: 0.5 } }].`,
        { path: 'edges', got: edges },
      );
    }
    const known = new Set(['$schema', 'options', 'attributes', 'nodes', 'edges']);
    const extra = Object.keys(data).find((k) => !known.has(k));
    if (extra !== undefined) {
      throw new GraphSpecError(
        `${SCOPE}: unknown top-level key ${JSON.stringify(extra)} (expected any of: ${[...known].join(', ')}) → at ${extra}. Remove it.`,
        { path: extra, got: extra },
      );
    }
    const graph = new TaskGraph((data.attributes ?? {}) as GraphAttributes);
    // Indexed loops: an array built in code may have a replaced prototype (no forEach).
    for (let i = 0; i < nodes.length; i++) {
      const node: unknown = nodes[i];
      if (!isPlainObject(node)) {
        throw new GraphSpecError(
          `${SCOPE}: a node must be { key, attributes } (got ${show(node)}) → at nodes[${i}].`,
          { path: `nodes[${i}]`, got: node },
        );
      }
      checkTaskId(node.key, `nodes[${i}].key`);
      inFile(`nodes[${i}]`, () =>
        graph.addTask(String(node.key), node.attributes as TaskAttributes),
      );
    }
    const edgeList: readonly unknown[] = edges ?? [];
    for (let i = 0; i < edgeList.length; i++) {
      const edge = edgeList[i];
      const path = `edges[${i}]`;
      if (
        !isPlainObject(edge) ||
        typeof edge.source !== 'string' ||
        typeof edge.target !== 'string'
      ) {
        throw new GraphSpecError(
          `${SCOPE}: an edge must be { source, target, attributes } with string ends (got ${show(edge)}) → at ${path}.`,
          { path, got: edge },
        );
      }
      if (edge.undirected === false) {
        throw new GraphStructureError(
          `${SCOPE}: a task graph cannot hold directed edges (got undirected: false) → at ${path}.undirected. Remove the field: affinities are symmetric.`,
          { path: `${path}.undirected`, got: false },
        );
      }
      if (edge.key !== undefined && typeof edge.key !== 'string') {
        throw new GraphSpecError(
          `${SCOPE}: an edge key must be a string (got ${show(edge.key)}) → at ${path}.key.`,
          { path: `${path}.key`, got: edge.key },
        );
      }
      const { source, target, attributes, key } = edge as {
        source: string;
        target: string;
        attributes?: AffinityAttributes;
        key?: string;
      };
      inFile(path, () => graph.addAffinity(source, target, attributes ?? {}, key));
    }
    return graph;
  }
}

registerSerializedReader((data) => TaskGraph.from(data));
