// Importing a coupling file registers it.
export { crossStitchCoupling } from './cross-stitch.js';
export { laplacianCoupling, LaplacianPenalty, FusedHeadLaplacian } from './laplacian.js';
export {
  registerCouplingBuilder,
  getCouplingBuilder,
  couplingKinds,
  type CouplingBuilder,
} from './registry.js';
