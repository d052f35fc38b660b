import { TaskGraph } from '../graph/task-graph.js';
import { readGraph } from '../schema/validate.js';
import { MtgraphError } from '../errors.js';
import { readJsonFile } from './files.js';
import { writeFileAtomic } from './outputs.js';

/** Loads a task graph from graphology's serialized JSON, validated (a FileError or a spec error names the problem). */
export async function loadGraph(file: string): Promise<TaskGraph> {
  const data = await readJsonFile(file, 'graph file');
  try {
    return TaskGraph.from(data);
  } catch (error) {
    if (error instanceof MtgraphError) error.message = `${error.message}\n  (in ${file})`;
    throw error;
  }
}

export interface SaveGraphOptions {
  /** Written as `$schema` so editors validate the file (e.g. "../graph.schema.json"). */
  schema?: string;
}

/** The text of a graph file: any valid task graph as graphology's serialized JSON (validated first). */
export function graphFileText(
  graph: TaskGraph | Parameters<typeof readGraph>[0],
  options: SaveGraphOptions = {},
): string {
  readGraph(graph);
  const data = (graph as TaskGraph).export();
  const out = options.schema ? { $schema: options.schema, ...data } : data;
  return `${JSON.stringify(out, null, 2)}\n`;
}

/** Saves any valid task graph as graphology's serialized JSON (validated first; written atomically). */
export async function saveGraph(
  graph: TaskGraph | Parameters<typeof readGraph>[0],
  file: string,
  options: SaveGraphOptions = {},
): Promise<void> {
  await writeFileAtomic(file, graphFileText(graph, options), 'graph file');
}
