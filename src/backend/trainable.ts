import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';
import { planLayerClasses } from '../network/layer-classes.js';
import type { MtgraphModel } from '../network/types.js';
import type { Plan } from '../plan/types.js';
// Registers the scatter-add an Embedding's gradient needs on wasm (and a linear one on cpu).
import './segment-sum-kernel.js';

/**
 * The kernels each layer class needs to be trained (forward and gradient), by tfjs kernel name.
 * A backend can train a layer when every kernel is registered for it; layers not listed are
 * assumed trainable. Add a layer class here when mtgraph starts emitting it.
 */
export const LAYER_TRAINING_KERNELS: Readonly<Record<string, readonly string[]>> = {
  Dense: ['BatchMatMul', 'Sum', 'Add'],
  Dot: ['BatchMatMul', 'Reshape'],
  MtgraphGateMix: ['Multiply', 'Sum', 'Reshape'],
  Concatenate: ['Concat', 'Slice'],
  Reshape: ['Reshape'],
  BatchNormalization: ['FusedBatchNorm', 'Mean', 'SquaredDifference', 'Rsqrt'],
  Dropout: ['Floor', 'Multiply', 'RealDiv'],
  MtgraphDropout: ['Add', 'Floor', 'Multiply', 'RealDiv'],
  CrossStitch: ['Pack', 'Unpack', 'BatchMatMul', 'Reshape', 'Transpose'],
  MtgraphMultiHead: ['BatchMatMul', 'Sum', 'Add', 'Multiply'],
  MtgraphScaledDense: ['BatchMatMul', 'Sum', 'Add', 'Multiply'],
  MtgraphColumns: ['Slice', 'PadV2'],
  Multiply: ['Multiply'],
  MtgraphStopGradient: ['Identity', 'ZerosLike'],
  MtgraphPick: ['GatherV2'],
  Embedding: ['GatherV2', 'UnsortedSegmentSum'],
  Conv1D: ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'],
  Conv2D: ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput'],
  Conv2DTranspose: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'],
  DepthwiseConv2D: [
    'DepthwiseConv2dNative',
    'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
  ],
  SeparableConv2D: [
    'DepthwiseConv2dNative',
    'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
    'Conv2D',
    'Conv2DBackpropFilter',
  ],
};

/** A layer class a backend cannot train, and the kernels it lacks. */
export interface UntrainableLayer {
  layer: string;
  missing: string[];
}

/** What can be checked: a Plan, a built model, a tfjs model, or a list of layer class names. */
export type TrainableTarget = Plan | MtgraphModel | tf.LayersModel | readonly string[];

function layerClasses(target: TrainableTarget): string[] {
  if (Array.isArray(target)) return [...new Set(target as readonly string[])];
  if (target instanceof tf.LayersModel)
    return [...new Set(target.layers.map((l) => l.getClassName()))];
  const t = target as Partial<MtgraphModel> & Partial<Plan>;
  if (t.model instanceof tf.LayersModel) return layerClasses(t.model);
  return planLayerClasses(target as Plan);
}

/**
 * The layer classes of `target` that `backend` (default: the active one) cannot train because
 * some kernel is not registered for it; empty when everything trains.
 */
export function untrainableLayers(
  target: TrainableTarget,
  backend: string = tf.getBackend(),
): UntrainableLayer[] {
  const out: UntrainableLayer[] = [];
  for (const layer of layerClasses(target)) {
    const missing = (LAYER_TRAINING_KERNELS[layer] ?? []).filter((k) => !tf.getKernel(k, backend));
    if (missing.length > 0) out.push({ layer, missing });
  }
  return out;
}

/** Throws a BackendError naming the layers `backend` (default: the active one) cannot train. */
export function assertTrainable(target: TrainableTarget, backend: string = tf.getBackend()): void {
  const bad = untrainableLayers(target, backend);
  if (bad.length === 0) return;
  const list = bad.map((b) => `${b.layer} (needs ${b.missing.join(', ')})`).join('; ');
  throw new BackendError(
    `mtgraph/backend: the "${backend}" backend cannot train ${list}. Install @tensorflow/tfjs-node, or set MTGRAPH_BACKEND=cpu, or use only dense layers.`,
    { path: 'backend', got: bad.map((b) => b.layer) },
  );
}
