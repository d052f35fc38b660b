import { z } from 'zod';
import { MAX_TASK_OUTPUTS, says } from '../common.js';
import { taskShape, unknownKeyError, namesOf, type TaskKind } from './define.js';

const losses = ['mse', 'mae', 'huber', 'logcosh'] as const;
const metrics = ['mse', 'rmse', 'mae', 'r2'] as const;
const shape = {
  ...taskShape('regression', losses, metrics),
  outputs: z
    .union([
      z
        .int({
          error: says(
            'regression outputs must be a whole number',
            'Use outputs: 1 or a list of output names.',
          ),
        })
        .min(1, {
          error: says(
            'regression outputs must be at least 1',
            'Use outputs: 1 or a list of output names.',
          ),
        })
        .max(MAX_TASK_OUTPUTS, {
          error: says(
            `regression outputs must be at most ${MAX_TASK_OUTPUTS}`,
            'Split the outputs over several tasks.',
          ),
        }),
      z
        .array(z.string().min(1))
        .min(1, {
          error: says(
            'regression outputs must name at least one output',
            'Use outputs: 1 or a list of output names.',
          ),
        })
        .max(MAX_TASK_OUTPUTS, {
          error: says(
            `regression outputs must be at most ${MAX_TASK_OUTPUTS}`,
            'Split the outputs over several tasks.',
          ),
        }),
    ])
    .optional()
    .meta({ description: 'Number of real-valued outputs, or their names (default 1).' }),
};
export const regressionSchema = z
  .strictObject(shape, { error: unknownKeyError('regression task', Object.keys(shape)) })
  .meta({
    title: 'Regression task',
    description: 'Real-valued target(s); loss mse (default), mae or huber.',
  });
export type RegressionTask = z.infer<typeof regressionSchema>;

export const regression: TaskKind<'regression', RegressionTask> = {
  name: 'regression',
  summary: 'real-valued target(s)',
  schema: regressionSchema,
  losses,
  metrics,
  defaultMetrics: metrics,
  compareBy: 'r2',
  headActivation: 'linear',
  outputs: (a) =>
    a.outputs === undefined ? 1 : typeof a.outputs === 'number' ? a.outputs : a.outputs.length,
  outputNames: (a, id) =>
    a.outputs === undefined || a.outputs === 1 ? [id] : namesOf(a.outputs, `${id}_`),
};
