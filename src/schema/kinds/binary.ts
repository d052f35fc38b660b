import { z } from 'zod';
import { taskShape, unknownKeyError, type TaskKind } from './define.js';

const losses = ['binary-crossentropy', 'focal'] as const;
const metrics = ['auc', 'accuracy', 'logloss', 'pr-auc'] as const;
/** Reported when a task names no metrics. */
const defaultMetrics = ['auc', 'accuracy', 'logloss'] as const;
const shape = taskShape('binary', losses, metrics);
export const binarySchema = z
  .strictObject(shape, { error: unknownKeyError('binary task', Object.keys(shape)) })
  .meta({ title: 'Binary task', description: 'A 0/1 label; sigmoid head, binary cross-entropy.' });
export type BinaryTask = z.infer<typeof binarySchema>;

export const binary: TaskKind<'binary', BinaryTask> = {
  name: 'binary',
  summary: 'a 0/1 label',
  schema: binarySchema,
  losses,
  metrics,
  defaultMetrics,
  compareBy: 'auc',
  headActivation: 'sigmoid',
  outputs: () => 1,
  outputNames: (_a, id) => [id],
};
