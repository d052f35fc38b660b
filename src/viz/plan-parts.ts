/**
 * The boxes and links of a plan diagram, before layout: input, shared blocks and experts,
 * gates, towers, heads and cross-stitch units, with summaries when a plan is too large to draw
 * part by part (a task's private parts folded into one box per attachment point, then deep
 * shared blocks folded under their ancestor).
 */
import type { LayerPlan, Plan } from '../plan/types.js';
import { count, truncate } from './escape.js';

export type PartKind =
  | 'input'
  | 'block'
  | 'expert'
  | 'gate'
  | 'tower'
  | 'head'
  | 'tasks'
  | 'subtree'
  | 'cross-stitch';

export interface Part {
  id: string;
  kind: PartKind;
  title: string;
  lines: string[];
  params: number;
  /** Tasks whose path goes through the part (for heads and towers: the task). */
  tasks: string[];
  /** The task kind, for heads. */
  taskKind?: string;
  /** Full text for the tooltip. */
  tip: string;
}

export interface PartLink {
  from: string;
  to: string;
  /** 'data' flows upward in the network; 'gate' is what a gate's softmax reads; 'coupling' a cross-stitch tie. */
  /** 'chain': a task chain (condition or reads), drawn as an arrow between tasks. */
  style: 'data' | 'gate' | 'coupling' | 'chain';
}

/** A Laplacian pair between two drawn parts, aggregated over layers. */
export interface PairLink {
  a: string;
  b: string;
  /** Mean |weight| over the pairs folded into the link. */
  weight: number;
  pairs: number;
  layers: string[];
}

export interface PartGraph {
  parts: Part[];
  links: PartLink[];
  pairs: PairLink[];
  /** Laplacian pairs inside one drawn part (folded tasks), per part id. */
  innerPairs: Map<string, number>;
  /** Human-readable notes on what was folded. */
  notes: string[];
}

const INPUT = '(input)';

export function layersText(layers: LayerPlan[]): string {
  if (layers.length === 0) return 'no layers';
  const act = layers.every((l) => l.activation === layers[0]!.activation)
    ? ` ${layers[0]!.activation}`
    : '';
  return (
    layers
      .map(
        (l) =>
          `${l.units}${act ? '' : ` ${l.activation}`}${l.dropout ? ` d${l.dropout}` : ''}${l.batchNorm ? ' bn' : ''}${l.l2 ? ` l2 ${l.l2}` : ''}`,
      )
      .join(' → ') + act
  );
}

const paramsLine = (p: number) => `${count(p)} params`;

