import * as tf from '@tensorflow/tfjs';
import type { MtgraphModel } from '../network/types.js';
import { envVar, isNode, nodeParts } from '../platform/index.js';
import { hasChains } from '../schema/chains.js';
import { wasmKernelsVeto } from '../backend/kernel-patch.js';
import {
  DenseEngine,
  halves,
  labelCounts,
  type Activation,
  type EngineSpec,
  type LossKind,
  type TaskSlot,
} from './dense-engine.js';
import type { Objective } from './objective.js';
import type { FlatAdam } from './flat-adam.js';
import type { ResolvedFitOptions } from './options.js';

/**
 * The fast step (issue 18): a whole training epoch of a plain dense network — one chain of Dense
 * layers (relu, tanh, sigmoid or linear) from the input, and one head layer on its last layer (a
 * fused MultiHead, or the Dense head of a single task) — with the static balancer, no penalty and
 * Adam / AdamW, computed on flat
 * Float32Array buffers without the tfjs engine: per step, the batch's rows are copied in, each
 * layer's forward product, the masked losses and their gradient, each layer's backward products
 * and the Adam update run as plain loops (small products) or as direct calls of the wasm backend's
 * own fused matrix product (XNNPACK, the routine tfjs's `_FusedMatMul` kernel calls) on buffers of
 * its heap registered once. A step of the seed's Keras model is about 250 tfjs kernel calls, most
 * of its time bookkeeping; here it is none.
 *
 * The weights and Adam's moments live in the fast step's buffers during an epoch only: they are
 * read from the model's variables and the optimizer (FlatAdam) when the epoch starts and written
 * back when it ends, before anything outside the step can observe them (validation, metrics,
 * callbacks, checkpoints, early stopping), so saved models, checkpoints and predictions do not
 * change. The tfjs step stays the reference (tests compare the weights after N steps) and runs
 * everything else: other layers (dropout, batch norm, gates, towers...), other balancers,
 * penalties and regularisers, gradient clipping, other optimizers, other backends.
 *
 * The arithmetic is dense-engine.ts's; with two threads (MTGRAPH_FAST_STEP_THREADS=2, Node only) a
 * worker with its own engine computes half of each batch (src/platform/fast-peer.ts).
 * MTGRAPH_FAST_STEP=off turns it off (or `configureFastStep('off')`).
 */

let setting: 'on' | 'off' | undefined;
let threadSetting: 1 | 2 | undefined;

/**
 * Turns the fast step on or off for the next runs, and sets its threads (1, or 2: a worker thread
 * computes half of each batch's gradient); undefined goes back to MTGRAPH_FAST_STEP (default on)
 * and MTGRAPH_FAST_STEP_THREADS (default 1).
 */
export function configureFastStep(value: 'on' | 'off' | undefined, threads?: 1 | 2): void {
  setting = value;
  threadSetting = threads;
}

function threads(): 1 | 2 {
  return threadSetting ?? (envVar('MTGRAPH_FAST_STEP_THREADS') === '2' ? 2 : 1);
}

function enabled(): boolean {
  return (setting ?? (envVar('MTGRAPH_FAST_STEP') === 'off' ? 'off' : 'on')) === 'on';
}

/** The shortest batch split between two threads (below it a step is too short to share). */
const SHARED_BATCH = 64;

const ACTIVATIONS: ReadonlySet<string> = new Set(['relu', 'tanh', 'sigmoid', 'linear']);
/** The (loss, head activation) pairs the step computes. */
const LOSSES: Readonly<Record<string, { activation: string; kind: LossKind }>> = {
  mse: { activation: 'linear', kind: 'mse' },
  'binary-crossentropy': { activation: 'sigmoid', kind: 'bce' },
  crossentropy: { activation: 'softmax', kind: 'ce' },
};

interface DenseLike extends tf.layers.Layer {
  units: number;
  useBias: boolean;
  kernel: { read(): tf.Variable };
  bias?: { read(): tf.Variable };
  activation: { getClassName(): string };
}
interface MultiHeadLike extends tf.layers.Layer {
  units: number[];
  mean?: number[];
  std?: number[];
}

/** The epoch's training sums as fit reads them: `[num, den, weights, finite steps (T each), objective, penalty, finite gradients]` and the first bad steps. */
export interface FastEpoch {
  acc: Float32Array;
  firstBad: Float32Array;
  steps: number;
}

