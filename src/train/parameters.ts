import type * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { fusedHeadOf, type StepNames } from '../network/names.js';
import type { Plan } from '../plan/types.js';
import { hasChains } from '../schema/chains.js';

/**
 * Which of a model's trainable variables two tasks or more share, and which belong to one task.
 * Derived from the plan and `model.layerNames`, so it holds for built and loaded models alike.
 */
export interface TaskParameters {
  /**
   * Variables reached by two tasks or more (in `model.trainableVariables` order): blocks and
   * experts read by several tasks, gates serving several tasks (PLE's shared gates), cross-stitch
   * units and the tower layers they mix. A variable of no known layer counts as shared.
   */
  readonly shared: tf.Variable[];
  /**
   * Each task's own variables by task id: its head, private tower layers, its gate, blocks only it
   * reads. The kernel and bias of heads fused into one MultiHead layer are listed under each of
   * its tasks: a task's gradient on them is zero outside its own columns, so adding the tasks'
   * updates gives every head its own task's update.
   */
  readonly own: ReadonlyMap<string, tf.Variable[]>;
  /**
   * The kernels of the last shared dense layer on each task's path (deduplicated): for hard sharing
   * the trunk's last kernel; under experts every expert's last kernel. GradNorm's W.
   */
  readonly last: tf.Variable[];
}

/** A model part as the plan names it: `block:<id>`, `gate:<id>`, `tower:<task>:<layer>`, `head:<task>`, `coupling:<index>`. */
export type PartKey = string;

export const blockKey = (id: string): PartKey => `block:${id}`;
export const gateKey = (id: string): PartKey => `gate:${id}`;
const towerKey = (task: string, layer: number): PartKey => `tower:${task}:${layer}`;
const headKey = (task: string): PartKey => `head:${task}`;
const couplingKey = (index: number): PartKey => `coupling:${index}`;

/** The tfjs layers of a planned dense layer that hold weights. */
const weighted = (step: StepNames): string[] => [
  step.dense,
  ...(step.batchNorm ? [step.batchNorm] : []),
];

/**
 * For every part of the plan: the tasks whose outputs depend on it, from the plan alone.
 * `addsLayer(i)` says whether coupling i adds a layer mixing towers (a cross-stitch unit).
 */
export function planPartUsers(
  plan: Plan,
  addsLayer: (index: number) => boolean,
): Map<PartKey, Set<string>> {
  const users = new Map<PartKey, Set<string>>();
  const use = (key: PartKey, task: string) => {
    let set = users.get(key);
    if (!set) users.set(key, (set = new Set()));
    set.add(task);
  };
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const gates = new Map(plan.gates.map((g) => [g.id, g]));
  // Marks `id` and everything it reads (parents, a gate's experts) as used by `task`.
  const reads = (id: string | null, task: string, seen: Set<string>) => {
    if (id === null || seen.has(id)) return;
    seen.add(id);
    const block = blocks.get(id);
    if (block) {
      use(blockKey(id), task);
      reads(block.parent, task, seen);
      return;
    }
    const gate = gates.get(id);
    if (gate) {
      use(gateKey(id), task);
      reads(gate.parent, task, seen);
      for (const e of gate.experts) reads(e, task, seen);
    }
  };
  // Task chains: a task's loss also trains what its output or tower reads of other tasks: the
  // whole output of its condition (p(condition) × ...), and the towers it reads unless their
  // gradients are stopped (readsStopGradient). `tower` marks a task's tower and what it reads for
  // `user`; `output` adds its head and its condition's output.
  const byId = new Map(plan.tasks.map((t) => [t.id, t]));
  const tower = (id: string, user: string) => {
    const t = plan.towers[id];
    t?.layers.forEach((_, i) => use(towerKey(id, i), user));
    reads(t?.parent ?? null, user, new Set());
    const task = byId.get(id);
    if (task && !task.readsStopGradient) for (const r of task.reads ?? []) tower(r, user);
  };
  const output = (id: string, user: string) => {
    use(headKey(id), user);
    tower(id, user);
    const condition = byId.get(id)?.condition;
    if (condition !== undefined) output(condition, user);
  };
  for (const task of plan.tasks) output(task.id, task.id);
  // A coupling that adds a layer mixing towers (cross-stitch) makes each mixed tower, up to the
  // layer it mixes after, and what those towers read, a part of every mixed task's path.
  plan.couplings.forEach((c, i) => {
    if (!addsLayer(i) || !('tasks' in c) || !('after' in c)) return;
    for (const user of c.tasks) {
      use(couplingKey(i), user);
      for (const t of c.tasks) {
        for (let k = 0; k <= c.after && k < (plan.towers[t]?.layers.length ?? 0); k++)
          use(towerKey(t, k), user);
        reads(plan.towers[t]?.parent ?? null, user, new Set());
      }
    }
  });
  return users;
}

