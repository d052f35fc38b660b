import * as tf from '@tensorflow/tfjs';
import { TaskGraph } from '../../src/graph/task-graph.js';

/** The strategies every build and io test runs through. */
export const STRATEGIES = [
  'single',
  'hard',
  'clustered',
  'tree',
  'soft',
  'cross-stitch',
  'mmoe',
  'ple',
] as const;

/** A small graph: four tasks of every kind, one id that tfjs layer names cannot hold, and a conflict. */
export function smallGraph(): TaskGraph {
  const g = new TaskGraph({ input: { features: 5 } });
  g.addTask('click', { kind: 'binary' });
  g.addTask('segment id/2', { kind: 'multiclass', classes: 3 });
  g.addTask('spend', { kind: 'regression' });
  g.addTask('tags', { kind: 'multilabel', labels: ['x', 'y'] });
  g.addAffinity('click', 'segment id/2', { weight: 0.8 });
  g.addAffinity('click', 'spend', { weight: 0.5 });
  g.addAffinity('spend', 'tags', { weight: 0.6 });
  g.addAffinity('segment id/2', 'tags', { weight: -0.4 });
  return g;
}

/** Replaces every weight of a model by seeded random values (so round trips compare something other than initial values). */
export function scrambleWeights(model: tf.LayersModel, seed = 1): void {
  const values = model
    .getWeights()
    .map((w, i) => tf.randomUniform(w.shape, 0.1, 1, 'float32', seed + i));
  model.setWeights(values);
  tf.dispose(values);
}