/** Why a model is not covered (undefined: covered), for tests and notes. */
export function fastStepRefusal(
  model: MtgraphModel,
  objective: Objective,
  opts: ResolvedFitOptions,
  hasPenalty: boolean,
): string | undefined {
  if (!enabled()) return 'turned off';
  const backend = tf.getBackend();
  if (backend !== 'cpu' && backend !== 'wasm') return `backend ${backend}`;
  if (backend === 'wasm' && wasmKernelsVeto() !== undefined) return 'untested tfjs version';
  if (opts.balance !== 'static') return `balance ${opts.balance}`;
  if (hasPenalty) return 'a penalty or regulariser';
  const o = opts.optimizer;
  if (o.name !== 'adam' && o.name !== 'adamw') return `optimizer ${o.name}`;
  if (o.clipNorm !== undefined || o.clipValue !== undefined) return 'gradient clipping';
  if (hasChains(model.plan.tasks)) return 'task chains';
  if (model.plan.couplings.length > 0 || model.plan.gates.length > 0) return 'couplings or gates';
  return structureOf(model, objective) ? undefined : 'layers other than one dense chain and heads';
}

interface Structure {
  /** Trunk Dense layers in order, then the head layers (their Z columns in order). */
  trunk: DenseLike[];
  heads: Array<{ layer: tf.layers.Layer; kernel: tf.Variable; bias: tf.Variable; width: number }>;
  tasks: TaskSlot[];
}

function isDense(l: tf.layers.Layer): l is DenseLike {
  return l.getClassName() === 'Dense' && (l as DenseLike).useBias;
}
const activationOf = (l: DenseLike) => l.activation.getClassName().toLowerCase();

/** The model as a dense chain with heads on its last layer, or undefined when it is not one. */
function structureOf(model: MtgraphModel, objective: Objective): Structure | undefined {
  const m = model.model;
  if (m.inputs.length !== 1) return undefined;
  const trunk: DenseLike[] = [];
  const heads: Structure['heads'] = [];
  /** Where each model output's columns start in Z, and their activation (plan order). */
  const columns = new Map<number, number>();
  const layers = m.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const outputLayers = new Set(m.outputs.map((o) => o.sourceLayer));
  // The trunk: Dense layers each reading the previous one, none an output.
  let tip = m.inputs[0] as tf.SymbolicTensor;
  for (;;) {
    const next = layers.filter(
      (l) => l.inboundNodes.some((n) => n.inputTensors.includes(tip)) && !outputLayers.has(l),
    );
    const dense = next.length === 1 && isDense(next[0]!) ? next[0]! : undefined;
    const readers = layers.filter((l) => l.inboundNodes.some((n) => n.inputTensors.includes(tip)));
    if (!dense || readers.length !== 1) break;
    if (!ACTIVATIONS.has(activationOf(dense as DenseLike))) return undefined;
    if (dense.inboundNodes.length !== 1 || dense.getClassName() !== 'Dense') return undefined;
    trunk.push(dense as DenseLike);
    tip = dense.output as tf.SymbolicTensor;
  }
  // Every other layer: a Dense head on the tip (an output), or a MultiHead on it read by Columns.
  let width = 0;
  const rest = layers.filter((l) => !trunk.includes(l as DenseLike));
  const columnLayers = rest.filter((l) => l.getClassName() === 'MtgraphColumns');
  for (const l of rest) {
    if (l.inboundNodes.length !== 1 || l.inboundNodes[0]!.inputTensors.length !== 1)
      return undefined;
    const reads = l.inboundNodes[0]!.inputTensors[0];
    const cls = l.getClassName();
    if (cls === 'MtgraphColumns') continue;
    if (reads !== tip) return undefined;
    if (cls === 'Dense' && isDense(l) && outputLayers.has(l)) {
      const idx = m.outputs.findIndex((o) => o.sourceLayer === l);
      // Its activation is the task's head activation, which the loss applies to Z.
      const task = model.plan.tasks[idx];
      if (!task || activationOf(l) !== model.plan.heads[task.id]?.activation) return undefined;
      columns.set(idx, width);
      heads.push({ layer: l, kernel: l.kernel.read(), bias: l.bias!.read(), width: l.units });
      width += l.units;
    } else if (cls === 'MtgraphMultiHead') {
      const mh = l as MultiHeadLike;
      if (mh.mean !== undefined || mh.std !== undefined) return undefined;
      const [kernel, bias] = l.trainableWeights.map((w) => w.read() as tf.Variable);
      if (!kernel || !bias || l.trainableWeights.length !== 2) return undefined;
      const total = mh.units.reduce((a, b) => a + b, 0);
      for (const c of columnLayers) {
        if (c.inboundNodes[0]!.inputTensors[0] !== l.output) continue;
        const idx = m.outputs.findIndex((o) => o.sourceLayer === c);
        if (idx < 0) return undefined;
        columns.set(idx, width + (c as unknown as { begin: number }).begin);
      }
      heads.push({ layer: l, kernel, bias, width: total });
      width += total;
    } else return undefined;
  }
  // One head layer (a MultiHead, or a single Dense head): its output is Z.
  if (trunk.length === 0 || heads.length !== 1) return undefined;
  // Every trainable variable is a trunk or head weight.
  const known = new Set<tf.Variable>([
    ...trunk.flatMap((d) => [d.kernel.read(), d.bias!.read()]),
    ...heads.flatMap((h) => [h.kernel, h.bias]),
  ]);
  if (
    model.trainableVariables.length !== known.size ||
    !model.trainableVariables.every((v) => known.has(v)) ||
    m.trainable === false
  )
    return undefined;
  const tasks: TaskSlot[] = [];
  let label = 0;
  for (let t = 0; t < objective.order.length; t++) {
    const task = objective.tasks[t]!;
    const head = model.plan.heads[task.id];
    const rule = LOSSES[task.loss];
    const z = columns.get(objective.outputs[t]!);
    if (!head || !rule || z === undefined || head.activation !== rule.activation) return undefined;
    if (head.scale) return undefined;
    const labelWidth = objective.widths[t]!;
    if (rule.kind !== 'ce' && labelWidth !== head.units) return undefined;
    if (rule.kind === 'ce' && labelWidth !== 1) return undefined;
    tasks.push({ kind: rule.kind, z, units: head.units, label, weight: task.weight });
    label += labelWidth;
  }
  return { trunk, heads, tasks };
}

