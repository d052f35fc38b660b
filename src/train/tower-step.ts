import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { FusedHeadLaplacian, LaplacianPenalty } from '../network/couplings/laplacian.js';
import { hasChains } from '../schema/chains.js';
import { wasmKernelsVeto } from '../backend/kernel-patch.js';
import type { TaskSlot } from './dense-engine.js';
import { TowerEngine, type LaplacianRows, type TowerSpec } from './tower-engine.js';
import { fastStepRefusal, type FastEpoch } from './fast-step.js';
import type { Objective } from './objective.js';
import type { FlatAdam } from './flat-adam.js';
import type { ResolvedFitOptions } from './options.js';

/**
 * The fast tower step (issue 18): the fast step (fast-step.ts) for soft sharing's shape — every
 * task a tower of one Dense layer (relu or linear, the same units) on the input and a one-unit
 * Dense head on it (mse or binary cross-entropy), with the graph-Laplacian penalty between the
 * towers' layers and between the heads (soft's couplings; src/network/couplings/laplacian.ts), the
 * static balancer and Adam / AdamW. A whole epoch runs on the stacked buffers of tower-engine.ts
 * (one product for every tower's layer, two SIMD passes for the heads, one Adam pass) with no tfjs
 * kernel. The towers' variables (and Adam's moments, FlatAdam's flat layout) are read when the
 * epoch starts and written back when it ends, so the model, its saved form, checkpoints and
 * everything fit does between epochs do not change. Everything else stays on the tfjs step (the
 * reference in tests): deeper towers, a trunk, dropout, batch norm, regularisers, other
 * couplings, other losses, heads of several units. MTGRAPH_FAST_STEP=off turns it off too.
 */

interface DenseLike extends tf.layers.Layer {
  units: number;
  useBias: boolean;
  kernel: { read(): tf.Variable };
  bias?: { read(): tf.Variable };
  activation: { getClassName(): string };
}

const isDense = (l: tf.layers.Layer | undefined): l is DenseLike =>
  l !== undefined &&
  l.getClassName() === 'Dense' &&
  l.inboundNodes.length === 1 &&
  (l as DenseLike).useBias;
const activationOf = (l: DenseLike) => l.activation.getClassName().toLowerCase();

/** The losses the tower step computes (a one-unit head), by the head activation they need. */
const LOSSES: Readonly<Record<string, { activation: string; kind: 'mse' | 'bce' }>> = {
  mse: { activation: 'linear', kind: 'mse' },
  'binary-crossentropy': { activation: 'sigmoid', kind: 'bce' },
};

interface TowerStructure {
  /** Per tower (plan task order): its layer and its head (none: the heads fused on the input, `fused`). */
  layers: DenseLike[];
  heads: DenseLike[];
  fused?: { kernel: tf.Variable; bias: tf.Variable };
  /** The l2 regulariser of the towers' kernels (0: none). */
  l2: number;
  towers: number;
  /** Units of each tower's layer (0: no layer, the heads read the input). */
  units: number;
  activation: 'relu' | 'linear';
  tasks: TaskSlot[];
  towerLaplacian: LaplacianRows;
  headLaplacian: LaplacianRows;
}

/**
 * Why the model and options are not covered by the tower step (undefined: covered). The general
 * conditions (backend, balancer, optimizer, clipping, chains) are the fast step's.
 */
export function towerStepRefusal(
  model: MtgraphModel,
  objective: Objective,
  opts: ResolvedFitOptions,
): string | undefined {
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') return `backend ${backend}`;
  if (backend === 'wasm' && wasmKernelsVeto() !== undefined) return 'untested tfjs version';
  if (opts.balance !== 'static') return `balance ${opts.balance}`;
  const o = opts.optimizer;
  if (o.name !== 'adam' && o.name !== 'adamw') return `optimizer ${o.name}`;
  if (o.clipNorm !== undefined || o.clipValue !== undefined) return 'gradient clipping';
  if (hasChains(model.plan.tasks)) return 'task chains';
  if (model.plan.gates.length > 0) return 'gates';
  const s = towerStructure(model, objective);
  if (typeof s === 'string') return s;
  // Every regulariser's term is a tower's l2 (nothing else adds to the model's losses).
  const terms = tf.tidy(() => model.model.calculateLosses().length);
  return terms === (s.l2 > 0 ? s.layers.length : 0) ? undefined : 'a regulariser';
}

