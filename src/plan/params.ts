import { PlanError } from '../errors.js';
import type {
  BlockPlan,
  CouplingPlan,
  GatePlan,
  HeadPlan,
  LayerPlan,
  ParamCount,
  TowerPlan,
} from './types.js';

interface Topology {
  blocks: BlockPlan[];
  towers: Record<string, TowerPlan>;
  heads: Record<string, HeadPlan>;
  gates: GatePlan[];
  couplings: CouplingPlan[];
  /** Per task, the tasks whose tower outputs join its tower input (task chains); absent: none. */
  reads?: Record<string, readonly string[]>;
  /** Per task, the number of its own input columns joined to its tower input (task inputs). */
  extraInputs?: Record<string, number>;
  /** Tasks whose tower reads its own input columns instead of its parent (inputsOnly). */
  inputsOnly?: readonly string[];
}

/** Parameters of a dense stack reading `width` features: weights, biases and (4 per unit) batch norm. */
export function stackParams(
  layers: readonly LayerPlan[],
  width: number,
): { params: number; width: number } {
  let params = 0;
  let w = width;
  for (const l of layers) {
    params += w * l.units + l.units + (l.batchNorm ? 4 * l.units : 0);
    w = l.units;
  }
  return { params, width: w };
}

/**
 * Output width of every block and gate, checking that every `parent` names a block or gate
 * declared before it and that a gate's experts agree on their width.
 */
export function widths(
  topology: Pick<Topology, 'blocks' | 'gates'>,
  inputWidth: number,
): Map<string | null, number> {
  const width = new Map<string | null, number>([[null, inputWidth]]);
  const blocks = new Map(topology.blocks.map((b) => [b.id, b]));
  const gates = new Map(topology.gates.map((g) => [g.id, g]));
  const visiting = new Set<string>();
  const resolve = (id: string | null): number => {
    const known = width.get(id);
    if (known !== undefined) return known;
    const key = id as string;
    if (visiting.has(key))
      throw new PlanError(
        `mtgraph/plan: cycle through "${key}" in the plan's parents. Every block and gate must read from the input or from an earlier block or gate.`,
        { path: `blocks.${key}` },
      );
    visiting.add(key);
    let w: number;
    const block = blocks.get(key);
    const gate = gates.get(key);
    if (block) {
      w = stackParams(block.layers, resolve(block.parent)).width;
    } else if (gate) {
      const ws = gate.experts.map((e) => {
        if (!blocks.has(e))
          throw new PlanError(`mtgraph/plan: gate "${gate.id}" names the unknown expert "${e}".`, {
            path: `gates.${gate.id}`,
          });
        return resolve(e);
      });
      if (ws.length === 0 || ws.some((x) => x !== ws[0]))
        throw new PlanError(
          `mtgraph/plan: the experts of gate "${gate.id}" must exist and have one width (got ${ws.join(', ') || 'none'}).`,
          { path: `gates.${gate.id}` },
        );
      w = ws[0]!;
    } else {
      throw new PlanError(`mtgraph/plan: unknown parent "${key}" (no block or gate has that id).`, {
        path: `blocks.${key}`,
      });
    }
    visiting.delete(key);
    width.set(key, w);
    return w;
  };
  for (const b of topology.blocks) resolve(b.id);
  for (const g of topology.gates) resolve(g.id);
  return width;
}

/** Counts the parameters of a plan's topology, total and per part. */
export function countParams(topology: Topology, inputWidth: number): ParamCount {
  const width = widths(topology, inputWidth);
  const count: ParamCount = {
    total: 0,
    blocks: {},
    towers: {},
    heads: {},
    gates: {},
    couplings: 0,
  };
  for (const b of topology.blocks)
    count.blocks[b.id] = stackParams(b.layers, width.get(b.parent)!).params;
  for (const g of topology.gates)
    count.gates[g.id] = width.get(g.parent)! * g.experts.length + g.experts.length;
  // A tower's input is its parent's output, plus the tower outputs of the tasks it reads.
  const out = new Map<string, { params: number; width: number }>();
  const towerOf = (
    task: string,
    seen: readonly string[] = [],
  ): { params: number; width: number } => {
    const known = out.get(task);
    if (known) return known;
    if (seen.includes(task))
      throw new PlanError(
        `mtgraph/plan: task "${task}" reads itself through a chain of reads → at tasks.${task}.reads.`,
        { path: `tasks.${task}.reads` },
      );
    const tower = topology.towers[task]!;
    const extra = topology.extraInputs;
    const own = extra && Object.hasOwn(extra, task) ? extra[task]! : 0;
    let input = topology.inputsOnly?.includes(task) ? own : width.get(tower.parent)! + own;
    // own keys only: a task id such as "toString" must not find Object.prototype's method
    const reads = topology.reads && Object.hasOwn(topology.reads, task) ? topology.reads[task] : [];
    for (const r of reads ?? []) input += towerOf(r, [...seen, task]).width;
    const t = stackParams(tower.layers, input);
    out.set(task, t);
    return t;
  };
  for (const task of Object.keys(topology.towers)) {
    const t = towerOf(task);
    count.towers[task] = t.params;
    const head = topology.heads[task];
    if (head) count.heads[task] = t.width * head.units + head.units;
  }
  for (const c of topology.couplings)
    if (c.kind === 'cross-stitch') count.couplings += c.tasks.length * c.tasks.length;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((s, x) => s + x, 0);
  count.total =
    sum(count.blocks) + sum(count.gates) + sum(count.towers) + sum(count.heads) + count.couplings;
  return count;
}
