/** loadGraph / saveGraph for the public entry: files through the platform seam (Node only). */
import type { TaskGraph } from '../graph/task-graph.js';
import type { readGraph } from '../schema/validate.js';
import { nodeParts } from '../platform/index.js';

const SCOPE = 'mtgraph/io';
const INSTEAD =
  "In a browser use TaskGraph.from(json) and graph.export() (graphology's serialized JSON).";

export interface SaveGraphOptions {
  /** Written as `$schema` so editors validate the file (e.g. "../graph.schema.json"). */
  schema?: string;
}

/** Loads a task graph from a file of graphology's serialized JSON, validated (Node). */
export async function loadGraph(file: string): Promise<TaskGraph> {
  const node = await nodeParts(SCOPE, `loadGraph(${JSON.stringify(file)})`, INSTEAD);
  return node.loadGraph(file);
}

/** Saves any valid task graph as graphology's serialized JSON, validated first, atomically (Node). */
export async function saveGraph(
  graph: TaskGraph | Parameters<typeof readGraph>[0],
  file: string,
  options: SaveGraphOptions = {},
): Promise<void> {
  const node = await nodeParts(SCOPE, `saveGraph(graph, ${JSON.stringify(file)})`, INSTEAD);
  return node.saveGraph(graph, file, options);
}