/** The model as towers of one layer with one-unit heads, or as one-unit heads fused on the input, or why it is neither. */
function towerStructure(model: MtgraphModel, objective: Objective): TowerStructure | string {
  const { plan, layerNames: names } = model;
  const m = model.model;
  if (m.inputs.length !== 1 || m.trainable === false) return 'not one input';
  if (plan.blocks.length > 0) return 'shared blocks';
  if (plan.tasks.every((t) => (names.towers.get(t.id) ?? []).length === 0))
    return linearStructure(model, objective);
  const input = m.inputs[0]!;
  const layers: DenseLike[] = [];
  const heads: DenseLike[] = [];
  for (const t of plan.tasks) {
    const steps = names.towers.get(t.id) ?? [];
    const tower = plan.towers[t.id];
    if (!tower || steps.length !== 1 || tower.parent !== null) return 'not one tower layer a task';
    const s = steps[0]!;
    if (s.dropout || s.batchNorm || tower.layers.some((l) => l.dropout > 0 || l.batchNorm))
      return 'dropout or batch norm';
    const dense = m.getLayer(s.dense);
    const headName = names.heads.get(t.id);
    const head = headName ? m.getLayer(headName) : undefined;
    if (!isDense(dense) || !isDense(head) || dense.input !== input || head.input !== dense.output)
      return 'not a Dense tower on the input with a Dense head';
    if (head.units !== 1 || plan.heads[t.id]?.scale) return 'a head of several units or a scale';
    if (activationOf(head) !== plan.heads[t.id]?.activation) return 'a head activation';
    layers.push(dense);
    heads.push(head);
  }
  if (layers.length === 0) return 'no towers';
  const units = layers[0]!.units;
  const activation = activationOf(layers[0]!);
  if (activation !== 'relu' && activation !== 'linear') return `activation ${activation}`;
  if (layers.some((l) => l.units !== units || activationOf(l) !== activation))
    return 'towers of different shapes';
  // Regularisers: an l2 on the towers' kernels, the same for every tower, and nothing else.
  const l2 = towerL2(layers, heads);
  if (typeof l2 === 'string') return l2;
  // Nothing else: the input, the towers and the heads are every layer and every variable.
  if (m.layers.length !== 1 + 2 * layers.length) return 'other layers';
  const variables = new Set<tf.Variable>(
    [...layers, ...heads].flatMap((d) => [d.kernel.read(), d.bias!.read()]),
  );
  if (
    model.trainableVariables.length !== variables.size ||
    !model.trainableVariables.every((v) => variables.has(v))
  )
    return 'other variables';
  const towerOf = new Map(plan.tasks.map((t, i) => [t.id, i]));
  const tasks: TaskSlot[] = [];
  let label = 0;
  for (let t = 0; t < objective.order.length; t++) {
    const task = objective.tasks[t]!;
    const rule = LOSSES[task.loss];
    const z = towerOf.get(task.id);
    if (!rule || z === undefined || plan.heads[task.id]?.activation !== rule.activation)
      return `loss ${task.loss}`;
    if (objective.widths[t] !== 1) return 'a label of several columns';
    tasks.push({ kind: rule.kind, z, units: 1, label, weight: task.weight });
    label += 1;
  }
  // The penalties: Laplacian couplings of the towers' layer or of the heads, nothing else.
  const T = layers.length;
  const tower: Array<Array<[number, number]>> = Array.from({ length: T }, () => []);
  const head: Array<Array<[number, number]>> = Array.from({ length: T }, () => []);
  const kernelRow = new Map<tf.Variable, { target: typeof tower; row: number }>();
  layers.forEach((d, i) => kernelRow.set(d.kernel.read(), { target: tower, row: i }));
  heads.forEach((d, i) => kernelRow.set(d.kernel.read(), { target: head, row: i }));
  const used = new Set<typeof tower>();
  for (const p of model.penalties) {
    if (!(p instanceof LaplacianPenalty)) return 'a penalty other than the Laplacian on towers';
    const { rows, L } = p.coupling();
    const at = rows.map((vars) => kernelRow.get(vars[0]!));
    const target = at[0]?.target;
    if (!target || at.some((a) => a?.target !== target)) return 'a Laplacian on other weights';
    // One penalty per layer (two would add up in another order than the tfjs step's).
    if (used.has(target)) return 'two Laplacians on one layer';
    used.add(target);
    rows.forEach((vars, r) => {
      const i = at[r]!.row;
      const owner = target === tower ? layers[i]! : heads[i]!;
      if (vars.length !== 2 || vars[1] !== owner.bias!.read()) return;
      target[i] = L[r]!.map(([j, v]): [number, number] => [at[j]!.row, v]);
    });
    if (rows.some((vars) => vars.length !== 2)) return 'a Laplacian on other weights';
  }
  return {
    layers,
    heads,
    l2,
    towers: layers.length,
    units,
    activation,
    tasks,
    towerLaplacian: tower,
    headLaplacian: head,
  };
}

