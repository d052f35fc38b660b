import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/**
 * `sum_k w[b, k] * E[b, k, :]` of gate weights w `[batch, k]` and stacked experts E
 * `[batch, k, d]`, with its gradient given directly: `dE = w ⊗ dy`, `dw = sum_d E * dy`.
 * Element-wise products and a sum: Keras's `Dot(axes 1)` computes the same as a batched matrix
 * product of `[1, k] x [k, d]` per row, whose gradient is a batched outer product, and batched
 * matMul on wasm runs at a fraction of the speed of its 2-D products (a quarter of an MMoE's
 * epoch went to it).
 */
export const gateMix = tf.customGrad((...args: unknown[]) => {
  const [w, E] = args as [tf.Tensor2D, tf.Tensor3D];
  const save = args[2] as tf.GradSaveFunc;
  save([w, E]);
  const [batch, k] = w.shape;
  return {
    value: tf.sum(tf.mul(E, tf.reshape(w, [batch, k, 1])), 1),
    gradFunc: (dy: tf.Tensor, [ws, Es]: tf.Tensor[]) => {
      const rows = tf.reshape(dy, [batch, 1, dy.shape[1]!]);
      return [tf.sum(tf.mul(Es!, rows), 2), tf.mul(rows, tf.reshape(ws!, [batch, k, 1]))];
    },
  };
}) as (w: tf.Tensor2D, E: tf.Tensor3D) => tf.Tensor2D;

/**
 * A mixture-of-experts gate's mix as a layer: inputs `[weights [batch, k], experts [batch, k, d]]`,
 * output `[batch, d]` = `sum_k weights[k] * expert_k` (what `tf.layers.dot({ axes: 1 })` gives,
 * computed element-wise; see gateMix). Registered and serialisable; no weights.
 */
export class GateMix extends tf.layers.Layer {
  static readonly className = 'MtgraphGateMix';

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [w, E] = inputShape as tf.Shape[];
    if (!w || !E || w.length !== 2 || E.length !== 3)
      throw new Error(
        `GateMix: expects [weights [batch, k], experts [batch, k, d]] (got ${JSON.stringify(inputShape)}).`,
      );
    return [E[0]!, E[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [w, E] = inputs as [tf.Tensor2D, tf.Tensor3D];
      return gateMix(w, E);
    });
  }
}
tf.serialization.registerClass(GateMix);