/**
 * The fast step of a run, or undefined when the model, the options or the backend are not covered
 * (fit then runs its tfjs step). `data`: the training data (fit's tensors). With two threads
 * (`configureFastStep('on', 2)`, MTGRAPH_FAST_STEP_THREADS=2; Node only, batches of 64 rows or
 * more) a worker thread computes the gradient of half of each batch.
 */
export async function createFastStep(
  model: MtgraphModel,
  objective: Objective,
  opts: ResolvedFitOptions,
  hasPenalty: boolean,
  optimizer: tf.Optimizer,
  data: { x: tf.Tensor2D; y: tf.Tensor2D; mask: tf.Tensor2D },
): Promise<FastStep | undefined> {
  if (fastStepRefusal(model, objective, opts, hasPenalty) !== undefined) return undefined;
  const s = structureOf(model, objective)!;
  const variables = model.trainableVariables;
  const index = (v: tf.Variable) => variables.indexOf(v);
  const widths = [data.x.shape[1], ...s.trunk.map((d) => d.units)];
  const batch = Math.min(opts.batchSize, data.x.shape[0]);
  const shared = threads() === 2 && batch >= SHARED_BATCH && isNode();
  const spec: EngineSpec = {
    features: data.x.shape[1],
    labels: data.y.shape[1],
    batch: shared ? Math.ceil(batch / 2) : batch,
    weighted: objective.weighted,
    sizes: variables.map((v) => v.size),
    layers: s.trunk.map((d, l) => ({
      inputs: widths[l]!,
      units: d.units,
      activation: activationOf(d) as Activation,
      W: index(d.kernel.read()),
      b: index(d.bias!.read()),
    })),
    head: {
      inputs: widths.at(-1)!,
      units: s.heads[0]!.width,
      W: index(s.heads[0]!.kernel),
      b: index(s.heads[0]!.bias),
    },
    tasks: s.tasks,
  };
  const x = data.x.dataSync() as Float32Array;
  const y = data.y.dataSync() as Float32Array;
  const mask = data.mask.dataSync() as Float32Array;
  let peer: FastPeer | undefined;
  if (shared) {
    const parts = await nodeParts('mtgraph/fit', 'a second thread', 'Use one thread.');
    peer = await parts.startFastPeer(spec, tf.getBackend(), x, y, mask).catch(() => undefined);
  }
  if (shared && !peer) spec.batch = batch; // the worker did not start: one thread
  const decay = opts.optimizer.name === 'adamw' ? (opts.optimizer.weightDecay ?? 0) : 0;
  return new FastStep(spec, variables, optimizer as FlatAdam, decay, x, y, mask, peer);
}

/**
 * The worker thread of a two-thread fast step (src/platform/fast-peer.ts, fast-worker.ts): it runs
 * every step of an epoch alongside this thread on the second half of each batch, with its own copy
 * of the parameters and Adam's moments, and the same update from the same summed gradients.
 */