/** What fit runs an epoch with: the fast step (fast-step.ts) or the tower step. */
export interface EpochStep {
  epoch(perm: Int32Array, batchSize: number, beforeStep: (step: number) => void): FastEpoch;
  dispose(): void;
}

interface Regularised {
  kernelRegularizer?: { getClassName(): string; getConfig(): { l1?: number; l2?: number } } | null;
  biasRegularizer?: unknown;
  activityRegularizer?: unknown;
}

/** Whether the layer has a regulariser of any kind. */
function regularised(l: tf.layers.Layer): boolean {
  const r = l as unknown as Regularised;
  return r.kernelRegularizer != null || r.biasRegularizer != null || r.activityRegularizer != null;
}

/**
 * The l2 of the towers' kernels (the same L1L2 with l1 = 0 on every tower, or none: 0), or why
 * the regularisers are not covered (on the heads, on biases, of another kind).
 */
function towerL2(layers: readonly DenseLike[], heads: readonly DenseLike[]): number | string {
  if (heads.some(regularised)) return 'a regulariser on the heads';
  const values = layers.map((l) => {
    const r = l as unknown as Regularised;
    if (r.biasRegularizer != null || r.activityRegularizer != null) return Number.NaN;
    const k = r.kernelRegularizer;
    if (k == null) return 0;
    const c = k.getConfig();
    return k.getClassName() === 'L1L2' && (c.l1 ?? 0) === 0 && typeof c.l2 === 'number'
      ? c.l2
      : Number.NaN;
  });
  if (values.some((v) => Number.isNaN(v) || v !== values[0])) return 'a regulariser';
  return values[0] ?? 0;
}

interface MultiHeadLike extends tf.layers.Layer {
  units: number[];
  mean?: number[];
  std?: number[];
}

/** The towers' TaskSlots (objective order): each task's tower is `towerOf(id)`; one-unit mse or binary heads. */
function taskSlots(
  model: MtgraphModel,
  objective: Objective,
  towerOf: ReadonlyMap<string, number>,
): TaskSlot[] | string {
  const tasks: TaskSlot[] = [];
  for (let t = 0; t < objective.order.length; t++) {
    const task = objective.tasks[t]!;
    const rule = LOSSES[task.loss];
    const z = towerOf.get(task.id);
    if (!rule || z === undefined || model.plan.heads[task.id]?.activation !== rule.activation)
      return `loss ${task.loss}`;
    if (objective.widths[t] !== 1) return 'a label of several columns';
    tasks.push({ kind: rule.kind, z, units: 1, label: t, weight: task.weight });
  }
  return tasks;
}

/**
 * Soft sharing without tower layers (`trunk: { units: [] }`): every task's one-unit head fused
 * into one MultiHead on the input (kernel [F, T], bias [T]), read by a Columns layer per task,
 * and the head Laplacian on its columns (FusedHeadLaplacian). The engine's towers of 0 units.
 */
function linearStructure(model: MtgraphModel, objective: Objective): TowerStructure | string {
  const m = model.model;
  const layers = m.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const multi = layers.filter((l) => l.getClassName() === 'MtgraphMultiHead');
  if (multi.length !== 1) return 'not one fused head layer on the input';
  const mh = multi[0] as MultiHeadLike;
  if (mh.input !== m.inputs[0] || mh.mean !== undefined || mh.std !== undefined)
    return 'not one fused head layer on the input';
  if (!mh.units.every((u) => u === 1)) return 'a head of several units';
  const [kernel, bias] = mh.trainableWeights.map((w) => w.read() as tf.Variable);
  if (!kernel || !bias || mh.trainableWeights.length !== 2) return 'other variables';
  if (
    model.trainableVariables.length !== 2 ||
    !model.trainableVariables.includes(kernel) ||
    !model.trainableVariables.includes(bias)
  )
    return 'other variables';
  // Every other layer is a Columns layer on it, one column each (the task's output).
  const towerOf = new Map<string, number>();
  for (const l of layers) {
    if (l === mh) continue;
    const c = l as unknown as { begin: number; size: number };
    if (l.getClassName() !== 'MtgraphColumns' || l.input !== mh.output || c.size !== 1)
      return 'other layers';
    const idx = m.outputs.findIndex((o) => o.sourceLayer === l);
    const task = model.plan.tasks[idx];
    if (idx < 0 || !task) return 'other layers';
    towerOf.set(task.id, c.begin);
  }
  const tasks = taskSlots(model, objective, towerOf);
  if (typeof tasks === 'string') return tasks;
  const T = mh.units.length;
  const head: Array<Array<[number, number]>> = Array.from({ length: T }, () => []);
  let used = false;
  for (const p of model.penalties) {
    if (!(p instanceof FusedHeadLaplacian) || used)
      return 'a penalty other than one head Laplacian';
    const { layer, width, L } = p.coupling();
    if ((layer as unknown) !== mh || width !== T) return 'a Laplacian on other weights';
    used = true;
    for (let i = 0; i < T; i++)
      for (let j = 0; j < T; j++) if (L[i * T + j] !== 0) head[i]!.push([j, L[i * T + j]!]);
  }
  if (regularised(mh)) return 'a regulariser';
  return {
    layers: [],
    heads: [],
    l2: 0,
    fused: { kernel, bias },
    towers: T,
    units: 0,
    activation: 'linear',
    tasks,
    towerLaplacian: Array.from({ length: T }, () => []),
    headLaplacian: head,
  };
}

