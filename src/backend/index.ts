export {
  initBackend,
  NODE_BACKENDS,
  BROWSER_BACKENDS,
  loadFailureReason,
  BACKEND_NAMES,
  type BackendName,
  type BackendAttempt,
  type BackendReport,
  type InitBackendOptions,
} from './init.js';
export {
  untrainableLayers,
  assertTrainable,
  LAYER_TRAINING_KERNELS,
  type UntrainableLayer,
  type TrainableTarget,
} from './trainable.js';
export { TESTED_TFJS_CORE, wasmKernelsVeto } from './kernel-patch.js';
export { patchWasmMatMul, restoreWasmMatMul, wasmMatMulPatched } from './wasm-matmul.js';
export { patchWasmSlice, restoreWasmSlice, wasmSlicePatched } from './wasm-slice.js';
export { patchWasmGather, restoreWasmGather, wasmGatherPatched } from './wasm-gather.js';
export {
  patchWasmTranspose,
  restoreWasmTranspose,
  wasmTransposePatched,
} from './wasm-transpose.js';
export { patchWasmSum, restoreWasmSum, wasmSumPatched } from './wasm-sum.js';
export { patchWasmConcat, restoreWasmConcat, wasmConcatPatched } from './wasm-concat.js';
export { patchWasmSplit, restoreWasmSplit, wasmSplitPatched } from './wasm-split.js';
export {
  WASM_KERNEL_REPLACEMENTS,
  patchWasmKernels,
  restoreWasmKernels,
  type WasmKernelReplacement,
} from './wasm-patches.js';
export {
  LAPLACIAN_KERNEL,
  laplacianKernel,
  laplacianKernelAvailable,
  laplacianKernelImplementation,
} from './laplacian-kernel.js';
