export { measureAffinity, type AffinityResult } from './measure.js';
export {
  groupTasks,
  exhaustiveGroups,
  greedyGroups,
  partitionScore,
  type GroupTasksOptions,
  type TaskGroups,
} from './group.js';
export {
  resolveAffinityOptions,
  type MeasureAffinityOptions,
  type ResolvedAffinityOptions,
} from './options.js';
export { AFFINITY_DEFAULTS, EXHAUSTIVE_MAX_TASKS } from './defaults.js';
export {
  registerAffinityMethod,
  getAffinityMethod,
  affinityMethodNames,
  type AffinityMethod,
  type AffinityInput,
  type AffinityMeasurement,
} from './registry.js';
export { scaleLookahead } from './lookahead.js';
export { pearson } from './label-correlation.js';
export {
  measureWhileTraining,
  type Probe,
  type ProbeStep,
  type LoopResult,
} from './measure-loop.js';
export { sharedBlocks, sharedVariables } from './shared.js';
