import { z } from 'zod';
import { regression, regressionSchema, type RegressionTask } from './regression.js';
import { binary, binarySchema, type BinaryTask } from './binary.js';
import { multiclass, multiclassSchema, type MulticlassTask } from './multiclass.js';
import { multilabel, multilabelSchema, type MultilabelTask } from './multilabel.js';
import type { TaskKind } from './define.js';

export type { TaskKind } from './define.js';
export type { RegressionTask, BinaryTask, MulticlassTask, MultilabelTask };

/** Node attributes of a task, as a user writes them. */
export type TaskAttributes = RegressionTask | BinaryTask | MulticlassTask | MultilabelTask;
export type TaskKindName = TaskAttributes['kind'];

/** The registry of task kinds: adding a kind is adding one file and one line here. */
export const TASK_KINDS: Readonly<Record<TaskKindName, TaskKind<any, any>>> = Object.freeze({
  regression,
  binary,
  multiclass,
  multilabel,
});

export function taskKind(name: string): TaskKind<any, any> | undefined {
  return Object.hasOwn(TASK_KINDS, name) ? TASK_KINDS[name as TaskKindName] : undefined;
}

/** One schema for every kind (used for the JSON Schema of graph files). */
export const TaskAttributesSchema = z
  .discriminatedUnion('kind', [regressionSchema, binarySchema, multiclassSchema, multilabelSchema])
  .meta({ title: 'Task', description: 'A task: one prediction target and how it is learned.' });
