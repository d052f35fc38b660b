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

const optimizers = new Map<string, OptimizerFactory>();

export function registerOptimizer(factory: OptimizerFactory): OptimizerFactory {
  optimizers.set(factory.name, factory);
  return factory;
}

export function getOptimizer(name: string): OptimizerFactory | undefined {
  return optimizers.get(name);
}

export function optimizerNames(): string[] {
  return [...optimizers.keys()];
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