/** The full part graph of a plan (one box per block, gate, tower, head). */
function fullParts(plan: Plan): PartGraph {
  const parts: Part[] = [];
  const links: PartLink[] = [];
  const input = plan.input as { features: number; columns?: string[] };
  // Embedded columns: one line per table (rows x dim, its parameters) in the input box.
  const embeddings = plan.embeddings ?? [];
  const tables = embeddings.map((e) => ({
    e,
    params: plan.params.embeddings?.[e.column] ?? e.rows * e.dim,
  }));
  parts.push({
    id: INPUT,
    kind: 'input',
    title: 'input',
    lines: [
      `${input.features} feature${input.features === 1 ? '' : 's'}`,
      ...tables.map(
        ({ e, params }) => `embed ${e.column}: ${count(e.rows)}x${e.dim}, ${paramsLine(params)}`,
      ),
    ],
    params: tables.reduce((s, t) => s + t.params, 0),
    tasks: plan.tasks.map((t) => t.id),
    tip: `input: ${input.features} features${input.columns ? ` (${input.columns.join(', ')})` : ''}${tables
      .map(
        ({ e, params }) =>
          `; ${e.column} embedded: a table of ${e.rows} rows x ${e.dim} (${e.buckets !== undefined ? 'hash buckets' : 'vocabulary + out-of-vocabulary row'}${e.lookup === 'ids' ? ', by the CSV preprocessing' : ''}), ${params} params, shared by all tasks`,
      )
      .join('')}`,
  });
  const from = (parent: string | null) => parent ?? INPUT;
  for (const b of plan.blocks) {
    const params = plan.params.blocks[b.id] ?? 0;
    parts.push({
      id: b.id,
      kind: b.role === 'expert' ? 'expert' : 'block',
      title: b.id,
      lines: [layersText(b.layers), paramsLine(params)],
      params,
      tasks: b.tasks,
      tip: `${b.role === 'expert' ? 'expert' : 'shared block'} ${b.id}: ${layersText(b.layers)}, ${count(params)} params, for ${b.tasks.join(', ')}`,
    });
    links.push({ from: from(b.parent), to: b.id, style: 'data' });
  }
  for (const g of plan.gates) {
    const params = plan.params.gates[g.id] ?? 0;
    parts.push({
      id: g.id,
      kind: 'gate',
      title: g.id,
      lines: [`softmax over ${g.experts.length} experts`, paramsLine(params)],
      params,
      tasks: g.task ? [g.task] : plan.tasks.map((t) => t.id),
      tip: `gate ${g.id}${g.task ? ` of task ${g.task}` : ' (shared)'}: mixes ${g.experts.join(', ')}; reads ${g.parent ?? 'the input'}`,
    });
    for (const e of g.experts) links.push({ from: e, to: g.id, style: 'data' });
    links.push({ from: from(g.parent), to: g.id, style: 'gate' });
  }
  for (const t of plan.tasks) {
    const tower = plan.towers[t.id];
    const head = plan.heads[t.id];
    let below = from(tower?.parent ?? null);
    // Per-task inputs: the input also feeds the task's first part (inputsOnly: it alone, as parent null).
    const ownInputs = t.inputColumns?.length
      ? t.inputsOnly
        ? `; reads only its input columns ${(t.inputs ?? []).join(', ')}, not the shared representation`
        : `; also reads its input columns ${(t.inputs ?? []).join(', ')}`
      : '';
    if (ownInputs && !t.inputsOnly && below !== INPUT) {
      const first = tower && tower.layers.length > 0 ? `tower:${t.id}` : `head:${t.id}`;
      links.push({ from: INPUT, to: first, style: 'data' });
    }
    if (tower && tower.layers.length > 0) {
      const params = plan.params.towers[t.id] ?? 0;
      parts.push({
        id: `tower:${t.id}`,
        kind: 'tower',
        title: `tower ${t.id}`,
        lines: [layersText(tower.layers), paramsLine(params)],
        params,
        tasks: [t.id],
        tip: `tower of ${t.id}: ${layersText(tower.layers)}, ${count(params)} params${ownInputs}`,
      });
      links.push({ from: below, to: `tower:${t.id}`, style: 'data' });
      below = `tower:${t.id}`;
    }
    const params = plan.params.heads[t.id] ?? 0;
    const headText = head ? `${head.units} ${head.activation} · ${head.loss}` : t.kind;
    parts.push({
      id: `head:${t.id}`,
      kind: 'head',
      title: t.id,
      lines: [headText, paramsLine(params)],
      params,
      tasks: [t.id],
      taskKind: t.kind,
      tip: `head of ${t.id} (${t.kind}): ${headText}, ${count(params)} params, weight ${t.weight}${tower && tower.layers.length > 0 ? '' : ownInputs}`,
    });
    links.push({ from: below, to: `head:${t.id}`, style: 'data' });
  }
  // Task chains: p(condition) into the conditioned head; read towers into the reading task's first part.
  for (const t of plan.tasks) {
    const first = (plan.towers[t.id]?.layers.length ?? 0) > 0 ? `tower:${t.id}` : `head:${t.id}`;
    if (t.condition !== undefined)
      links.push({ from: `head:${t.condition}`, to: `head:${t.id}`, style: 'chain' });
    for (const r of t.reads ?? []) {
      const from = (plan.towers[r]?.layers.length ?? 0) > 0 ? `tower:${r}` : `head:${r}`;
      links.push({ from, to: first, style: 'chain' });
    }
  }
  plan.couplings.forEach((c, i) => {
    if (c.kind !== 'cross-stitch') return;
    const id = `cross-stitch:${i}`;
    parts.push({
      id,
      kind: 'cross-stitch',
      title: `cross-stitch after layer ${c.after}`,
      lines: [`${c.tasks.length} towers, α ${c.tasks.length}×${c.tasks.length}`],
      params: c.tasks.length * c.tasks.length,
      tasks: c.tasks,
      tip: `cross-stitch unit after tower layer ${c.after} mixing ${c.tasks.join(', ')}`,
    });
    for (const t of c.tasks) {
      const tower = plan.towers[t];
      links.push({
        from: tower && tower.layers.length > 0 ? `tower:${t}` : `head:${t}`,
        to: id,
        style: 'coupling',
      });
    }
  });
  return { parts, links, pairs: [], innerPairs: new Map(), notes: [] };
}

