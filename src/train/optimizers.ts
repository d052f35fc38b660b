import { createRegistry } from '../registry.js';
import * as tf from '@tensorflow/tfjs';
import { FlatAdam } from './flat-adam.js';

/** An optimizer the trainer can create by name. */
export interface OptimizerFactory {
  readonly name: string;
  readonly defaultLearningRate: number;
  /** Set when the optimizer takes a decoupled `weightDecay` (AdamW): its default. */
  readonly defaultWeightDecay?: number;
  create(learningRate: number): tf.Optimizer;
}

const optimizers = createRegistry<OptimizerFactory>((o) => o.name);

/** Registers an optimizer under its name (a later registration replaces an earlier one). */
export function registerOptimizer(factory: OptimizerFactory): OptimizerFactory {
  return optimizers.register(factory);
}

export function getOptimizer(name: string): OptimizerFactory | undefined {
  return optimizers.get(name);
}

export function optimizerNames(): string[] {
  return optimizers.names();
}

registerOptimizer({ name: 'adam', defaultLearningRate: 1e-3, create: (lr) => new FlatAdam(lr) });
/** Adam with decoupled weight decay (the decay is applied by fit's update knobs, see optimizer-knobs.ts). */
registerOptimizer({
  name: 'adamw',
  defaultLearningRate: 1e-3,
  defaultWeightDecay: 0.01,
  create: (lr) => new FlatAdam(lr),
});
registerOptimizer({ name: 'sgd', defaultLearningRate: 1e-2, create: (lr) => tf.train.sgd(lr) });
registerOptimizer({
  name: 'rmsprop',
  defaultLearningRate: 1e-3,
  create: (lr) => tf.train.rmsprop(lr),
});