/** For every part of the model's plan: the tasks whose outputs depend on it. */
function partUsers(model: MtgraphModel): Map<PartKey, Set<string>> {
  return planPartUsers(model.plan, (i) => model.layerNames.couplings.has(i));
}

/** The weight-holding tfjs layer names of every part. */
function partLayers(model: MtgraphModel): Map<PartKey, string[]> {
  const names = model.layerNames;
  const layers = new Map<PartKey, string[]>();
  for (const [id, steps] of names.blocks) layers.set(blockKey(id), steps.flatMap(weighted));
  for (const [id, gate] of names.gates) layers.set(gateKey(id), [gate.weights]);
  for (const [task, steps] of names.towers)
    steps.forEach((s, i) => layers.set(towerKey(task, i), weighted(s)));
  for (const [task, head] of names.heads) layers.set(headKey(task), [head]);
  for (const [i, name] of names.couplings) layers.set(couplingKey(i), [name]);
  return layers;
}

function layerVariables(model: MtgraphModel, name: string): tf.Variable[] {
  let layer: tf.layers.Layer;
  try {
    layer = model.model.getLayer(name);
  } catch {
    return []; // not built: no task reads the part
  }
  return layer.trainableWeights.map((w) => w.read() as tf.Variable);
}

function kernelOf(model: MtgraphModel, dense: string): tf.Variable[] {
  const weights = model.model.getLayer(dense).trainableWeights;
  const kernel = weights.find((w) => w.originalName === 'kernel') ?? weights[0];
  return kernel ? [kernel.read() as tf.Variable] : [];
}

/**
 * Splits a model's trainable variables into shared ones and each task's own, from the plan: a
 * part (block, gate, tower layer, head, cross-stitch unit) is shared when the outputs of two
 * tasks or more depend on it.
 */
export function taskParameters(model: MtgraphModel): TaskParameters {
  const { plan, layerNames: names } = model;
  const users = partUsers(model);
  const layers = partLayers(model);
  const owner = new Map<tf.Variable, string | null>(); // null = shared
  for (const [key, tasks] of users) {
    for (const name of layers.get(key) ?? []) {
      for (const v of layerVariables(model, name))
        owner.set(v, tasks.size >= 2 ? null : [...tasks][0]!);
    }
  }
  const shared: tf.Variable[] = [];
  const own = new Map<string, tf.Variable[]>(plan.tasks.map((t) => [t.id, []]));
  const fused = new Map<tf.Variable, string[]>();
  for (const [name, tasks] of names.fusedHeads)
    for (const v of layerVariables(model, name)) fused.set(v, tasks);
  for (const v of model.trainableVariables) {
    const group = fused.get(v);
    if (group) {
      for (const task of group) own.get(task)?.push(v);
      continue;
    }
    const task = owner.get(v);
    if (task === undefined || task === null) shared.push(v);
    else own.get(task)!.push(v);
  }

  // The last shared dense layer on each task's path, walking back from its head.
  const isShared = (key: PartKey) => (users.get(key)?.size ?? 0) >= 2;
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const gates = new Map(plan.gates.map((g) => [g.id, g]));
  const fromPart = (id: string | null, seen: Set<string>): string[] => {
    if (id === null || seen.has(id)) return [];
    seen.add(id);
    const block = blocks.get(id);
    if (block) {
      const steps = names.blocks.get(id) ?? [];
      return isShared(blockKey(id)) && steps.length > 0
        ? [steps.at(-1)!.dense]
        : fromPart(block.parent, seen);
    }
    const gate = gates.get(id);
    if (!gate) return [];
    const viaExperts = gate.experts.flatMap((e) => fromPart(e, seen));
    return viaExperts.length > 0 ? viaExperts : fromPart(gate.parent, seen);
  };
  const lastDense = new Set<string>();
  for (const task of plan.tasks) {
    const steps = names.towers.get(task.id) ?? [];
    let found: string[] = [];
    for (let i = steps.length - 1; i >= 0 && found.length === 0; i--) {
      if (isShared(towerKey(task.id, i))) found = [steps[i]!.dense];
    }
    if (found.length === 0) found = fromPart(plan.towers[task.id]?.parent ?? null, new Set());
    for (const d of found) lastDense.add(d);
  }
  const last = [...lastDense].flatMap((d) => kernelOf(model, d));
  return { shared, own, last };
}