/** Merges parts into representatives: `rep` maps a part id to the id of the part drawn for it. */
function fold(graph: PartGraph, rep: Map<string, string>, created: Part[]): PartGraph {
  const r = (id: string) => rep.get(id) ?? id;
  const parts = [...graph.parts.filter((p) => !rep.has(p.id)), ...created];
  const seen = new Set<string>();
  const links: PartLink[] = [];
  for (const l of graph.links) {
    const a = r(l.from),
      b = r(l.to);
    if (a === b) continue;
    const key = `${a}\u0000${b}\u0000${l.style}`;
    if (seen.has(key)) continue;
    seen.add(key);
    links.push({ from: a, to: b, style: l.style });
  }
  return { parts, links, pairs: graph.pairs, innerPairs: graph.innerPairs, notes: graph.notes };
}

function summarise(
  kind: 'tasks' | 'subtree',
  id: string,
  members: Part[],
  title: string,
  plan: Plan,
): Part {
  const tasks = [...new Set(members.flatMap((m) => m.tasks))];
  const order = new Map(plan.tasks.map((t, i) => [t.id, i]));
  tasks.sort((a, b) => order.get(a)! - order.get(b)!);
  const params = members.reduce((s, m) => s + m.params, 0);
  const names =
    tasks
      .slice(0, 3)
      .map((t) => truncate(t, 14))
      .join(', ') + (tasks.length > 3 ? ` +${tasks.length - 3}` : '');
  const kinds = new Map<string, number>();
  for (const m of members) kinds.set(m.kind, (kinds.get(m.kind) ?? 0) + 1);
  const what = [...kinds]
    .map(([k, n]) => `${n} ${k === 'cross-stitch' ? 'units' : `${k}${n === 1 ? '' : 's'}`}`)
    .join(', ');
  return {
    id,
    kind,
    title,
    lines: [names, what, paramsLine(params)],
    params,
    tasks,
    tip: `${title}: ${what}, ${count(params)} params; tasks: ${tasks.join(', ')}`,
  };
}

/** Folds each task's private parts into one box per attachment point (the shared parts they read). */
function foldTasks(graph: PartGraph, plan: Plan): PartGraph {
  const privateOf = new Map<string, string>();
  for (const p of graph.parts) {
    if (p.kind === 'input' || p.kind === 'cross-stitch') continue;
    if (
      p.tasks.length === 1 &&
      (p.kind === 'head' ||
        p.kind === 'tower' ||
        p.kind === 'gate' ||
        p.kind === 'expert' ||
        p.kind === 'block')
    )
      privateOf.set(p.id, p.tasks[0]!);
  }
  // Cross-stitch units tie towers together: fold them with the tasks they mix when all of those are folded.
  const attach = new Map<string, Set<string>>();
  for (const l of graph.links) {
    const task = privateOf.get(l.to);
    if (task === undefined || privateOf.get(l.from) === task) continue;
    let set = attach.get(task);
    if (!set) attach.set(task, (set = new Set()));
    set.add(l.from);
  }
  const groups = new Map<string, string[]>();
  for (const t of plan.tasks) {
    const key = [...(attach.get(t.id) ?? [])].sort().join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), t.id]);
  }
  const rep = new Map<string, string>();
  const created: Part[] = [];
  let k = 0;
  for (const tasks of groups.values()) {
    if (tasks.length < 2) continue;
    const id = `tasks:${k++}`;
    const set = new Set(tasks);
    const members = graph.parts.filter((p) => privateOf.has(p.id) && set.has(privateOf.get(p.id)!));
    for (const m of members) rep.set(m.id, id);
    created.push(summarise('tasks', id, members, `${tasks.length} tasks`, plan));
  }
  // A cross-stitch unit whose towers all fold into one summary is folded into it.
  for (const p of graph.parts) {
    if (p.kind !== 'cross-stitch') continue;
    const targets = new Set(
      graph.links.filter((l) => l.to === p.id).map((l) => rep.get(l.from) ?? l.from),
    );
    if (targets.size === 1) {
      const only = [...targets][0]!;
      if (only.startsWith('tasks:')) {
        rep.set(p.id, only);
        const summary = created.find((c) => c.id === only)!;
        summary.lines.splice(1, 0, 'cross-stitch mixed');
      }
    }
  }
  const folded = fold(graph, rep, created);
  folded.notes.push(
    `the private parts of ${plan.tasks.length} tasks are drawn as ${created.length} summary box${created.length === 1 ? '' : 'es'} (one per set of shared parts they read)`,
  );
  return folded;
}

