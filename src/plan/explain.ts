import type { LayerPlan, Plan } from './types.js';
import { listNames } from './strategies/shared.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const stack = (layers: LayerPlan[]) =>
  layers.length === 0
    ? 'no layers'
    : layers
        .map(
          (l) =>
            `${l.units}${l.activation === 'relu' ? '' : ` ${l.activation}`}${l.dropout ? ` drop ${l.dropout}` : ''}${l.batchNorm ? ' bn' : ''}${l.l2 ? ` l2 ${l.l2}` : ''}`,
        )
        .join(' -> ');

export interface ExplainOptions {
  /** Names listed before "and N more" (default 8). */
  maxNames?: number;
}

/** Renders a Plan as readable text: what is shared, by whom, how big, and why. */
export function explain(plan: Plan, options: ExplainOptions = {}): string {
  const max = options.maxNames ?? 8;
  const names = (xs: string[]) => listNames(xs, max);
  const lines: string[] = [];
  const title = plan.name ? `${plan.name}: ` : '';
  const requested = plan.requested !== plan.strategy ? ` (asked: ${plan.requested})` : '';
  lines.push(
    `${title}strategy ${plan.strategy}${requested}, ${plan.tasks.length} task(s), ${plan.input.features} input feature(s), ${fmt(plan.params.total)} parameters`,
  );
  const kinds = new Map<string, string[]>();
  for (const t of plan.tasks) kinds.set(t.kind, [...(kinds.get(t.kind) ?? []), t.id]);
  lines.push(
    `tasks: ${[...kinds].map(([k, ids]) => `${ids.length} ${k} (${names(ids)})`).join('; ')}`,
  );
  // The network, as a tree from the input: blocks and gates under their parents, then towers.
  const children = new Map<string | null, string[]>();
  const add = (parent: string | null, label: string) =>
    children.set(parent, [...(children.get(parent) ?? []), label]);
  for (const b of plan.blocks) add(b.parent, b.id);
  for (const g of plan.gates) add(g.parent, g.id);
  const blocks = new Map(plan.blocks.map((b) => [b.id, b]));
  const gates = new Map(plan.gates.map((g) => [g.id, g]));
  const towersAt = new Map<string | null, string[]>();
  for (const t of plan.tasks) {
    const p = plan.towers[t.id]!.parent;
    towersAt.set(p, [...(towersAt.get(p) ?? []), t.id]);
  }
  lines.push('network:');
  lines.push(`  input (${plan.input.features})`);
  // Embedded columns: each one's table, shared by every task, joined to the numeric columns.
  for (const e of plan.embeddings ?? []) {
    const by = e.lookup === 'ids' ? ', by the CSV preprocessing' : '';
    const how =
      e.buckets !== undefined
        ? `${fmt(e.rows)} hash buckets${by}`
        : `vocabulary of ${fmt(e.rows - 1)} value(s)${(e.minCount ?? 1) > 1 ? ` seen >= ${e.minCount} times` : ''} + 1 out-of-vocabulary row${by}`;
    lines.push(
      `    embedding ${e.column}: ${fmt(e.rows)} x ${e.dim} (${how}) [${fmt(plan.params.embeddings?.[e.column] ?? e.rows * e.dim)} params]`,
    );
  }
  if (plan.embeddings?.length)
    lines.push(
      `    -> shared representation: ${plan.input.features - plan.embeddings.length} numeric + ${plan.embeddings.map((e) => e.dim).join(' + ')} embedded = ${plan.input.features - plan.embeddings.length + plan.embeddings.reduce((s, e) => s + e.dim, 0)} columns`,
    );
  const seen = new Set<string>();
  const walk = (parent: string | null, indent: string) => {
    for (const id of children.get(parent) ?? []) {
      if (seen.has(id)) continue;
      seen.add(id);
      const b = blocks.get(id);
      const g = gates.get(id);
      if (b)
        lines.push(
          `${indent}${b.role === 'expert' ? 'expert' : 'block'} ${id}: ${stack(b.layers)} [${fmt(plan.params.blocks[id] ?? 0)} params] for ${names(b.tasks)}`,
        );
      else if (g)
        lines.push(
          `${indent}gate ${id}: softmax over ${g.experts.length} expert(s)${g.task ? ` for ${g.task}` : ' (shared)'}`,
        );
      walk(id, `${indent}  `);
    }
    const towers = towersAt.get(parent) ?? [];
    const shown = towers.slice(0, max);
    for (const t of shown) {
      const head = plan.heads[t]!;
      lines.push(
        `${indent}tower ${t}: ${stack(plan.towers[t]!.layers)} -> head ${head.units} ${head.activation} (${head.loss})${head.scale ? `, scaled: mean ${head.scale.mean.map((v) => +v.toPrecision(4)).join('/')} std ${head.scale.std.map((v) => +v.toPrecision(4)).join('/')}` : ''} [${fmt((plan.params.towers[t] ?? 0) + (plan.params.heads[t] ?? 0))} params]`,
      );
    }
    if (towers.length > shown.length)
      lines.push(`${indent}... and ${towers.length - shown.length} more tower(s) like these`);
  };
  walk(null, '    ');
  if (plan.couplings.length > 0) {
    lines.push('couplings:');
    for (const c of plan.couplings.slice(0, max)) {
      if (c.kind === 'laplacian')
        lines.push(
          `  laplacian on ${c.layer === 'head' ? 'the heads' : `tower layer ${c.layer}`}: ${c.pairs.length} pair(s), strength ${c.strength}`,
        );
      else
        lines.push(
          `  cross-stitch after tower layer ${c.after}: ${c.tasks.length} towers (${names(c.tasks)})`,
        );
    }
    if (plan.couplings.length > max) lines.push(`  ... and ${plan.couplings.length - max} more`);
  }
  const chained = plan.tasks.filter((t) => t.condition !== undefined || (t.reads?.length ?? 0) > 0);
  if (chained.length > 0) {
    lines.push('task chains:');
    for (const t of chained.slice(0, max)) {
      if (t.condition !== undefined)
        lines.push(
          `  ${t.condition} -> ${t.id} (condition): predicts p(${t.condition}) × p(${t.id} | ${t.condition}), so p(${t.id}) <= p(${t.condition}) on every row; its loss reads that product over all rows (ESMM), so it trains on the whole population`,
        );
      if (t.reads && t.reads.length > 0)
        lines.push(
          `  ${t.reads.join(', ')} -> ${t.id} (reads): the tower of ${t.id} also reads the tower output(s) of ${t.reads.join(', ')}${t.readsStopGradient ? ' with stopped gradients (its loss does not train them)' : ' (its loss trains them too)'}`,
        );
    }
    if (chained.length > max) lines.push(`  ... and ${chained.length - max} more`);
  }
  const own = plan.tasks.filter((t) => (t.inputColumns?.length ?? 0) > 0);
  if (own.length > 0) {
    lines.push('task inputs:');
    for (const t of own.slice(0, max)) {
      const cols = `${t.inputColumns!.length} input column(s) (${names(t.inputs ?? [])})`;
      lines.push(
        t.inputsOnly
          ? `  ${t.id} (inputs only): its tower reads only its ${cols}${(t.reads?.length ?? 0) > 0 ? ' and the towers it reads' : ''}, instead of the shared representation: its loss trains no shared block`
          : `  ${t.id} (inputs): its tower also reads ${cols} beside the shared representation`,
      );
    }
    if (own.length > max) lines.push(`  ... and ${own.length - max} more`);
  }
  if (plan.notes.length > 0) {
    lines.push('why:');
    for (const n of plan.notes) lines.push(`  - ${n}`);
  }
  return lines.join('\n');
}
