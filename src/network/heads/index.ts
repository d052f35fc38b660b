// Importing a head file registers it.
export { denseHead } from './dense.js';
export { registerHead, getHeadBuilder, headKinds, type HeadBuilder } from './registry.js';
