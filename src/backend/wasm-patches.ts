import { envVar } from '../platform/index.js';
import { patchWasmConcat, restoreWasmConcat } from './wasm-concat.js';
import { patchWasmGather, restoreWasmGather } from './wasm-gather.js';
import { patchWasmMatMul, restoreWasmMatMul } from './wasm-matmul.js';
import { patchWasmSlice, restoreWasmSlice } from './wasm-slice.js';
import { patchWasmSplit, restoreWasmSplit } from './wasm-split.js';
import { patchWasmSum, restoreWasmSum } from './wasm-sum.js';
import { patchWasmTranspose, restoreWasmTranspose } from './wasm-transpose.js';

/** One replacement of a wasm kernel: the variable that switches it off (`=original`), how initBackend reports it, and its switches. */
export interface WasmKernelReplacement {
  env: string;
  label: string;
  patch(): boolean;
  restore(): void;
}

/** Every wasm kernel replacement `initBackend` installs, in order (README, "Backends"). */
export const WASM_KERNEL_REPLACEMENTS: readonly WasmKernelReplacement[] = [
  {
    env: 'MTGRAPH_WASM_MATMUL',
    label: 'transposed matMul patched',
    patch: patchWasmMatMul,
    restore: restoreWasmMatMul,
  },
  {
    env: 'MTGRAPH_WASM_SLICE',
    label: 'in-place slice',
    patch: patchWasmSlice,
    restore: restoreWasmSlice,
  },
  {
    env: 'MTGRAPH_WASM_GATHER',
    label: 'row gather',
    patch: patchWasmGather,
    restore: restoreWasmGather,
  },
  {
    env: 'MTGRAPH_WASM_TRANSPOSE',
    label: 'blocked transpose',
    patch: patchWasmTranspose,
    restore: restoreWasmTranspose,
  },
  { env: 'MTGRAPH_WASM_SUM', label: 'row sum', patch: patchWasmSum, restore: restoreWasmSum },
  {
    env: 'MTGRAPH_WASM_CONCAT',
    label: 'run concat',
    patch: patchWasmConcat,
    restore: restoreWasmConcat,
  },
  {
    env: 'MTGRAPH_WASM_SPLIT',
    label: 'run split',
    patch: patchWasmSplit,
    restore: restoreWasmSplit,
  },
];

/**
 * Installs every replacement not switched off by its environment variable; returns the labels of
 * those installed (none on another backend).
 */
export function patchWasmKernels(): string[] {
  return WASM_KERNEL_REPLACEMENTS.filter((r) => envVar(r.env) !== 'original' && r.patch()).map(
    (r) => r.label,
  );
}

/** Puts every original wasm kernel back. */
export function restoreWasmKernels(): void {
  for (const r of WASM_KERNEL_REPLACEMENTS) r.restore();
}
