import * as tf from '@tensorflow/tfjs';
import type { Plan, PlanTask } from '../plan/types.js';
import { PlanError } from '../errors.js';
import { targetOf } from '../data/targets.js';
import { COLUMN_ACTIVATIONS } from '../network/layers/columns.js';
import { columnScale } from '../network/layers/scaled-dense.js';
import type { OutputSource, TrainingView } from './forward.js';
import { getLoss, lossNames, type LossFunction } from './losses.js';

const SCOPE = 'mtgraph/train';

/** Tasks computed in one pass: the tasks of one elementwise loss and one label width, or one task of another loss. */
interface LossGroup {
  loss: LossFunction;
  /** The loss's settings (the tasks' lossOptions over the loss's defaults); the same for every task of the group. */
  options?: Readonly<Record<string, number>>;
  tasks: PlanTask[];
  /** Model output index of each task. */
  outputs: number[];
  /** Label columns per task (the same for every task of the group). */
  taskWidth: number;
  /** First label column of the group in the packed labels, and its width. */
  offset: number;
  width: number;
  /** Per column, the target scale of a scaled regression head (mean 0, std 1 elsewhere); undefined when no task of the group is scaled. */
  scale?: { mean: number[]; std: number[] };
}

/** `(x - mean) / std` column by column: labels and outputs of scaled regression heads in standardised units. */
function standardise(
  x: tf.Tensor2D,
  scale: { mean: number[]; std: number[] } | undefined,
): tf.Tensor2D {
  if (!scale) return x;
  return tf.div(tf.sub(x, tf.tensor1d(scale.mean)), tf.tensor1d(scale.std)) as tf.Tensor2D;
}

/** Refuses lossOptions the task's loss does not take (unknown names, values out of range). */
function checkLossOptions(task: PlanTask, loss: LossFunction, i: number): void {
  if (!task.lossOptions) return;
  const path = `tasks[${i}].lossOptions`;
  for (const [name, value] of Object.entries(task.lossOptions)) {
    const known = loss.defaults ? Object.keys(loss.defaults) : [];
    if (!known.includes(name)) {
      throw new PlanError(
        `${SCOPE}: loss "${loss.name}" of task "${task.id}" has no option ${JSON.stringify(name)} (expected ${known.length > 0 ? `one of ${known.join(', ')}` : 'none'}) → at ${path}.${name}. ${known.length > 0 ? 'Use the names the loss takes.' : 'Remove lossOptions.'}`,
        { path: `${path}.${name}`, got: name },
      );
    }
    const wrong = Number.isFinite(value) ? loss.check?.(name, value) : 'it must be finite';
    if (wrong !== undefined) {
      throw new PlanError(
        `${SCOPE}: bad ${name} for loss "${loss.name}" of task "${task.id}": ${wrong} (got ${value}) → at ${path}.${name}. Use e.g. the default, ${loss.defaults![name]}.`,
        { path: `${path}.${name}`, got: value },
      );
    }
  }
}

/**
 * The joint objective of a plan: how the packed label columns line up with the model outputs,
 * and the masked per-task loss sums of a batch. Tasks sharing an elementwise loss and a label
 * width (e.g. every one-output mse regression head) are computed together on concatenated
 * outputs, so the cost of a step grows with the number of losses rather than of tasks. Columns
 * of different tasks are never mixed, so a NaN in one task cannot reach another's sums.
 */
export class Objective {
  /** Task ids in training order: the order of the packed label columns and of every per-task vector. */
  readonly order: string[];
  readonly tasks: PlanTask[];
  /** Label columns of each task (training order). */
  readonly widths: number[];
  /** Model output index of each task (training order). */
  readonly outputs: number[];
  private readonly groups: LossGroup[];
  /** Each task's group and first label column (training order). */
  private readonly slots: { group: LossGroup; column: number }[];
  /**
   * True when the mask holds weights (fit's sampleWeight / classWeight): `den` then counts the
   * entries whose weight is above 0, so weights scale each entry's loss (as Keras's sample_weight).
   */
  weighted = false;

