export { TaskGraph } from './task-graph.js';
export {
  louvainGroups,
  thresholdGroups,
  positiveComponents,
  enforceConstraints,
  isConflict,
  canonicalGroups,
  type Groups,
  type LouvainGroupsOptions,
} from './groups.js';
export {
  dendrogram,
  cutDendrogram,
  DENDROGRAM_MAX_TASKS,
  type Dendrogram,
  type Merge,
  type Linkage,
} from './dendrogram.js';
export { laplacian, type LaplacianOptions } from './laplacian.js';
export { seededRandom } from './random.js';
