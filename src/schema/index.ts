export * from './common.js';
export * from './kinds/index.js';
export * from './affinity.js';
export * from './graph-attributes.js';
export * from './serialized.js';
export * from './validate.js';
