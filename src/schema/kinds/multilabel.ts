import { z } from 'zod';
import { MAX_TASK_OUTPUTS, says, uniqueNames } from '../common.js';
import { taskShape, unknownKeyError, namesOf, type TaskKind } from './define.js';

const losses = ['binary-crossentropy', 'focal'] as const;
const metrics = [
  'mean-auc',
  'micro-f1',
  'logloss',
  'pr-auc',
  'precision@1',
  'precision@2',
  'precision@3',
  'precision@5',
  'precision@10',
  'recall@1',
  'recall@2',
  'recall@3',
  'recall@5',
  'recall@10',
] as const;
/** Reported when a task names no metrics. */
const defaultMetrics = ['mean-auc', 'micro-f1', 'logloss'] as const;
const fix =
  'Set labels to the number of labels or a list of label names, e.g. labels: ["sunset", "beach"].';
const shape = {
  ...taskShape('multilabel', losses, metrics),
  labels: z
    .union(
      [
        z
          .int({ error: says('multilabel labels must be a whole number or a list of names', fix) })
          .min(1, { error: says('a multilabel task needs at least 1 label', fix) })
          .max(MAX_TASK_OUTPUTS, {
            error: says(
              `a multilabel task can have at most ${MAX_TASK_OUTPUTS} labels`,
              'Split the labels over several tasks.',
            ),
          }),
        z
          .array(z.string().min(1))
          .min(1, { error: says('a multilabel task needs at least 1 label name', fix) })
          .max(MAX_TASK_OUTPUTS, {
            error: says(
              `a multilabel task can have at most ${MAX_TASK_OUTPUTS} labels`,
              'Split the labels over several tasks.',
            ),
          })
          .refine(...uniqueNames('label names'))
          .meta({ uniqueItems: true }),
      ],
      { error: says('a multilabel task needs labels', fix) },
    )
    .meta({
      description: 'Number of labels or their names; each label is an independent 0/1 output.',
    }),
};
export const multilabelSchema = z
  .strictObject(shape, { error: unknownKeyError('multilabel task', Object.keys(shape)) })
  .meta({
    title: 'Multilabel task',
    description: 'Several independent 0/1 labels; one sigmoid per label.',
  });
export type MultilabelTask = z.infer<typeof multilabelSchema>;

export const multilabel: TaskKind<'multilabel', MultilabelTask> = {
  name: 'multilabel',
  summary: 'several independent 0/1 labels',
  schema: multilabelSchema,
  losses,
  metrics,
  defaultMetrics,
  compareBy: 'mean-auc',
  headActivation: 'sigmoid',
  outputs: (a) => (typeof a.labels === 'number' ? a.labels : a.labels.length),
  outputNames: (a) => namesOf(a.labels, 'label_'),
};