/**
 * The tower step of a run, or undefined when the model or the options are not covered (fit then
 * runs its tfjs step). One thread. Off with the fast step (MTGRAPH_FAST_STEP=off,
 * `configureFastStep('off')`).
 */
export function createTowerStep(
  model: MtgraphModel,
  objective: Objective,
  opts: ResolvedFitOptions,
  optimizer: tf.Optimizer,
  data: { x: tf.Tensor2D; y: tf.Tensor2D; mask: tf.Tensor2D },
): TowerStep | undefined {
  if (fastStepRefusal(model, objective, opts, true) === 'turned off') return undefined;
  if (towerStepRefusal(model, objective, opts) !== undefined) return undefined;
  const s = towerStructure(model, objective) as TowerStructure;
  const spec: TowerSpec = {
    features: data.x.shape[1],
    labels: data.y.shape[1],
    batch: Math.min(opts.batchSize, data.x.shape[0]),
    weighted: objective.weighted,
    towers: s.towers,
    units: s.units,
    activation: s.activation,
    tasks: s.tasks,
    towerLaplacian: s.towerLaplacian,
    headLaplacian: s.headLaplacian,
    l2: s.l2,
  };
  const decay = opts.optimizer.name === 'adamw' ? (opts.optimizer.weightDecay ?? 0) : 0;
  return new TowerStep(
    spec,
    s,
    model.trainableVariables,
    optimizer as FlatAdam,
    decay,
    data.x.dataSync() as Float32Array,
    data.y.dataSync() as Float32Array,
    data.mask.dataSync() as Float32Array,
  );
}

/** One run's tower step: owns its engine (free it with `dispose`). */
export class TowerStep {
  private readonly engine: TowerEngine;
  /** Per stacked parameter, its index in the flat vector of the model's trainable variables (FlatAdam's layout). */
  private readonly flat: Int32Array;
  private readonly offsets: number[];
  /** Numbers in the model's trainable variables. */
  private readonly size: number;
  private readonly dens: Float64Array;
  private readonly nums: Float64Array;

  constructor(
    private readonly spec: TowerSpec,
    structure: TowerStructure,
    private readonly variables: readonly tf.Variable[],
    private readonly optimizer: FlatAdam,
    private readonly decay: number,
    private readonly x: Float32Array,
    private readonly y: Float32Array,
    private readonly mask: Float32Array,
  ) {
    this.engine = new TowerEngine(spec);
    const sizes = variables.map((v) => v.size);
    this.offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    this.size = sizes.reduce((a, b) => a + b, 0);
    const offsetOf = new Map(variables.map((v, i) => [v, this.offsets[i]!]));
    const { features: F, towers: T, units: u } = spec;
    const Tu = T * u;
    const flat = new Int32Array(this.engine.total);
    if (structure.fused) {
      // K [F, T] and c [T] are the MultiHead's kernel and bias as they are.
      const k0 = offsetOf.get(structure.fused.kernel)!;
      const c0 = offsetOf.get(structure.fused.bias)!;
      for (let q = 0; q < F * T; q++) flat[q] = k0 + q;
      for (let t = 0; t < T; t++) flat[F * T + t] = c0 + t;
    }
    structure.layers.forEach((d, t) => {
      const k0 = offsetOf.get(d.kernel.read())!;
      const b0 = offsetOf.get(d.bias!.read())!;
      for (let f = 0; f < F; f++)
        for (let k = 0; k < u; k++) flat[f * Tu + t * u + k] = k0 + f * u + k;
      for (let k = 0; k < u; k++) flat[F * Tu + t * u + k] = b0 + k;
    });
    structure.heads.forEach((d, t) => {
      const w0 = offsetOf.get(d.kernel.read())!;
      for (let k = 0; k < u; k++) flat[F * Tu + Tu + t * u + k] = w0 + k;
      flat[F * Tu + 2 * Tu + t] = offsetOf.get(d.bias!.read())!;
    });
    this.flat = flat;
    this.dens = new Float64Array(spec.tasks.length);
    this.nums = new Float64Array(spec.tasks.length);
  }

