import { GraphSpecError, GraphStructureError, UnknownTaskError } from '../errors.js';

const SCOPE = 'mtgraph/graph';

/** What a task's chain attributes say: the task it is conditioned on, and the tasks whose tower outputs it reads. */
export interface ChainLinks {
  id: string;
  kind: string;
  condition?: string;
  reads?: readonly string[];
}

/** The tasks a task depends on through its chain attributes (condition first, then reads in order). */
export function chainParents(task: ChainLinks): string[] {
  return [...(task.condition !== undefined ? [task.condition] : []), ...(task.reads ?? [])];
}

/** True when a task's tower reads more than its parent: other towers (reads) or its own input columns (inputs). */
export function widensTower(task: {
  reads?: readonly string[];
  inputColumns?: readonly number[];
}): boolean {
  return (task.reads?.length ?? 0) > 0 || (task.inputColumns?.length ?? 0) > 0;
}

/**
 * True when some task has a condition, reads another task or its own input columns: its output or
 * tower then depends on more than the shared representation (no per-task training shortcuts).
 */
export function hasChains(
  tasks: ReadonlyArray<ChainLinks & { inputColumns?: readonly number[] }>,
): boolean {
  return tasks.some((t) => t.condition !== undefined || widensTower(t));
}

/**
 * Checks the task chains of a graph: `condition` and `reads` name other tasks of the graph, a
 * condition joins two binary tasks, and no task depends on itself through them (a cycle is a
 * GraphStructureError naming it). Returns the task ids in an order where every task comes after
 * the tasks it depends on (stable: the graph's order otherwise).
 */
export function checkChains(tasks: readonly ChainLinks[]): string[] {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  for (const t of tasks) {
    const check = (other: string, path: string) => {
      if (other === t.id) {
        throw new GraphStructureError(
          `${SCOPE}: task "${t.id}" names itself → at ${path}. A task cannot be conditioned on or read its own output: name another task.`,
          { path, got: other },
        );
      }
      if (!byId.has(other)) {
        throw new UnknownTaskError(
          `${SCOPE}: task "${t.id}" names an unknown task (got ${JSON.stringify(other)}; expected one of ${[...byId.keys()].slice(0, 10).join(', ')}) → at ${path}. Name a task of the graph.`,
          { path, got: other },
        );
      }
    };
    if (t.condition !== undefined) {
      const path = `tasks.${t.id}.condition`;
      check(t.condition, path);
      const parent = byId.get(t.condition)!;
      if (t.kind !== 'binary' || parent.kind !== 'binary') {
        throw new GraphSpecError(
          `${SCOPE}: condition joins two binary tasks (got ${t.kind} task "${t.id}" conditioned on ${parent.kind} task "${parent.id}") → at ${path}. Its prediction is p(${parent.id}) × p(${t.id} | ${parent.id}): use it for an event that can only follow another (a purchase after a click).`,
          { path, got: t.condition },
        );
      }
    }
    (t.reads ?? []).forEach((r, i) => check(r, `tasks.${t.id}.reads[${i}]`));
    if (t.reads && new Set(t.reads).size !== t.reads.length) {
      throw new GraphSpecError(
        `${SCOPE}: task "${t.id}" reads a task twice (got ${JSON.stringify(t.reads)}) → at tasks.${t.id}.reads. Name each task once.`,
        { path: `tasks.${t.id}.reads`, got: t.reads },
      );
    }
  }
  // Depth-first topological order; a grey node met again closes a cycle.
  const state = new Map<string, 'grey' | 'black'>();
  const order: string[] = [];
  const stack: string[] = [];
  const visit = (id: string) => {
    const s = state.get(id);
    if (s === 'black') return;
    if (s === 'grey') {
      const cycle = [...stack.slice(stack.indexOf(id)), id];
      throw new GraphStructureError(
        `${SCOPE}: the task chain has a cycle (${cycle.join(' -> ')}) → at tasks.${id}. condition and reads must go one way: remove one of the links.`,
        { path: `tasks.${id}`, got: cycle },
      );
    }
    state.set(id, 'grey');
    stack.push(id);
    for (const p of chainParents(byId.get(id)!)) visit(p);
    stack.pop();
    state.set(id, 'black');
    order.push(id);
  };
  for (const t of tasks) visit(t.id);
  return order;
}