/** The breadth-first tree of a part graph from the input: depth and first parent of every part reached. */
function bfsTree(graph: PartGraph): {
  depth: Map<string, number>;
  parent: Map<string, string>;
  children: Map<string, string[]>;
} {
  const depth = new Map<string, number>([[INPUT, 0]]);
  const parent = new Map<string, string>();
  const children = new Map<string, string[]>();
  const out = new Map<string, string[]>();
  for (const l of graph.links) {
    if (l.style === 'coupling' || l.style === 'chain') continue;
    out.set(l.from, [...(out.get(l.from) ?? []), l.to]);
  }
  const queue = [INPUT];
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!;
    for (const next of out.get(id) ?? []) {
      if (depth.has(next)) continue;
      depth.set(next, depth.get(id)! + 1);
      parent.set(next, id);
      children.set(id, [...(children.get(id) ?? []), next]);
      queue.push(next);
    }
  }
  return { depth, parent, children };
}

function descendants(id: string, children: Map<string, string[]>): string[] {
  const out: string[] = [];
  const stack = [id];
  while (stack.length) {
    const cur = stack.pop()!;
    out.push(cur);
    for (const c of children.get(cur) ?? []) stack.push(c);
  }
  return out;
}

/** Folds shared parts deeper than the depth that fits `maxNodes` into one summary per ancestor. */
function foldDepth(graph: PartGraph, plan: Plan, maxNodes: number): PartGraph {
  const { depth, parent } = bfsTree(graph);
  const maxDepth = Math.max(...depth.values());
  const ancestorAt = (id: string, d: number) => {
    let cur = id;
    while ((depth.get(cur) ?? 0) > d && parent.has(cur)) cur = parent.get(cur)!;
    return cur;
  };
  const countAt = (d: number) => {
    let kept = 0;
    const frontier = new Set<string>();
    for (const p of graph.parts) {
      if ((depth.get(p.id) ?? 0) <= d) kept++;
      else frontier.add(ancestorAt(p.id, d));
    }
    return kept + frontier.size;
  };
  let cut = maxDepth;
  while (cut > 1 && countAt(cut) > maxNodes) cut--;
  if (cut === maxDepth) return graph;
  const groups = new Map<string, string[]>();
  for (const p of graph.parts) {
    if ((depth.get(p.id) ?? 0) <= cut) continue;
    const anc = ancestorAt(p.id, cut);
    groups.set(anc, [...(groups.get(anc) ?? []), p.id]);
  }
  const folded = foldGroups(
    graph,
    plan,
    [...groups].map(([anc, members]) => ({
      anchor: anc,
      members,
      title: `below ${truncate(anc, 20)}`,
    })),
  );
  folded.notes.push(
    `parts deeper than level ${cut} are drawn as ${groups.size} summary box${groups.size === 1 ? '' : 'es'} under their ancestor`,
  );
  return folded;
}

/** Folds the smallest branches of parts with many children into one summary per parent, until `maxNodes` fit. */
function foldBreadth(graph: PartGraph, plan: Plan, maxNodes: number): PartGraph {
  const { children } = bfsTree(graph);
  const byId = new Map(graph.parts.map((p) => [p.id, p]));
  const size = new Map<string, number>();
  const subtree = (id: string) => {
    let n = size.get(id);
    if (n === undefined) size.set(id, (n = descendants(id, children).length));
    return n;
  };
  const weight = (id: string) => byId.get(id)?.tasks.length ?? 0;
  const plans = (cap: number) => {
    const folds: Array<{ anchor: string; members: string[] }> = [];
    let total = graph.parts.length;
    for (const [id, kids] of children) {
      if (kids.length <= cap) continue;
      const sorted = [...kids].sort((a, b) => weight(b) - weight(a) || subtree(b) - subtree(a));
      const rest = sorted.slice(cap - 1);
      const members = rest.flatMap((k) => descendants(k, children));
      total += 1 - members.length;
      folds.push({ anchor: id, members });
    }
    return { folds, total };
  };
  const widest = Math.max(0, ...[...children.values()].map((k) => k.length));
  let cap = widest;
  let chosen = plans(cap);
  while (cap > 4 && chosen.total > maxNodes) chosen = plans(--cap);
  if (chosen.folds.length === 0) return graph;
  const folded = foldGroups(
    graph,
    plan,
    chosen.folds.map((f) => ({ ...f, title: `more under ${truncate(f.anchor, 16)}` })),
  );
  folded.notes.push(
    `parts with more than ${cap} branches show the ${cap - 1} largest; the others are drawn as one summary box each`,
  );
  return folded;
}