  constructor(plan: Plan, outputIndex: ReadonlyMap<string, number>) {
    const groups = new Map<string, LossGroup>();
    plan.tasks.forEach((task, i) => {
      const loss = getLoss(task.loss);
      if (!loss) {
        throw new PlanError(
          `${SCOPE}: unknown loss for task "${task.id}" (got ${JSON.stringify(task.loss)}; expected one of ${lossNames().join(', ')}) → at tasks[${i}].loss. Use a loss of the task's kind.`,
          { path: `tasks[${i}].loss`, got: task.loss },
        );
      }
      checkLossOptions(task, loss, i);
      const width = targetOf(task).width(task);
      if (loss.elementwise && width !== task.outputs) {
        throw new PlanError(
          `${SCOPE}: loss "${loss.name}" does not fit ${task.kind} task "${task.id}" (${width} label column(s) against ${task.outputs} outputs) → at tasks[${i}].loss. Use the default loss of the kind.`,
          { path: `tasks[${i}].loss`, got: task.loss },
        );
      }
      const output = outputIndex.get(task.id);
      if (output === undefined)
        throw new PlanError(
          `${SCOPE}: the model has no output for task "${task.id}" → at tasks[${i}]. Build the model from this plan.`,
          { path: `tasks[${i}]` },
        );
      const options = loss.defaults ? { ...loss.defaults, ...(task.lossOptions ?? {}) } : undefined;
      const key = loss.elementwise
        ? `loss:${loss.name}:${width}:${JSON.stringify(options ?? null)}`
        : `task:${task.id}`;
      let group = groups.get(key);
      if (!group)
        groups.set(
          key,
          (group = { loss, tasks: [], outputs: [], taskWidth: width, offset: 0, width: 0 }),
        );
      if (options) group.options = options;
      group.tasks.push(task);
      group.outputs.push(output);
      group.width += width;
    });
    this.groups = [...groups.values()];
    // Label columns are output columns here: an elementwise loss needs label width = outputs, and a scaled head is regression.
    for (const g of this.groups) {
      const scale = columnScale(
        plan.heads,
        g.tasks.map((t) => t.id),
      );
      if (scale) g.scale = scale;
    }
    let offset = 0;
    for (const g of this.groups) {
      g.offset = offset;
      offset += g.width;
    }
    this.tasks = this.groups.flatMap((g) => g.tasks);
    this.order = this.tasks.map((t) => t.id);
    this.widths = this.tasks.map((t) => targetOf(t).width(t));
    this.outputs = this.groups.flatMap((g) => g.outputs);
    this.slots = this.groups.flatMap((g) =>
      g.tasks.map((_, i) => ({ group: g, column: g.offset + i * g.taskWidth })),
    );
  }

  /**
   * Masked loss sums of a batch, per task in training order: `num[t] = sum(mask * loss)` and
   * `den[t] = sum(mask)`. The task loss is `num / max(1, den)`.
   */
  sums(
    outputs: readonly tf.Tensor[],
    y: tf.Tensor2D,
    mask: tf.Tensor2D,
  ): { num: tf.Tensor1D; den: tf.Tensor1D } {
    const ordered = this.groups.map((g) => {
      const preds = g.outputs.map((i) => outputs[i] as tf.Tensor2D);
      return preds.length === 1 ? preds[0]! : tf.concat(preds, 1);
    });
    return this.sumsOf(ordered, y, mask);
  }