export interface FastPeer {
  /** Starts an epoch on the worker: its rows in order, the batch size, Adam's iteration before its first step, the parameters and moments, Adam's settings. */
  startEpoch(
    perm: Int32Array,
    batchSize: number,
    iteration: number,
    params: Float32Array,
    m: Float32Array,
    v: Float32Array,
    adam: { beta1: number; beta2: number; epsilon: number },
    decay: number,
  ): void;
  /**
   * Hands this thread's gradients of the step and its learning rate over, waits for the worker's;
   * adds its loss sums to `nums` and returns its gradients (valid until the step after next).
   */
  exchange(grads: Float32Array, learningRate: number, nums: Float64Array): Float32Array;
  /** Stops the worker, also in the middle of an epoch; resolves when its thread has exited. */
  close(): Promise<void>;
}

/** One run's fast step: owns its engine and worker (free them with `dispose`). */
export class FastStep {
  private readonly engine: DenseEngine;
  private readonly offsets: number[];
  private readonly dens: Float64Array;
  private readonly nums: Float64Array;
  private readonly finite: boolean[] = [];

  constructor(
    private readonly spec: EngineSpec,
    private readonly variables: readonly tf.Variable[],
    private readonly optimizer: FlatAdam,
    private readonly decay: number,
    private readonly x: Float32Array,
    private readonly y: Float32Array,
    private readonly mask: Float32Array,
    private readonly peer: FastPeer | undefined,
  ) {
    this.engine = new DenseEngine(spec);
    const sizes = spec.sizes;
    this.offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    this.dens = new Float64Array(spec.tasks.length);
    this.nums = new Float64Array(spec.tasks.length);
  }

  /** Whether a worker thread computes half of each batch. */
  get threads(): number {
    return this.peer ? 2 : 1;
  }

  /** Reads the weights from the model's variables and Adam's state from the optimizer. */
  private load(): number {
    const P = this.engine.params();
    this.variables.forEach((v, i) => P.set(v.dataSync() as Float32Array, this.offsets[i]!));
    const state = this.optimizer.flatState();
    const { m, v } = this.engine.moments();
    if (state) {
      m.set(state.m);
      v.set(state.v);
    } else {
      m.fill(0);
      v.fill(0);
    }
    return this.optimizer.iterations;
  }

  /** Writes the weights back to the model's variables and Adam's state to the optimizer. */
  private store(iterations: number): void {
    const P = this.engine.params();
    tf.tidy(() => {
      this.variables.forEach((v, i) => {
        const at = this.offsets[i]!;
        v.assign(tf.tensor(P.slice(at, at + v.size), v.shape, 'float32'));
      });
    });
    const { m, v } = this.engine.moments();
    this.optimizer.setFlatState(this.variables, m.slice(), v.slice(), iterations);
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
    if (this.peer) {
      const { m, v } = this.engine.moments();
      this.peer.startEpoch(
        perm,
        batchSize,
        iterations,
        this.engine.params(),
        m,
        v,
        this.optimizer,
        this.decay,
      );
    }
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

  /** One step: forward, loss, backward, Adam. Adds its record to `acc`; returns per task (and the gradients) whether finite. */
  private step(
    perm: Int32Array,
    start: number,
    size: number,
    iteration: number,
    acc: Float64Array,
  ): boolean[] {
    const { engine, peer, dens, nums, spec } = this;
    const T = spec.tasks.length;
    labelCounts(spec, this.mask, perm, start, size, dens);
    // With a worker, it takes the second half of the batch (and runs the same Adam update).
    const mine = peer ? halves(size).main : size;
    engine.gather(this.x, this.y, this.mask, perm, start, mine);
    engine.forwardBackward(dens, nums);
    if (peer) engine.addGradients(peer.exchange(engine.grads(), this.optimizer.learningRate, nums));
    const finite = this.finite;
    let objective = 0;
    for (let t = 0; t < T; t++) {
      const task = spec.tasks[t]!;
      // In float32, as tfjs sums it: a sum beyond float32's range is not finite there either.
      const num = Math.fround(nums[t]!);
      acc[t] = acc[t]! + num;
      acc[T + t] = acc[T + t]! + dens[t]!;
      acc[2 * T + t] = acc[2 * T + t]! + task.weight;
      finite[t] = Number.isFinite(num);
      if (finite[t]) acc[3 * T + t] = acc[3 * T + t]! + 1;
      objective += task.weight * (num / Math.max(dens[t]!, 1));
    }
    acc[4 * T] = acc[4 * T]! + objective * size;
    const probe = engine.adam(iteration, this.optimizer, this.decay);
    finite[T] = Number.isFinite(probe);
    if (finite[T]) acc[4 * T + 2] = acc[4 * T + 2]! + 1;
    return finite;
  }

  /** Frees the engine's buffers and stops the worker. */
  dispose(): void {
    this.engine.dispose();
    this.peer?.close();
  }
}
