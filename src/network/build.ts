import * as tf from '@tensorflow/tfjs';
import { OptionsError, show } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { SerializedTaskGraph } from '../schema/serialized.js';
import { checkPlan } from './check.js';
import type { BuildContext } from './context.js';
import { getCouplingBuilder } from './couplings/registry.js';
import { gateMix, stackExperts } from './gate.js';
import { Columns } from './layers/columns.js';
import { MultiHead } from './layers/multi-head.js';
import { columnScale } from './layers/scaled-dense.js';
import { getHeadBuilder } from './heads/registry.js';
import { assemble } from './model.js';
import { nameLayers, type GateNames } from './names.js';
import { deriveSeed } from './seed.js';
import { denseStack, denseStep } from './stack.js';
import { checkChains, widensTower } from '../schema/chains.js';
import { Pick } from './layers/pick.js';
import { StopGradient } from './layers/stop-gradient.js';
import type { MtgraphModel } from './types.js';
import '../backend/segment-sum-kernel.js';
import './couplings/index.js';
import './heads/index.js';

export interface BuildOptions {
  /** The task graph the plan came from (a graphology graph or its serialized JSON); kept with the model and saved. */
  graph?: SerializedTaskGraph | { export(): unknown };
  /** Seed of every kernel initialiser (default: the plan's seed); the same seed gives the same initial weights. */
  seed?: number;
  /** Initial training metadata. */
  metadata?: Record<string, unknown>;
}

function serialized(graph: BuildOptions['graph']): SerializedTaskGraph | undefined {
  if (graph === undefined) return undefined;
  if (typeof (graph as { export?: unknown }).export === 'function')
    return (graph as { export(): unknown }).export() as SerializedTaskGraph;
  return graph as SerializedTaskGraph;
}

/**
 * The representation every strategy reads: the model input itself, or, with embedded columns,
 * the other (numeric) columns followed by each embedded column's looked-up vector in input order
 * (its ids picked from the input, an Embedding table of rows × dim shared by all tasks, reshaped
 * to [dim]).
 */
function embedInput(input: tf.SymbolicTensor, ctx: BuildContext): tf.SymbolicTensor {
  const { plan, names } = ctx;
  const embeddings = plan.embeddings ?? [];
  if (embeddings.length === 0 || !names.embeddings) return input;
  const embedded = new Set(embeddings.map((e) => e.index));
  const numeric = Array.from({ length: plan.input.features }, (_, i) => i).filter(
    (i) => !embedded.has(i),
  );
  const parts: tf.SymbolicTensor[] = [];
  if (names.embeddings.numeric)
    parts.push(
      ctx
        .track(new Pick({ columns: numeric, name: names.embeddings.numeric }))
        .apply(input) as tf.SymbolicTensor,
    );
  for (const e of embeddings) {
    const n = names.embeddings.columns.get(e.column)!;
    const ids = ctx.track(new Pick({ columns: [e.index], name: n.ids })).apply(input);
    const table = ctx.track(
      tf.layers.embedding({
        inputDim: e.rows,
        outputDim: e.dim,
        inputLength: 1,
        embeddingsInitializer: tf.initializers.randomUniform({
          minval: -0.05,
          maxval: 0.05,
          seed: deriveSeed(ctx.seed, n.table),
        }),
        name: n.table,
      }),
    );
    const flat = ctx.track(tf.layers.reshape({ targetShape: [e.dim], name: n.flat }));
    parts.push(flat.apply(table.apply(ids)) as tf.SymbolicTensor);
  }
  if (parts.length === 1) return parts[0]!;
  return ctx
    .track(tf.layers.concatenate({ axis: -1, name: names.embeddings.concat! }))
    .apply(parts) as tf.SymbolicTensor;
}

/**
 * Builds the tfjs model of a Plan: input -> blocks -> gates -> towers (with their couplings) ->
 * one head per task, as ONE functional `tf.LayersModel` with one named output per task, plus
 * the plan's penalties. The plan is validated first (a PlanError names what is wrong).
 */
