import * as tf from '@tensorflow/tfjs';
import { wasmKernelPatch, type WasmBackend } from './kernel-patch.js';

/**
 * The wasm backend multiplies with `transposeA` / `transposeB` set 5-15x slower than without
 * (tfjs-backend-wasm 4.22 on Node 20): and every Dense layer's backward pass multiplies by
 * transposed operands (`dW = xᵀ·dy`, `dx = dy·Wᵀ`). This wraps the wasm `BatchMatMul` kernel so
 * that a transposed operand is first transposed explicitly (the wasm `Transpose` kernel, exact)
 * and then multiplied without flags. Results are bit-identical; training steps of dense models
 * get about 3x faster. Applies to every tfjs computation on wasm in the process, `model.fit`
 * included; `restoreWasmMatMul()` undoes it.
 */
type Info = tf.TensorInfo;

/**
 * Whether `Aᵀ B` (A `[..., k, m]`, B `[..., k, n]`, same batch) is cheaper as `(Bᵀ A)ᵀ`: it
 * transposes k·n + m·n numbers instead of k·m. That is the gradient of a narrow layer's kernel,
 * `xᵀ dy` with few output units (a head: k = batch, m = inputs, n = units).
 */
function narrowResult(a: readonly number[], b: readonly number[]): boolean {
  const rank = a.length;
  if (rank !== b.length || a.slice(0, -2).some((d, i) => d !== b[i])) return false;
  const [k, m, n] = [a[rank - 2]!, a[rank - 1]!, b[rank - 1]!];
  return k * n + m * n < (k * m) / 2;
}

const matMulPatch = wasmKernelPatch('BatchMatMul', (matMul) => {
  // The Transpose kernel registered at call time (wasm-transpose.ts may have replaced it).
  const swap = (x: Info, backend: unknown): Info => {
    const rank = x.shape.length;
    const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
    return tf
      .getKernel('Transpose', 'wasm')!
      .kernelFunc({ inputs: { x }, backend: backend as tf.KernelBackend, attrs: { perm } }) as Info;
  };
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { a: Info; b: Info };
      backend: WasmBackend;
      attrs: { transposeA: boolean; transposeB: boolean };
    };
    if (!attrs.transposeA && !attrs.transposeB) return matMul.kernelFunc(args);
    if (attrs.transposeA && !attrs.transposeB && narrowResult(inputs.a.shape, inputs.b.shape)) {
      // Aᵀ B = (Bᵀ A)ᵀ: transposing B and the small result moves fewer numbers than transposing A.
      const bt = swap(inputs.b, backend);
      let product: Info | undefined;
      try {
        product = matMul.kernelFunc({
          ...args,
          inputs: { a: bt, b: inputs.a },
          attrs: { ...attrs, transposeA: false, transposeB: false },
        } as typeof args) as Info;
        return swap(product, backend);
      } finally {
        backend.disposeData(bt.dataId);
        if (product) backend.disposeData(product.dataId);
      }
    }
    const a = attrs.transposeA ? swap(inputs.a, backend) : inputs.a;
    const b = attrs.transposeB ? swap(inputs.b, backend) : inputs.b;
    try {
      return matMul.kernelFunc({
        ...args,
        inputs: { a, b },
        attrs: { ...attrs, transposeA: false, transposeB: false },
      } as typeof args);
    } finally {
      if (attrs.transposeA) backend.disposeData(a.dataId);
      if (attrs.transposeB) backend.disposeData(b.dataId);
    }
  };
});

/** Installs the wrapper; returns false when the wasm kernels are not registered (another backend). */
export const patchWasmMatMul = (): boolean =>
  tf.getKernel('Transpose', 'wasm') !== undefined && matMulPatch.patch();
/** Puts the original wasm `BatchMatMul` kernel back. */
export const restoreWasmMatMul = (): void => matMulPatch.restore();
/** Whether the wrapper is installed. */
export const wasmMatMulPatched = (): boolean => matMulPatch.patched();
