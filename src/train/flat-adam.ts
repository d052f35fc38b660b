import * as tf from '@tensorflow/tfjs';
import { APPLY_STEP_KERNEL, applyStepKernelAvailable } from './adam-kernel.js';
import { flatConcat } from '../backend/flat-kernels.js';
import { ADAM_UPDATE_KERNEL, adamUpdateKernelAvailable } from '../backend/adam-update-kernel.js';

/** A named tensor, as optimizers exchange them (tfjs does not export the type). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** Where each variable's values sit in the flat moment vectors. */
interface Layout {
  sizes: number[];
  shapes: number[][];
  offsets: number[];
  total: number;
}

/**
 * Adam (Kingma & Ba 2015) with the same arithmetic as `tf.train.adam`, element for element (so
 * the same weights after every step), but over ONE flat vector of all the variables' gradients:
 * the moments are two flat variables and each step runs about a dozen operations in all, where
 * tfjs's Adam runs fourteen per variable. On small networks a training step is dominated by the
 * per-operation cost, so this matters (see BENCHMARKS.md, "Speed").
 *
 * As tfjs's Adam, the moments are matched to the gradients by position: every call must pass the
 * same variables in the same order (as `fit` does). `getWeights()` returns the iteration count and
 * the two flat moments, which `setWeights` accepts back (checkpoints).
 */
export class FlatAdam extends tf.Optimizer {
  static get className(): string {
    return 'MtgraphFlatAdam';
  }

  private readonly accBeta1: tf.Variable;
  private readonly accBeta2: tf.Variable;
  private layout: Layout | undefined;
  private m: tf.Variable | undefined;
  private v: tf.Variable | undefined;

  constructor(
    /** Read at every update, so a schedule may change it between steps. */
    public learningRate: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon: number = tf.backend().epsilon(),
  ) {
    super();
    this.accBeta1 = tf.tidy(() => tf.scalar(beta1).variable(false));
    this.accBeta2 = tf.tidy(() => tf.scalar(beta2).variable(false));
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    this.update(variableGradients, false);
  }

  /**
   * `applyGradients`, also returning `[1]` when every gradient value was finite and `[0]` when
   * one was NaN or infinite, read from the flat gradient (three operations instead of two per
   * variable). The flag belongs to the caller's tidy scope.
   */
  applyGradientsChecked(variableGradients: tf.NamedTensorMap | NamedTensor[]): tf.Tensor1D {
    return this.update(variableGradients, true) ?? tf.ones([1]);
  }

