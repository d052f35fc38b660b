import { PlanError } from '../errors.js';
import { parsePlan } from '../plan/schema.js';
import { widths } from '../plan/params.js';
import { embeddedWidth } from '../plan/embeddings.js';
import type { Plan } from '../plan/types.js';
import { getCouplingBuilder, couplingKinds } from './couplings/registry.js';
import { getHeadBuilder, headKinds } from './heads/registry.js';
import { checkChains, widensTower } from '../schema/chains.js';

const SCOPE = 'mtgraph/build';

/** Embeddings name distinct input columns, and a vocabulary fills its table (plus the out-of-vocabulary row). */
function checkEmbeddings(plan: Plan): void {
  const seen = new Set<number>();
  (plan.embeddings ?? []).forEach((e, i) => {
    const path = `embeddings[${i}]`;
    const bad =
      e.index >= plan.input.features || seen.has(e.index)
        ? `index ${e.index} is not a distinct input column (expected 0..${plan.input.features - 1}, once)`
        : e.lookup === 'vocabulary' && e.vocabulary?.length !== e.rows - 1
          ? `a vocabulary lookup needs rows = 1 + vocabulary length (got rows ${e.rows}, ${e.vocabulary?.length ?? 'no'} value(s))`
          : e.lookup === 'hash' && e.buckets !== e.rows
            ? `a hash lookup needs rows = buckets (got rows ${e.rows}, buckets ${e.buckets})`
            : undefined;
    if (bad)
      throw new PlanError(
        `${SCOPE}: embedding "${e.column}": ${bad} → at ${path}. Plan again with plan().`,
        {
          path,
          got: e,
        },
      );
    seen.add(e.index);
  });
}

/**
 * Reads a Plan for building: the schema (version, shapes of every field), then what the schema
 * cannot see: every task has a tower and a head, parents exist and form no cycle, gate experts
 * share a width, and every coupling fits the towers it names.
 */
export function checkPlan(value: unknown): Plan {
  const plan = parsePlan(value);
  const ids = new Set<string>();
  for (const t of plan.tasks) {
    if (ids.has(t.id))
      throw new PlanError(
        `${SCOPE}: task "${t.id}" appears twice in plan.tasks → at tasks. Keep one entry per task.`,
        { path: 'tasks', got: t.id },
      );
    ids.add(t.id);
    const head = plan.heads[t.id];
    if (!plan.towers[t.id])
      throw new PlanError(
        `${SCOPE}: task "${t.id}" has no tower → at towers.${t.id}. Give it one (layers may be empty).`,
        { path: `towers.${t.id}` },
      );
    if (!head)
      throw new PlanError(
        `${SCOPE}: task "${t.id}" has no head → at heads.${t.id}. Give it one, e.g. { units: ${t.outputs}, activation: 'linear', loss: 'mse' }.`,
        { path: `heads.${t.id}` },
      );
    if (head.units !== t.outputs)
      throw new PlanError(
        `${SCOPE}: the head of "${t.id}" has ${head.units} units but the task has ${t.outputs} output(s) → at heads.${t.id}.units. Make them agree.`,
        { path: `heads.${t.id}.units`, got: head.units },
      );
    if (t.inputsOnly && !t.inputColumns?.length)
      throw new PlanError(
        `${SCOPE}: task "${t.id}" reads only its own inputs but has no input columns (got inputsOnly: true; expected inputColumns) → at tasks.${t.id}.inputsOnly. Give inputColumns, or drop inputsOnly.`,
        { path: `tasks.${t.id}.inputsOnly`, got: true },
      );
    if (!getHeadBuilder(t.kind))
      throw new PlanError(
        `${SCOPE}: no head builder for task kind "${t.kind}" (known: ${headKinds().join(', ')}) → at tasks.${t.id}.kind.`,
        { path: `tasks.${t.id}.kind`, got: t.kind },
      );
  }
  checkChains(plan.tasks);
  checkEmbeddings(plan);
  const width = widths(
    { blocks: plan.blocks, gates: plan.gates },
    embeddedWidth(plan.input.features, plan.embeddings),
  );
  for (const t of plan.tasks) {
    const parent = plan.towers[t.id]!.parent;
    if (!width.has(parent))
      throw new PlanError(
        `${SCOPE}: the tower of "${t.id}" reads the unknown "${parent}" → at towers.${t.id}.parent. Name a block or gate of the plan, or null for the input.`,
        { path: `towers.${t.id}.parent`, got: parent },
      );
  }
  for (const g of plan.gates) {
    if (g.task !== null && !ids.has(g.task))
      throw new PlanError(
        `${SCOPE}: gate "${g.id}" belongs to the unknown task "${g.task}" → at gates.${g.id}.task.`,
        { path: `gates.${g.id}.task`, got: g.task },
      );
  }
  plan.couplings.forEach((c, i) => {
    const path = `couplings[${i}]`;
    const builder = getCouplingBuilder(c.kind);
    if (!builder)
      throw new PlanError(
        `${SCOPE}: unknown coupling kind "${c.kind}" (known: ${couplingKinds().join(', ')}) → at ${path}.kind.`,
        { path: `${path}.kind`, got: c.kind },
      );
    const tasks = c.kind === 'laplacian' ? c.pairs.flatMap(([a, b]) => [a, b]) : c.tasks;
    const reader = tasks.find((t) => {
      const p = plan.tasks.find((q) => q.id === t);
      return p !== undefined && widensTower(p);
    });
    if (reader !== undefined)
      throw new PlanError(
        `${SCOPE}: task "${reader}" reads other towers or its own inputs (reads, inputs), so its tower cannot be coupled layer by layer with others → at ${path}. Use a strategy without tower couplings (hard, clustered, tree, mmoe, ple, single), or drop reads.`,
        { path, got: reader },
      );
    for (const t of tasks)
      if (!ids.has(t))
        throw new PlanError(
          `${SCOPE}: a coupling names the unknown task "${t}" → at ${path}. Name tasks of the plan.`,
          { path, got: t },
        );
    builder.check?.(c, plan, path);
  });
  return plan;
}
