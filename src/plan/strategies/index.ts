// Importing a strategy file registers it; the order here is the order `strategyNames()` lists them.
export { single } from './single.js';
export { hard } from './hard.js';
export { clustered } from './clustered.js';
export { tree } from './tree.js';
export { soft } from './soft.js';
export { crossStitch, crossStitchAlpha } from './cross-stitch.js';
export { mmoe } from './mmoe.js';
export { ple } from './ple.js';
export { auto, chooseStrategy, graphShape, type GraphShape } from './auto.js';
