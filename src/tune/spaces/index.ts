// One file per search space; importing this module registers them all.
export { singleSpace } from './single.js';
export { hardSpace } from './hard.js';
export { clusteredSpace } from './clustered.js';
export {
  softSpace,
  SOFT_STRENGTH_RANGE,
  SOFT_RUNG_SCALE,
  SOFT_LEARNING_RATE_RANGE,
} from './soft.js';
export { mmoeSpace } from './mmoe.js';
export { learnedSpace, LEARNED_AFFINITY } from './learned.js';