  private update(
    variableGradients: tf.NamedTensorMap | NamedTensor[],
    check: boolean,
  ): tf.Tensor1D | undefined {
    const entries: Array<[string, tf.Tensor]> = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    if (entries.length === 0) return undefined;
    const variables = entries.map(([name]) => {
      const v = tf.engine().registeredVariables[name];
      if (!v) throw new Error(`FlatAdam: no variable named "${name}"`);
      return v;
    });
    const layout = this.layoutFor(variables);
    const finite = tf.tidy(() => {
      if (adamUpdateKernelAvailable()) {
        // One kernel reads each gradient in place and writes the moments and weights (adam-update-kernel.ts).
        const inputs: tf.NamedTensorMap = {
          m: this.m!,
          v: this.v!,
          acc1: this.accBeta1,
          acc2: this.accBeta2,
        };
        variables.forEach((variable, k) => {
          inputs[`p${k}`] = variable;
          inputs[`g${k}`] = entries[k]![1];
        });
        const n = variables.length;
        const outputs = tf.engine().runKernel(ADAM_UPDATE_KERNEL, inputs, {
          count: n,
          beta1: this.beta1,
          beta2: this.beta2,
          learningRate: this.learningRate,
          epsilon: this.epsilon,
        }) as tf.Tensor[];
        variables.forEach((variable, k) => variable.assign(outputs[k]!));
        this.m!.assign(outputs[n]!);
        this.v!.assign(outputs[n + 1]!);
        this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
        this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
        return check ? (outputs[n + 2] as tf.Tensor1D) : undefined;
      }
      const flat = (t: tf.Tensor) => (t.rank === 1 ? t : tf.reshape(t, [-1]));
      // One kernel lays every gradient end to end (not a reshape per variable and a concat).
      const g =
        entries.length === 1
          ? flat(entries[0]![1])
          : flatConcat(
              entries.map(([, t]) => t),
              [layout.total],
            );
      const m = this.m!;
      const v = this.v!;
      const newM = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
      const newV = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
      const mHat = tf.div(newM, tf.sub(1, this.accBeta1));
      const vHat = tf.div(newV, tf.sub(1, this.accBeta2));
      m.assign(newM);
      v.assign(newV);
      const step = tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), this.epsilon)), -this.learningRate);
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
      if (applyStepKernelAvailable()) {
        // One kernel adds each variable's part of the step and checks that it is finite (adam-kernel.ts).
        const inputs: tf.NamedTensorMap = { step };
        variables.forEach((variable, k) => {
          inputs[`p${k}`] = variable;
        });
        const outputs = tf
          .engine()
          .runKernel(APPLY_STEP_KERNEL, inputs, { count: variables.length }) as tf.Tensor[];
        variables.forEach((variable, k) => variable.assign(outputs[k]!));
        return check ? (outputs[variables.length] as tf.Tensor1D) : undefined;
      }
      variables.forEach((variable, i) => {
        const part =
          variables.length === 1 ? step : tf.slice(step, layout.offsets[i]!, layout.sizes[i]!);
        variable.assign(
          tf.add(
            layout.shapes[i]!.length === 1 ? part : tf.reshape(part, layout.shapes[i]!),
            variable,
          ),
        );
      });
      // x * 0 is NaN exactly for NaN and infinities.
      return check
        ? (tf.reshape(tf.cast(tf.isFinite(tf.sum(tf.mul(g, 0))), 'float32'), [1]) as tf.Tensor1D)
        : undefined;
    });
    this.incrementIterations();
    return finite;
  }

  /** The layout of the first call (creating the moments); later calls must match it. */
  private layoutFor(variables: readonly tf.Variable[]): Layout {
    const sizes = variables.map((v) => v.size);
    if (this.layout) {
      const same =
        this.layout.sizes.length === sizes.length &&
        sizes.every((s, i) => s === this.layout!.sizes[i]);
      if (!same)
        throw new Error(
          `FlatAdam: every step must pass the same variables in the same order (first ${this.layout.sizes.length} of sizes ${this.layout.sizes.join(',')}, now ${sizes.length} of sizes ${sizes.join(',')})`,
        );
      return this.layout;
    }
    const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    const layout: Layout = { sizes, shapes: variables.map((v) => [...v.shape]), offsets, total };
    if (this.m && this.m.size !== total) {
      throw new Error(
        `FlatAdam: the restored moments hold ${this.m.size} values, the variables ${total}`,
      );
    }
    this.m ??= tf.tidy(() => tf.zeros([total]).variable(false));
    this.v ??= tf.tidy(() => tf.zeros([total]).variable(false));
    this.layout = layout;
    return layout;
  }

  /** The flat moments as host arrays (a copy), or undefined before the first update. */
  flatState(): { m: Float32Array; v: Float32Array } | undefined {
    if (!this.m || !this.v) return undefined;
    return { m: this.m.dataSync() as Float32Array, v: this.v.dataSync() as Float32Array };
  }

  /**
   * Sets the flat moments and the number of updates made (the fast step hands its state back after
   * an epoch, see fast-step.ts): `variables` in the order every update passes them.
   */
  setFlatState(
    variables: readonly tf.Variable[],
    m: Float32Array,
    v: Float32Array,
    iterations: number,
  ): void {
    const layout = this.layoutFor(variables);
    if (m.length !== layout.total || v.length !== layout.total)
      throw new Error(
        `FlatAdam: the moments hold ${m.length} values, the variables ${layout.total}`,
      );
    tf.tidy(() => {
      this.m!.assign(tf.tensor1d(m));
      this.v!.assign(tf.tensor1d(v));
      this.accBeta1.assign(tf.scalar(this.beta1 ** (iterations + 1)));
      this.accBeta2.assign(tf.scalar(this.beta2 ** (iterations + 1)));
    });
    (this as unknown as { iterations_: number }).iterations_ = iterations;
  }

  override dispose(): void {
    this.accBeta1.dispose();
    this.accBeta2.dispose();
    this.m?.dispose();
    this.v?.dispose();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    const moments =
      this.m && this.v
        ? [
            { name: 'flat/m', tensor: this.m },
            { name: 'flat/v', tensor: this.v },
          ]
        : [];
    return [await this.saveIterations(), ...moments];
  }

  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.beta2, this.iterations + 1));
    });
    if (values.length === 0) return;
    if (values.length !== 2 || values[0]!.tensor.size !== values[1]!.tensor.size) {
      throw new Error(`FlatAdam: expected the two flat moments (got ${values.length} tensor(s))`);
    }
    if (this.layout && values[0]!.tensor.size !== this.layout.total) {
      throw new Error(
        `FlatAdam: the moments hold ${values[0]!.tensor.size} values, the variables ${this.layout.total}`,
      );
    }
    this.m?.dispose();
    this.v?.dispose();
    this.m = tf.tidy(() => tf.reshape(values[0]!.tensor, [-1]).variable(false));
    this.v = tf.tidy(() => tf.reshape(values[1]!.tensor, [-1]).variable(false));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
    };
  }
}
