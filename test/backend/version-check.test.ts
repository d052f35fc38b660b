/** mtgraph's wasm kernels check the tfjs version they were tested with and stand aside on another. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TESTED_TFJS_CORE, wasmKernelsVeto } from '../../src/backend/index.js';

describe('wasmKernelsVeto', () => {
  it('wasmKernelsVeto lets the kernels run on the tested tfjs-core, which is the installed one', () => {
    expect(tf.version_core).toBe(TESTED_TFJS_CORE);
    expect(wasmKernelsVeto()).toBeUndefined();
  });

  it('wasmKernelsVeto names both versions when tfjs-core is another one', () => {
    expect(wasmKernelsVeto('4.23.0')).toBe(
      `mtgraph's wasm kernels stand aside: they were tested with @tensorflow/tfjs-core ${TESTED_TFJS_CORE} (found 4.23.0), so tfjs's own kernels run`,
    );
  });
});
