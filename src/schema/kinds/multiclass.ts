import { z } from 'zod';
import { MAX_TASK_OUTPUTS, says, uniqueNames } from '../common.js';
import { taskShape, unknownKeyError, namesOf, type TaskKind } from './define.js';

const losses = ['crossentropy'] as const;
const metrics = ['accuracy', 'macro-f1', 'logloss'] as const;
const fix =
  'Set classes to the number of classes (at least 2) or a list of class names, e.g. classes: 3.';
const shape = {
  ...taskShape('multiclass', losses, metrics),
  classes: z
    .union(
      [
        z
          .int({ error: says('multiclass classes must be a whole number or a list of names', fix) })
          .min(2, { error: says('a multiclass task needs at least 2 classes', fix) })
          .max(MAX_TASK_OUTPUTS, {
            error: says(
              `a multiclass task can have at most ${MAX_TASK_OUTPUTS} classes`,
              'Group rare classes, or split the task.',
            ),
          }),
        z
          .array(z.string().min(1))
          .min(2, { error: says('a multiclass task needs at least 2 class names', fix) })
          .max(MAX_TASK_OUTPUTS, {
            error: says(
              `a multiclass task can have at most ${MAX_TASK_OUTPUTS} classes`,
              'Group rare classes, or split the task.',
            ),
          })
          .refine(...uniqueNames('class names'))
          .meta({ uniqueItems: true }),
      ],
      { error: says('a multiclass task needs classes', fix) },
    )
    .meta({
      description: 'Number of classes (>= 2) or their names; labels are integers 0..classes-1.',
    }),
};
export const multiclassSchema = z
  .strictObject(shape, { error: unknownKeyError('multiclass task', Object.keys(shape)) })
  .meta({
    title: 'Multiclass task',
    description: 'One of several classes; softmax head, cross-entropy from integer labels.',
  });
export type MulticlassTask = z.infer<typeof multiclassSchema>;

export const multiclass: TaskKind<'multiclass', MulticlassTask> = {
  name: 'multiclass',
  summary: 'one of several classes',
  schema: multiclassSchema,
  losses,
  metrics,
  defaultMetrics: metrics,
  compareBy: 'accuracy',
  headActivation: 'softmax',
  outputs: (a) => (typeof a.classes === 'number' ? a.classes : a.classes.length),
  outputNames: (a) => namesOf(a.classes, 'class_'),
};
