import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, LaplacianPenalty } from '../../src/index.js';
import {
  laplacianKernel,
  laplacianKernelAvailable,
  laplacianKernelImplementation,
  LAPLACIAN_KERNEL,
} from '../../src/backend/laplacian-kernel.js';
import { LAPLACIAN_WASM } from '../../src/backend/wasm/laplacian.wasm.js';
import { compileWat, wasmDir } from '../../scripts/build-wasm.js';

let backend = '';
beforeAll(async () => {
  backend = (await initBackend()).backend;
});
afterEach(async () => {
  await tf.setBackend(backend);
});

/**
 * Pieces of 63 (three runs of 16 columns and a tail of 15), 37 (two runs and 5) and 16 (one run)
 * numbers, so both the SIMD loop and the one-column tail of the wasm module are checked.
 */
const SHAPES = [[7, 9], [37], [2, 8]];

/** A Laplacian over `rows` rows (a chain of the first rows - 1, random pairs beside it, some negative), the last row without entries. */
function laplacianOf(rows: number, seed: number): Float32Array {
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const L = new Float32Array(rows * rows);
  for (let i = 0; i < rows - 1; i++) {
    for (let j = i + 1; j < rows - 1; j++) {
      const r = j === i + 1 ? 0.8 : rand(); // a chain, and random pairs beside it
      if (r < 0.3) continue;
      const w = r < 0.4 ? -0.5 : r;
      L[i * rows + j] = L[i * rows + j]! - w;
      L[j * rows + i] = L[j * rows + i]! - w;
      L[i * rows + i] = L[i * rows + i]! + w;
      L[j * rows + j] = L[j * rows + j]! + w;
    }
  }
  return L;
}

/** The value and gradients written with tensor operations: X the rows laid end to end, M = L X, value sum(X M), gradient 2 M. */
function reference(
  xs: tf.Tensor[],
  rows: number,
  L: Float32Array,
): { value: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const pieces = xs.length / rows;
    const X = tf.stack(
      Array.from({ length: rows }, (_, r) =>
        tf.concat(xs.slice(r * pieces, (r + 1) * pieces).map((x) => tf.reshape(x, [-1]))),
      ),
    );
    const M = tf.matMul(tf.tensor2d(L, [rows, rows]), X as tf.Tensor2D);
    const value = tf.sum(tf.mul(X, M)).dataSync()[0]!;
    const G = tf.mul(M, 2).arraySync() as number[][];
    const grads: Float32Array[] = [];
    for (let r = 0; r < rows; r++) {
      let at = 0;
      for (let p = 0; p < pieces; p++) {
        const n = xs[r * pieces + p]!.size;
        grads.push(Float32Array.from(G[r]!.slice(at, at + n)));
        at += n;
      }
    }
    return { value, grads };
  });
}

function randomRows(rows: number, seed: number): tf.Tensor[] {
  return Array.from({ length: rows }, (_, r) =>
    SHAPES.map((shape, p) => tf.randomNormal(shape, 0, 1, 'float32', seed + 10 * r + p)),
  ).flat();
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe(`${LAPLACIAN_KERNEL} kernel`, () => {
  it('the committed wasm binary is the compiled laplacian.wat (run `npm run build:wasm` after editing it)', async () => {
    const binary = await compileWat(path.join(wasmDir, 'laplacian.wat'));
    expect(Buffer.from(binary).toString('base64')).toBe(LAPLACIAN_WASM);
  });

  for (const name of ['wasm', 'cpu']) {
    it(`on ${name}: value and gradient equal the matrix formula, a row without entries gets gradient 0, no tensor left`, async () => {
      if (name === 'wasm' && backend !== 'wasm') return;
      await tf.setBackend(name);
      expect(laplacianKernelImplementation()).toBe(name === 'wasm' ? 'wasm-simd' : 'javascript');
      for (const [rows, seed] of [
        [6, 1],
        [1, 5],
        [3, 9],
      ] as const) {
        const xs = randomRows(rows, seed);
        const L = laplacianOf(rows, seed);
        const before = tf.memory().numTensors;
        const [value, ...grads] = laplacianKernel(xs, rows, L);
        const ref = reference(xs, rows, L);
        expect(value.shape).toEqual([]);
        expect(grads.map((g) => g.shape)).toEqual(xs.map((x) => x.shape));
        expect(Math.abs(value.dataSync()[0]! - ref.value)).toBeLessThan(
          1e-4 * Math.max(1, Math.abs(ref.value)),
        );
        grads.forEach((g, k) => expect(maxDiff(g.dataSync(), ref.grads[k]!)).toBeLessThan(1e-4));
        if (rows > 1) {
          // The last row has no entries in L: its gradient is exactly 0.
          const pieces = SHAPES.length;
          for (let p = 0; p < pieces; p++)
            expect(
              Math.max(...Array.from(grads[(rows - 1) * pieces + p]!.dataSync(), Math.abs)),
            ).toBe(0);
          expect(ref.value).not.toBe(0);
        }
        tf.dispose([value, ...grads]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose(xs);
      }
    });
  }

  it('rejects rows whose pieces differ in shape', () => {
    const xs = [tf.zeros([2, 3]), tf.zeros([3, 2])];
    expect(() => laplacianKernel(xs, 2, new Float32Array(4))).toThrow(/row 1 piece 0/);
    tf.dispose(xs);
  });

  it('through LaplacianPenalty: the same value and gradients with the kernel off, also when the penalty is scaled', () => {
    expect(tf.getBackend()).toBe(backend);
    const rows = 4;
    const vars = randomRows(rows, 3).map((x) => tf.variable(x));
    const byRow = Array.from({ length: rows }, (_, r) =>
      vars.slice(r * SHAPES.length, (r + 1) * SHAPES.length),
    );
    const penalty = new LaplacianPenalty(
      0.3,
      [
        [byRow[0]!, byRow[1]!, 0.9],
        [byRow[1]!, byRow[2]!, -0.4],
        [byRow[0]!, byRow[3]!, 0.2],
      ],
      0,
    );
    const run = (scale: number) => {
      const { value, grads } = tf.variableGrads(
        () => tf.mul(penalty.value(), scale) as tf.Scalar,
        vars,
      );
      const out = {
        value: value.dataSync()[0]!,
        grads: vars.map((v) => grads[v.name]!.dataSync()),
      };
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    const saved = process.env.MTGRAPH_LAPLACIAN_KERNEL;
    try {
      for (const scale of [1, 3]) {
        process.env.MTGRAPH_LAPLACIAN_KERNEL = 'off';
        expect(laplacianKernelAvailable()).toBe(false);
        const off = run(scale);
        delete process.env.MTGRAPH_LAPLACIAN_KERNEL;
        expect(laplacianKernelAvailable()).toBe(true);
        const before = tf.memory().numTensors;
        const on = run(scale);
        expect(tf.memory().numTensors).toBe(before);
        expect(on.value).toBeGreaterThan(0);
        expect(Math.abs(on.value - off.value)).toBeLessThan(1e-4 * on.value);
        on.grads.forEach((g, k) => expect(maxDiff(g, off.grads[k]!)).toBeLessThan(1e-4));
      }
    } finally {
      if (saved === undefined) delete process.env.MTGRAPH_LAPLACIAN_KERNEL;
      else process.env.MTGRAPH_LAPLACIAN_KERNEL = saved;
    }
    tf.dispose(vars);
  });
});