  /** The sums from each group's predictions, its tasks' outputs side by side. */
  private sumsOf(
    predictions: readonly tf.Tensor[],
    y: tf.Tensor2D,
    mask: tf.Tensor2D,
  ): { num: tf.Tensor1D; den: tf.Tensor1D } {
    const single = this.groups.length === 1;
    const perTask = (m: tf.Tensor2D, g: LossGroup): tf.Tensor1D =>
      (g.taskWidth === 1
        ? tf.sum(m, 0)
        : tf.sum(tf.reshape(m, [-1, g.tasks.length, g.taskWidth]), [0, 2])) as tf.Tensor1D;
    const nums: tf.Tensor1D[] = [];
    const dens: tf.Tensor1D[] = [];
    this.groups.forEach((g, gi) => {
      const yPred = predictions[gi] as tf.Tensor2D;
      const yTrue = single ? y : tf.slice(y, [0, g.offset], [-1, g.width]);
      const m = single ? mask : tf.slice(mask, [0, g.offset], [-1, g.width]);
      nums.push(
        perTask(
          tf.mul(
            g.loss.compute(standardise(yTrue, g.scale), standardise(yPred, g.scale), g.options),
            m,
          ),
          g,
        ),
      );
      dens.push(perTask(this.weighted ? tf.sign(m) : m, g));
    });
    return single
      ? { num: nums[0]!, den: dens[0]! }
      : { num: tf.concat(nums) as tf.Tensor1D, den: tf.concat(dens) as tf.Tensor1D };
  }

  /**
   * The masked loss sums of one task (`t` in training order) from its output alone: the same
   * numbers as `sums(...)[t]`, without computing the other tasks' losses.
   */
  taskSums(
    t: number,
    output: tf.Tensor,
    y: tf.Tensor2D,
    mask: tf.Tensor2D,
  ): { num: tf.Scalar; den: tf.Scalar } {
    const { group, column } = this.slots[t]!;
    const yTrue = tf.slice(y, [0, column], [-1, group.taskWidth]);
    const m = tf.slice(mask, [0, column], [-1, group.taskWidth]);
    const at = column - group.offset;
    const scale = group.scale && {
      mean: group.scale.mean.slice(at, at + group.taskWidth),
      std: group.scale.std.slice(at, at + group.taskWidth),
    };
    return {
      num: tf.sum(
        tf.mul(
          group.loss.compute(
            standardise(yTrue, scale),
            standardise(output as tf.Tensor2D, scale),
            group.options,
          ),
          m,
        ),
      ),
      den: tf.sum(this.weighted ? tf.sign(m) : m),
    };
  }

  /**
   * The same sums as `sums`, from the outputs of a TrainingView (`forwardView`). Within a group,
   * consecutive tasks whose columns follow each other in one output and whose activation works
   * element by element are read as one block of columns (the whole output when it is exactly the
   * group's), activated once.
   */
  viewSums(
    view: TrainingView,
    outputs: readonly tf.Tensor[],
    y: tf.Tensor2D,
    mask: tf.Tensor2D,
  ): { num: tf.Tensor1D; den: tf.Tensor1D } {
    const blocks = this.blocksOf(view);
    const ordered = this.groups.map((g, gi) => {
      const parts = blocks[gi]!.map((b) => {
        const out = outputs[b.output] as tf.Tensor2D;
        const columns =
          b.begin === 0 && b.size === b.width ? out : tf.slice(out, [0, b.begin], [-1, b.size]);
        return b.activation === null ? columns : COLUMN_ACTIVATIONS[b.activation]!(columns);
      });
      return parts.length === 1 ? parts[0]! : tf.concat(parts, 1);
    });
    return this.sumsOf(ordered, y, mask);
  }

  private readonly viewBlocks = new WeakMap<TrainingView, OutputSource[][]>();

  /** Per loss group, its outputs as blocks of columns of the view's outputs (see viewSums). */
  private blocksOf(view: TrainingView): OutputSource[][] {
    let blocks = this.viewBlocks.get(view);
    if (blocks) return blocks;
    blocks = this.groups.map((g) => {
      const out: OutputSource[] = [];
      for (const i of g.outputs) {
        const s = view.sources[i]!;
        const last = out.at(-1);
        const elementwise =
          s.activation === null || s.activation === 'linear' || s.activation === 'sigmoid';
        if (
          last &&
          elementwise &&
          last.output === s.output &&
          last.activation === s.activation &&
          last.begin + last.size === s.begin
        )
          last.size += s.size;
        else out.push({ ...s });
      }
      // A softmax block is one task's columns (never merged above unless alone).
      return out;
    });
    this.viewBlocks.set(view, blocks);
    return blocks;
  }

  /** Nothing to free today; kept so callers need not change when an objective holds tensors. */
  dispose(): void {}
}