/**
 * A model whose tasks all read one shared block, split there: `encode` runs the input through the
 * blocks up to it (the shared representation), `decode` runs one task's tower and head on it.
 */
export interface SharedRepresentation {
  /** The block every task reads. */
  readonly block: string;
  encode(x: tf.Tensor, training: boolean): tf.Tensor;
  decode(task: string, z: tf.Tensor, training: boolean): tf.Tensor;
}

/**
 * The shared representation of a model where every task's tower reads the same block and no
 * layer mixes towers (hard sharing, a one-group `clustered`); undefined for any other topology.
 */
export function sharedRepresentation(model: MtgraphModel): SharedRepresentation | undefined {
  const { plan, layerNames: names } = model;
  // Task chains: a task's output or tower depends on another task's, not on z alone.
  if (hasChains(plan.tasks)) return undefined;
  const parents = new Set(plan.tasks.map((t) => plan.towers[t.id]?.parent ?? null));
  if (parents.size !== 1 || names.couplings.size > 0) return undefined;
  const top = [...parents][0];
  if (top === null || top === undefined) return undefined;
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const chain: string[] = [];
  for (let id: string | null = top; id !== null; id = blocks.get(id)?.parent ?? null) {
    if (!blocks.has(id) || chain.includes(id)) return undefined; // a gate on the way, or a cycle
    chain.unshift(id);
  }
  const heads = plan.tasks.map(
    (t, i) => model.model.outputs[i]?.sourceLayer.name === names.heads.get(t.id),
  );
  if (heads.some((ok) => !ok)) return undefined;
  const apply = (x: tf.Tensor, layerName: string, training: boolean) =>
    model.model.getLayer(layerName).apply(x, { training }) as tf.Tensor;
  const run = (x: tf.Tensor, steps: readonly StepNames[], training: boolean) =>
    steps.reduce((h, s) => {
      for (const name of [s.dense, s.batchNorm, s.activation, s.dropout])
        if (name !== undefined) h = apply(h, name, training);
      return h;
    }, x);
  // Embedded columns: the representation the first block reads (numeric columns, looked-up vectors).
  const embedded = (x: tf.Tensor, training: boolean): tf.Tensor => {
    const e = names.embeddings;
    if (!e) return x;
    const parts: tf.Tensor[] = [];
    if (e.numeric) parts.push(apply(x, e.numeric, training));
    for (const c of e.columns.values())
      parts.push(apply(apply(apply(x, c.ids, training), c.table, training), c.flat, training));
    if (!e.concat) return parts[0]!;
    return model.model.getLayer(e.concat).apply(parts, { training }) as tf.Tensor;
  };
  return {
    block: top,
    encode: (x, training) =>
      chain.reduce((h, id) => run(h, names.blocks.get(id) ?? [], training), embedded(x, training)),
    decode: (task, z, training) => {
      const h = run(z, names.towers.get(task) ?? [], training);
      const fusedIn = fusedHeadOf(names, task);
      if (!fusedIn) return apply(h, names.heads.get(task)!, training);
      return apply(apply(h, fusedIn.layer, training), names.heads.get(task)!, training);
    },
  };
}
