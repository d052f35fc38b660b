/**
 * The Node entry (the package's `node` export condition): the root entry, with the Node parts
 * (files, CSV streams, checkpoints, tfjs-node) bundled in, so that a bundle for Node has them.
 */
import { provideNodeParts } from './platform/index.js';
import * as nodeParts from './platform/node.js';

provideNodeParts(nodeParts);

export * from './index.js';
