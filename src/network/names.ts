import type { LayerPlan, Plan } from '../plan/types.js';
import { getCouplingBuilder } from './couplings/registry.js';
import { fusedHeadGroups } from './head-groups.js';
import { widensTower } from '../schema/chains.js';

/** The tfjs layers of one planned dense layer: the Dense and what follows it. */
export interface StepNames {
  dense: string;
  batchNorm?: string;
  activation?: string;
  dropout?: string;
}

/**
 * The tfjs layers of a gate: `weights` (Dense, softmax), one Reshape per expert and a Concatenate
 * (the stack of its experts), and the GateMix that mixes. Gates that mix the same experts in the same
 * order (every gate of `mmoe`) share one stack: the first of them names it, the others have no
 * `experts` names and read it.
 */
export interface GateNames {
  weights: string;
  experts: string[];
  concat?: string;
  mix: string;
}

/** Every tfjs layer name of a plan's model. Derived from the plan alone, so a loaded model maps back onto it. */
export interface LayerNames {
  model: string;
  input: string;
  blocks: Map<string, StepNames[]>;
  gates: Map<string, GateNames>;
  towers: Map<string, StepNames[]>;
  /**
   * The output layer of each task (the task id, sanitised): its Dense head, or, when its head is
   * fused with others (see `fusedHeads`), its Columns layer after the MultiHead.
   */
  heads: Map<string, string>;
  /**
   * The model output layer of each task: its head (see `heads`), except for a task with a
   * `condition`, whose output is the product layer p(condition) × p(task | condition) and whose
   * head is then named `<task>.given_<condition>`.
   */
  outputs: Map<string, string>;
  /** Task chains: the layers joining read tower outputs into a task's tower input (`concat`, `stop` gradients). */
  reads: Map<string, { concat?: string; stop?: string; pick?: string }>;
  /**
   * Heads fused into one MultiHead layer (see `fusedHeadGroups`): layer name -> its tasks, in
   * column order. Task `tasks[i]`'s weights are that layer's kernel and bias columns for head i.
   */
  fusedHeads: Map<string, string[]>;
  /** The layer each coupling adds (cross-stitch), by coupling index. */
  couplings: Map<number, string>;
  /**
   * Embedded input columns (plan.embeddings): `numeric` picks the other input columns, each column
   * its `ids` (a Pick), its `table` (an Embedding) and `flat` (a Reshape to [dim]); `concat` joins
   * them into the representation every strategy reads.
   */
  embeddings?: {
    numeric?: string;
    concat?: string;
    columns: Map<string, { ids: string; table: string; flat: string }>;
  };
  /** The layers taking the parts of a coupling's layer (a cross-stitch unit's mixture per task), by coupling index. */
  couplingParts: Map<number, string[]>;
}

/** The MultiHead layer a task's head is fused into and its tasks, or undefined when the head is its own Dense. */
export function fusedHeadOf(
  names: LayerNames,
  task: string,
): { layer: string; tasks: string[] } | undefined {
  for (const [layer, tasks] of names.fusedHeads) if (tasks.includes(task)) return { layer, tasks };
  return undefined;
}

const INVALID = /[^A-Za-z0-9._-]/g;

/** A valid tfjs layer name from any string: characters outside `[A-Za-z0-9._-]` become '_', and it starts with a letter or digit. */
export function sanitizeName(name: string): string {
  const clean = name.replace(INVALID, '_');
  return /^[A-Za-z0-9]/.test(clean) ? clean : `x${clean}`;
}

/** Hands out unique layer names: the sanitised wish, or the wish with `_2`, `_3`... */
class NameAllocator {
  private readonly used = new Set<string>();

