export { build, type BuildOptions } from './build.js';
export { compile } from './compile.js';
export { checkPlan } from './check.js';
export { assemble, type AssembleOptions } from './model.js';
export {
  nameLayers,
  sanitizeName,
  type LayerNames,
  type StepNames,
  type GateNames,
} from './names.js';
export { planLayerClasses } from './layer-classes.js';
export { deriveSeed } from './seed.js';
export { CrossStitch, crossStitch, type CrossStitchArgs } from './layers/cross-stitch.js';
export { MultiHead, multiHead, type MultiHeadArgs } from './layers/multi-head.js';
export { Columns, COLUMN_ACTIVATIONS, type ColumnsArgs } from './layers/columns.js';
export { GateMix, gateMix } from './layers/gate-mix.js';
export { SeededDropout, reseedDropout, type SeededDropoutArgs } from './layers/dropout.js';
export { fusedHeadGroups, type HeadGroup } from './head-groups.js';
export {
  LaplacianPenalty,
  FusedHeadLaplacian,
  registerCouplingBuilder,
  getCouplingBuilder,
  couplingKinds,
  type CouplingBuilder,
} from './couplings/index.js';
export { registerHead, getHeadBuilder, headKinds, type HeadBuilder } from './heads/index.js';
export type { BuildContext, ModelParts, Initializer } from './context.js';
export type { MtgraphModel, Penalty } from './types.js';