/** Replaces each group of parts by one summary box linked from its anchor. */
function foldGroups(
  graph: PartGraph,
  plan: Plan,
  groups: Array<{ anchor: string; members: string[]; title: string }>,
): PartGraph {
  const byId = new Map(graph.parts.map((p) => [p.id, p]));
  const rep = new Map<string, string>();
  const created: Part[] = [];
  groups.forEach((group, i) => {
    const id = `subtree:${i}:${group.anchor}`;
    const members = group.members.map((m) => byId.get(m)).filter((p): p is Part => p !== undefined);
    for (const m of members) rep.set(m.id, id);
    created.push(summarise('subtree', id, members, group.title, plan));
  });
  const folded = fold(graph, rep, created);
  groups.forEach((group, i) => {
    const id = `subtree:${i}:${group.anchor}`;
    if (!folded.links.some((l) => l.from === group.anchor && l.to === id))
      folded.links.push({ from: group.anchor, to: id, style: 'data' });
  });
  return folded;
}

/** Laplacian pairs, mapped onto the drawn parts of each task (its tower, else its head, or what folded them). */
function pairLinks(graph: PartGraph, plan: Plan, rep: (id: string) => string): PartGraph {
  const agg = new Map<string, PairLink>();
  const inner = new Map<string, number>();
  for (const c of plan.couplings) {
    if (c.kind !== 'laplacian') continue;
    const layer = c.layer === 'head' ? 'head' : `layer ${c.layer}`;
    for (const [a, b, w] of c.pairs) {
      const pa = rep(a),
        pb = rep(b);
      if (pa === pb) {
        inner.set(pa, (inner.get(pa) ?? 0) + 1);
        continue;
      }
      const [x, y] = pa < pb ? [pa, pb] : [pb, pa];
      const key = `${x}\u0000${y}`;
      const link = agg.get(key) ?? { a: x, b: y, weight: 0, pairs: 0, layers: [] };
      link.weight += Math.abs(w);
      link.pairs++;
      if (!link.layers.includes(layer)) link.layers.push(layer);
      agg.set(key, link);
    }
  }
  const pairs = [...agg.values()].map((l) => ({ ...l, weight: l.weight / l.pairs }));
  return { ...graph, pairs, innerPairs: inner };
}

export interface PartOptions {
  maxTasks: number;
  maxNodes: number;
}

/** The boxes and links to draw for a plan, folded to fit the options. */
export function planParts(plan: Plan, options: PartOptions): PartGraph {
  let graph = fullParts(plan);
  if (plan.tasks.length > options.maxTasks) graph = foldTasks(graph, plan);
  if (graph.parts.length > options.maxNodes) graph = foldDepth(graph, plan, options.maxNodes);
  if (graph.parts.length > options.maxNodes) graph = foldBreadth(graph, plan, options.maxNodes);
  // Where each task's Laplacian penalties are drawn: under its head (the bottom of its path), or the box that folded it.
  const ids = new Set(graph.parts.map((p) => p.id));
  const drawnFor = new Map<string, string>();
  for (const t of plan.tasks) if (ids.has(`head:${t.id}`)) drawnFor.set(t.id, `head:${t.id}`);
  for (const p of graph.parts) {
    if (p.kind === 'tasks' || p.kind === 'subtree')
      for (const t of p.tasks) if (!drawnFor.has(t)) drawnFor.set(t, p.id);
  }
  return pairLinks(graph, plan, (t) => drawnFor.get(t) ?? INPUT);
}