  /** Reads the weights from the model's variables and Adam's state from the optimizer. */
  private load(): number {
    const all = new Float32Array(this.size);
    this.variables.forEach((v, i) => all.set(v.dataSync() as Float32Array, this.offsets[i]!));
    const state = this.optimizer.flatState();
    // The engine's views last: reading tensors may grow the wasm heap, which detaches views.
    const { flat } = this;
    const P = this.engine.params();
    const { m, v } = this.engine.moments();
    for (let s = 0; s < flat.length; s++) P[s] = all[flat[s]!]!;
    if (state) {
      for (let s = 0; s < flat.length; s++) {
        m[s] = state.m[flat[s]!]!;
        v[s] = state.v[flat[s]!]!;
      }
    } else {
      m.fill(0);
      v.fill(0);
    }
    return this.optimizer.iterations;
  }

  /** Writes the weights back to the model's variables and Adam's state to the optimizer. */
  private store(iterations: number): void {
    const { flat } = this;
    const back = (from: Float32Array) => {
      const out = new Float32Array(this.size);
      for (let s = 0; s < flat.length; s++) out[flat[s]!] = from[s]!;
      return out;
    };
    const all = back(this.engine.params());
    const { m, v } = this.engine.moments();
    const mm = back(m);
    const vv = back(v);
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const at = this.offsets[i]!;
        variable.assign(tf.tensor(all.subarray(at, at + variable.size), variable.shape, 'float32'));
      });
    });
    this.optimizer.setFlatState(this.variables, mm, vv, iterations);
  }

  /**
   * One epoch over the rows in `perm`, `batchSize` rows a step; `beforeStep(step)` sets the
   * learning rate. Returns the sums fit's tfjs step would have folded.
   */
  epoch(perm: Int32Array, batchSize: number, beforeStep: (step: number) => void): FastEpoch {
    const T = this.spec.tasks.length;
    const acc = new Float64Array(4 * T + 3);
    const firstBad = new Float32Array(T + 1).fill(2 ** 30);
    let iterations = this.load();
    const n = perm.length;
    let steps = 0;
    try {
      for (let start = 0; start < n; start += batchSize, steps++) {
        const size = Math.min(batchSize, n - start);
        beforeStep(steps);
        iterations++;
        const finite = this.step(perm, start, size, iterations, acc);
        for (let t = 0; t <= T; t++) if (!finite[t] && firstBad[t] === 2 ** 30) firstBad[t] = steps;
      }
    } finally {
      this.store(iterations);
    }
    return { acc: Float32Array.from(acc), firstBad, steps };
  }

  private step(
    perm: Int32Array,
    start: number,
    size: number,
    iteration: number,
    acc: Float64Array,
  ): boolean[] {
    const { engine, dens, nums, spec } = this;
    const T = spec.tasks.length;
    engine.gather(this.x, this.y, this.mask, perm, start, size, dens);
    const penalty = Math.fround(engine.forwardBackward(dens, nums));
    const finite: boolean[] = [];
    let objective = 0;
    for (let t = 0; t < T; t++) {
      const task = spec.tasks[t]!;
      const num = Math.fround(nums[t]!);
      acc[t] = acc[t]! + num;
      acc[T + t] = acc[T + t]! + dens[t]!;
      acc[2 * T + t] = acc[2 * T + t]! + task.weight;
      finite[t] = Number.isFinite(num);
      if (finite[t]) acc[3 * T + t] = acc[3 * T + t]! + 1;
      objective += task.weight * (num / Math.max(dens[t]!, 1));
    }
    acc[4 * T] = acc[4 * T]! + (objective + penalty) * size;
    acc[4 * T + 1] = acc[4 * T + 1]! + penalty * size;
    const probe = engine.adam(iteration, this.optimizer, this.decay);
    finite[T] = Number.isFinite(probe);
    if (finite[T]) acc[4 * T + 2] = acc[4 * T + 2]! + 1;
    return finite;
  }

  /** Frees the engine's buffers. */
  dispose(): void {
    this.engine.dispose();
  }
}
