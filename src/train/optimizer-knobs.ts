import * as tf from '@tensorflow/tfjs';

/** The training knobs that act on every update: gradient clipping and decoupled weight decay. */
export interface UpdateKnobs {
  /** Each variable's gradient is scaled down to this L2 norm when it is larger (Keras's clipnorm). */
  clipNorm?: number;
  /** Each gradient value is clipped to [-clipValue, clipValue] (Keras's clipvalue). */
  clipValue?: number;
  /**
   * Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): before each update every decayed
   * variable is multiplied by `1 - learningRate * weightDecay` (as PyTorch's and Keras's AdamW).
   */
  weightDecay?: number;
  /** Names of the variables weight decay applies to (the model's; not a balancer's own). */
  decayed?: ReadonlySet<string>;
}

/** The optimizer's current learning rate (FlatAdam, sgd, rmsprop... all keep it in `learningRate`). */
export function learningRateOf(optimizer: tf.Optimizer): number {
  return (optimizer as unknown as { learningRate: number }).learningRate;
}

/** Sets the learning rate for the next updates (sgd keeps a scalar of it, set through its own method). */
export function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  const o = optimizer as unknown as {
    learningRate: number;
    setLearningRate?: (rate: number) => void;
  };
  if (o.learningRate === rate) return;
  if (typeof o.setLearningRate === 'function') o.setLearningRate(rate);
  else o.learningRate = rate;
}

/** `clipped + 0 * g`: the clipped value, but NaN stays NaN (wasm's clip maps NaN to a bound). */
function keepNaN(clipped: tf.Tensor, g: tf.Tensor): tf.Tensor {
  return tf.add(clipped, tf.mul(g, 0));
}

/** The gradients after clipping; applies the weight decay to the variables (call inside a tidy). */
function transform(
  optimizer: tf.Optimizer,
  knobs: UpdateKnobs,
  grads: tf.NamedTensorMap,
): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [name, g] of Object.entries(grads)) {
    let v: tf.Tensor = g;
    if (knobs.clipValue !== undefined)
      v = keepNaN(tf.clipByValue(v, -knobs.clipValue, knobs.clipValue), v);
    if (knobs.clipNorm !== undefined) {
      const norm = tf.norm(v);
      v = tf.mul(v, tf.div(knobs.clipNorm, tf.maximum(norm, knobs.clipNorm)));
    }
    out[name] = v;
  }
  if (knobs.weightDecay) {
    const keep = 1 - learningRateOf(optimizer) * knobs.weightDecay;
    for (const name of Object.keys(grads)) {
      if (knobs.decayed && !knobs.decayed.has(name)) continue;
      const variable = tf.engine().registeredVariables[name];
      if (variable) variable.assign(tf.mul(variable, keep));
    }
  }
  return out;
}

/**
 * Makes an optimizer clip its gradients and decay its variables on every update, whatever the step
 * that calls it (loss steps, per-task gradient steps): `applyGradients` (and FlatAdam's
 * `applyGradientsChecked`) transform the gradients first. Does nothing without knobs.
 */
export function withUpdateKnobs<O extends tf.Optimizer>(optimizer: O, knobs: UpdateKnobs): O {
  if (
    knobs.clipNorm === undefined &&
    knobs.clipValue === undefined &&
    !(knobs.weightDecay && knobs.weightDecay > 0)
  )
    return optimizer;
  const o = optimizer as unknown as Record<string, unknown>;
  const toMap = (grads: tf.NamedTensorMap | Array<{ name: string; tensor: tf.Tensor }>) =>
    Array.isArray(grads) ? Object.fromEntries(grads.map((g) => [g.name, g.tensor])) : grads;
  const apply = optimizer.applyGradients.bind(optimizer);
  o.applyGradients = (grads: tf.NamedTensorMap) =>
    tf.tidy(() => apply(transform(optimizer, knobs, toMap(grads))));
  const checked = o.applyGradientsChecked;
  if (typeof checked === 'function') {
    o.applyGradientsChecked = (grads: tf.NamedTensorMap) =>
      tf.tidy(() => checked.call(optimizer, transform(optimizer, knobs, toMap(grads))));
  }
  return optimizer;
}