export function build(plan: Plan, options: BuildOptions = {}): MtgraphModel {
  const checked = checkPlan(plan);
  const seed = options.seed ?? checked.seed;
  if (!Number.isInteger(seed))
    throw new OptionsError(
      `mtgraph/build: seed must be a whole number (got ${show(seed)}) → at options.seed. Use e.g. seed: 42.`,
      { path: 'options.seed', got: seed },
    );
  const names = nameLayers(checked);
  const created: tf.layers.Layer[] = [];
  const ctx: BuildContext = {
    plan: checked,
    names,
    seed,
    kernelInitializer: (layer) => tf.initializers.glorotUniform({ seed: deriveSeed(seed, layer) }),
    track: (layer) => {
      created.push(layer);
      return layer;
    },
  };
  try {
    const input = tf.input({ shape: [checked.input.features], name: names.input });
    const blocks = new Map(checked.blocks.map((b) => [b.id, b]));
    const gates = new Map(checked.gates.map((g) => [g.id, g]));
    const made = new Map<string | null, tf.SymbolicTensor>([[null, embedInput(input, ctx)]]);
    // Stacks of experts by their ids in order: gates over the same experts share one (see GateNames).
    const stacks = new Map<string, tf.SymbolicTensor>();
    const stackNames = new Map<string, GateNames>();
    for (const g of checked.gates) {
      const gateNames = names.gates.get(g.id)!;
      if (gateNames.experts.length > 0) stackNames.set(g.experts.join('\u0000'), gateNames);
    }
    const stackOf = (experts: readonly string[]) => {
      const key = experts.join('\u0000');
      let stacked = stacks.get(key);
      if (!stacked)
        stacks.set(key, (stacked = stackExperts(experts.map(resolve), stackNames.get(key)!, ctx)));
      return stacked;
    };
    // Only what some task reads is built; checkPlan has ruled out unknown parents and cycles.
    const resolve = (id: string | null): tf.SymbolicTensor => {
      const known = made.get(id);
      if (known) return known;
      const block = blocks.get(id!);
      const gate = gates.get(id!);
      const out = block
        ? denseStack(resolve(block.parent), block.layers, names.blocks.get(block.id)!, ctx)
        : gateMix(
            resolve(gate!.parent),
            stackOf(gate!.experts),
            gate!.experts.length,
            names.gates.get(gate!.id)!,
            ctx,
          );
      made.set(id, out);
      return out;
    };
    const towers = new Map(checked.tasks.map((t) => [t.id, resolve(checked.towers[t.id]!.parent)]));
    const depth = Math.max(0, ...checked.tasks.map((t) => checked.towers[t.id]!.layers.length));
    // Towers that read other towers (task chains) are built after the others, in chain order.
    const reading = widensTower;
    for (let i = 0; i < depth; i++) {
      for (const t of checked.tasks) {
        if (reading(t)) continue;
        const layer = checked.towers[t.id]!.layers[i];
        if (layer)
          towers.set(t.id, denseStep(towers.get(t.id)!, layer, names.towers.get(t.id)![i]!, ctx));
      }
      checked.couplings.forEach((c, index) =>
        getCouplingBuilder(c.kind)!.afterTowerLayer?.(c, index, i, towers, ctx),
      );
    }
    const byId = new Map(checked.tasks.map((t) => [t.id, t]));
    for (const id of checkChains(checked.tasks)) {
      const t = byId.get(id)!;
      if (!reading(t)) continue;
      const chain = names.reads.get(id)!;
      const stop = chain.stop ? ctx.track(new StopGradient({ name: chain.stop })) : undefined;
      const own = chain.pick
        ? [
            ctx
              .track(new Pick({ columns: t.inputColumns!, name: chain.pick }))
              .apply(input) as tf.SymbolicTensor,
          ]
        : [];
      const parts = (t.reads ?? []).map((r) => {
        const out = towers.get(r)!;
        return stop ? (stop.apply(out) as tf.SymbolicTensor) : out;
      });
      // inputsOnly: the tower reads its own columns (and the towers it reads), not its parent.
      const joining = [...(t.inputsOnly ? [] : [towers.get(id)!]), ...own, ...parts];
      let h = chain.concat
        ? (ctx
            .track(tf.layers.concatenate({ axis: -1, name: chain.concat }))
            .apply(joining) as tf.SymbolicTensor)
        : joining[0]!;
      checked.towers[id]!.layers.forEach((layer, i) => {
        h = denseStep(h, layer, names.towers.get(id)![i]!, ctx);
      });
      towers.set(id, h);
    }
    // Heads fused into one MultiHead: one product for the group, then each task's columns, activated, in a layer named by the task.
    const fused = new Map<string, tf.SymbolicTensor>();
    for (const [name, tasks] of names.fusedHeads) {
      const units = tasks.map((id) => checked.heads[id]!.units);
      const scale = columnScale(checked.heads, tasks);
      const layer = ctx.track(
        new MultiHead({
          units,
          kernelInitializers: tasks.map((id) => ctx.kernelInitializer(names.heads.get(id)!)),
          name,
          ...(scale ? { mean: scale.mean, std: scale.std } : {}),
        }),
      );
      const logits = layer.apply(towers.get(tasks[0]!)!) as tf.SymbolicTensor;
      let begin = 0;
      tasks.forEach((id, i) => {
        const head = ctx.track(
          new Columns({
            begin,
            size: units[i]!,
            activation: checked.heads[id]!.activation,
            name: names.heads.get(id)!,
          }),
        );
        fused.set(id, head.apply(logits) as tf.SymbolicTensor);
        begin += units[i]!;
      });
    }
    const heads = new Map(
      checked.tasks.map((t) => [
        t.id,
        fused.get(t.id) ??
          getHeadBuilder(t.kind)!.build(towers.get(t.id)!, checked.heads[t.id]!, t, ctx),
      ]),
    );
    // A task with a condition outputs p(condition) × p(task | condition), the condition's own output
    // being a product too when it has a condition (chain order).
    const final = new Map<string, tf.SymbolicTensor>();
    for (const id of checkChains(checked.tasks)) {
      const t = byId.get(id)!;
      if (t.condition === undefined) {
        final.set(id, heads.get(id)!);
        continue;
      }
      const product = ctx.track(tf.layers.multiply({ name: names.outputs.get(id)! }));
      final.set(id, product.apply([final.get(t.condition)!, heads.get(id)!]) as tf.SymbolicTensor);
    }
    const outputs = checked.tasks.map((t) => final.get(t.id)!);
    const model = tf.model({ inputs: input, outputs, name: names.model });
    return assemble(model, checked, names, {
      graph: serialized(options.graph),
      metadata: { ...options.metadata },
    });
  } catch (error) {
    for (const layer of created) {
      try {
        layer.dispose();
      } catch {
        // never built: nothing to free
      }
    }
    throw error;
  }
}
