import { describe, it, expect, beforeAll, afterEach } from 'vitest';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/index.js';
import {
  cpuSegmentSumPatched,
  installSegmentSum,
  restoreCpuSegmentSum,
} from '../../src/backend/segment-sum-kernel.js';
import { SEGMENT_SUM_WASM } from '../../src/backend/wasm/segment_sum.wasm.js';
import { compileWat, wasmDir } from '../../scripts/build-wasm.js';

let backend = '';
beforeAll(async () => {
  backend = (await initBackend()).backend;
});
afterEach(async () => {
  installSegmentSum();
  await tf.setBackend(backend);
});

function values(n: number, width: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from(
    { length: n * width },
    () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2147483648 - 1,
  );
}

/** Ids with repeats (0 and 3 several times), an unused segment (2) and out-of-range ids (-1, 9). */
const IDS = [3, 0, 3, 1, 0, 3, -1, 4, 9, 0];
const SEGMENTS = 6;

/** The sum written by hand, row by row (float64). */
function byHand(x: Float32Array, ids: number[], width: number, segments: number): number[] {
  const out = new Array<number>(segments * width).fill(0);
  ids.forEach((id, i) => {
    if (id < 0 || id >= segments) return;
    for (let k = 0; k < width; k++) out[id * width + k]! += x[i * width + k]!;
  });
  return out;
}

function run(x: Float32Array, width: number): Float32Array {
  return tf.tidy(() =>
    tf
      .unsortedSegmentSum(tf.tensor2d(x, [IDS.length, width]), tf.tensor1d(IDS, 'int32'), SEGMENTS)
      .dataSync(),
  ) as Float32Array;
}

describe('UnsortedSegmentSum kernel', () => {
  it('the committed wasm binary is the compiled segment_sum.wat (run `npm run build:wasm` after editing it)', async () => {
    const binary = await compileWat(path.join(wasmDir, 'segment_sum.wat'));
    expect(Buffer.from(binary).toString('base64')).toBe(SEGMENT_SUM_WASM);
  });

  // width 8: SIMD only; 5: SIMD and a tail of one; 3 and 1: the tail only.
  for (const width of [8, 5, 3, 1]) {
    it(`wasm and cpu equal tfjs's own cpu kernel and the sum by hand (width ${width}, repeated and out-of-range ids)`, async () => {
      const x = values(IDS.length, width, width);
      const hand = byHand(x, IDS, width, SEGMENTS);
      await tf.setBackend('cpu');
      restoreCpuSegmentSum();
      expect(cpuSegmentSumPatched()).toBe(false);
      const original = run(x, width);
      installSegmentSum();
      expect(cpuSegmentSumPatched()).toBe(true);
      const cpu = run(x, width);
      for (let k = 0; k < hand.length; k++) expect(original[k]).toBeCloseTo(hand[k]!, 5);
      // The one-pass cpu kernel gives tfjs's own values exactly.
      expect(Array.from(cpu)).toEqual(Array.from(original));
      // Row 2 is unused: exact zeros.
      expect(Array.from(cpu.subarray(2 * width, 3 * width))).toEqual(new Array(width).fill(0));
      if (backend !== 'wasm') return;
      await tf.setBackend('wasm');
      const before = tf.memory().numTensors;
      const wasm = run(x, width);
      expect(tf.memory().numTensors).toBe(before);
      for (let k = 0; k < hand.length; k++) expect(wasm[k]).toBeCloseTo(cpu[k]!, 6);
    });
  }

  it('an int32 x and a 2-D segmentIds (a prefix of x) sum as on cpu', async () => {
    const make = () =>
      tf.tidy(() =>
        Array.from(
          tf
            .unsortedSegmentSum(
              tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], 'int32'),
              tf.tensor2d([1, 0, 1, 1], [2, 2], 'int32') as unknown as tf.Tensor1D,
              3,
            )
            .dataSync(),
        ),
      );
    await tf.setBackend('cpu');
    const cpu = make();
    expect(cpu).toEqual([3, 4, 1 + 5 + 7, 2 + 6 + 8, 0, 0]);
    if (backend !== 'wasm') return;
    await tf.setBackend('wasm');
    expect(make()).toEqual(cpu);
  });

  it("an Embedding's gradient (gather then scatter-add) is the same on wasm and cpu", async () => {
    const grad = () =>
      tf.tidy(() => {
        const table = tf.tensor2d(values(7, 6, 11), [7, 6]);
        const ids = tf.tensor1d([2, 2, 5, 0, 2, 6], 'int32');
        const w = tf.tensor2d(values(6, 6, 12), [6, 6]);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), w)))(table);
        return Array.from(g.dataSync());
      });
    await tf.setBackend('cpu');
    const cpu = grad();
    // Row 2 gathered three times: the sum of three rows of w; rows 1, 3, 4 unused.
    const w = values(6, 6, 12);
    for (let k = 0; k < 6; k++) {
      expect(cpu[2 * 6 + k]).toBeCloseTo(w[k]! + w[6 + k]! + w[24 + k]!, 5);
      expect(cpu[1 * 6 + k]).toBe(0);
    }
    if (backend !== 'wasm') return;
    await tf.setBackend('wasm');
    const wasm = grad();
    for (let k = 0; k < cpu.length; k++) expect(wasm[k]).toBeCloseTo(cpu[k]!, 6);
  });
});