  take(wish: string): string {
    const base = sanitizeName(wish);
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

function stepNames(
  names: NameAllocator,
  prefix: string,
  layers: readonly LayerPlan[],
): StepNames[] {
  return layers.map((l, i) => {
    const step: StepNames = { dense: names.take(`${prefix}.dense${i}`) };
    if (l.batchNorm) {
      step.batchNorm = names.take(`${prefix}.bn${i}`);
      step.activation = names.take(`${prefix}.act${i}`);
    }
    if (l.dropout > 0) step.dropout = names.take(`${prefix}.dropout${i}`);
    return step;
  });
}

/**
 * Names every layer of the model of `plan`, deterministically. Output layers are named first so
 * that a task's output carries its id whenever tfjs allows it.
 */
export function nameLayers(plan: Plan): LayerNames {
  const names = new NameAllocator();
  const outputs = new Map(plan.tasks.map((t) => [t.id, names.take(t.id)]));
  const heads = new Map(
    plan.tasks.map((t) => [
      t.id,
      t.condition !== undefined ? names.take(`${t.id}.given_${t.condition}`) : outputs.get(t.id)!,
    ]),
  );
  const reads = new Map(
    plan.tasks.flatMap((t) =>
      widensTower(t)
        ? [
            [
              t.id,
              {
                // One part alone (inputsOnly without reads) needs no join.
                ...((t.inputsOnly ? 0 : 1) +
                  (t.reads?.length ?? 0) +
                  (t.inputColumns?.length ? 1 : 0) >
                1
                  ? { concat: names.take(`tower.${t.id}.reads`) }
                  : {}),
                ...(t.readsStopGradient && (t.reads?.length ?? 0) > 0
                  ? { stop: names.take(`tower.${t.id}.stop`) }
                  : {}),
                ...(t.inputColumns?.length ? { pick: names.take(`tower.${t.id}.inputs`) } : {}),
              },
            ] as const,
          ]
        : [],
    ),
  );
  const out: LayerNames = {
    model: sanitizeName(plan.name ?? `mtgraph-${plan.strategy}`),
    input: names.take('input'),
    blocks: new Map(),
    gates: new Map(),
    towers: new Map(),
    heads,
    outputs,
    reads,
    fusedHeads: new Map(),
    couplings: new Map(),
    couplingParts: new Map(),
  };
  if (plan.embeddings?.length) {
    const numeric = plan.input.features > plan.embeddings.length;
    out.embeddings = {
      ...(numeric ? { numeric: names.take('input.numeric') } : {}),
      ...(numeric || plan.embeddings.length > 1 ? { concat: names.take('input.embedded') } : {}),
      columns: new Map(
        plan.embeddings.map((e) => [
          e.column,
          {
            ids: names.take(`embed.${e.column}.ids`),
            table: names.take(`embed.${e.column}`),
            flat: names.take(`embed.${e.column}.flat`),
          },
        ]),
      ),
    };
  }
  for (const b of plan.blocks) out.blocks.set(b.id, stepNames(names, b.id, b.layers));
  const stacked = new Set<string>();
  for (const g of plan.gates) {
    const key = g.experts.join('\u0000');
    const owns = !stacked.has(key);
    stacked.add(key);
    out.gates.set(g.id, {
      weights: names.take(`${g.id}.weights`),
      experts: owns ? g.experts.map((_, e) => names.take(`${g.id}.expert${e}`)) : [],
      ...(owns && g.experts.length > 1 ? { concat: names.take(`${g.id}.stack`) } : {}),
      mix: names.take(`${g.id}.mix`),
    });
  }
  for (const t of plan.tasks)
    out.towers.set(t.id, stepNames(names, `tower.${t.id}`, plan.towers[t.id]?.layers ?? []));
  for (const g of fusedHeadGroups(plan))
    out.fusedHeads.set(names.take(`heads.${g.parent ?? 'input'}`), g.tasks);
  plan.couplings.forEach((c, i) => {
    const builder = getCouplingBuilder(c.kind);
    const wish = builder?.layerName?.(c, i);
    if (wish !== undefined) out.couplings.set(i, names.take(wish));
    const parts = builder?.partNames?.(c, i);
    if (parts !== undefined)
      out.couplingParts.set(
        i,
        parts.map((p) => names.take(p)),
      );
  });
  return out;
}
