import { describe, expect, it } from 'vitest';
import {
  BASE_TIMEOUT_MS,
  CHUNKS,
  MAX_SLOWDOWN,
  REFERENCE_CHUNK_MS,
  measureSlowdown,
  scaled,
  slowdown,
  slowdownFrom,
} from './timeouts.js';

describe('test timeouts scaled to the machine', () => {
  it('slowdownFrom is the mean chunk time over the reference, at least 1 and at most MAX_SLOWDOWN', () => {
    const r = REFERENCE_CHUNK_MS;
    expect(slowdownFrom([r, r, r, r])).toBe(1);
    expect(slowdownFrom([r / 2, r / 3])).toBe(1); // a faster machine keeps the budgets
    expect(slowdownFrom([3 * r, 5 * r])).toBe(4); // four times busier: four times the budget
    expect(slowdownFrom([1e9])).toBe(MAX_SLOWDOWN); // a hang still fails
    expect(slowdownFrom([])).toBe(1);
    expect(slowdownFrom([Number.NaN, 2 * r])).toBe(2);
  });

  it('measureSlowdown times CHUNKS calibration chunks with the given clock', () => {
    let t = 0;
    let calls = 0;
    // Each chunk "takes" 6 reference chunks: the clock advances 3r per call, twice per chunk.
    const clock = () => {
      calls++;
      return (t += 3 * REFERENCE_CHUNK_MS);
    };
    const saved = process.env.MTGRAPH_TEST_SLOWDOWN;
    delete process.env.MTGRAPH_TEST_SLOWDOWN;
    try {
      expect(measureSlowdown(clock)).toBe(3);
      expect(calls).toBe(2 * CHUNKS);
      process.env.MTGRAPH_TEST_SLOWDOWN = '7';
      expect(measureSlowdown(clock)).toBe(7);
    } finally {
      if (saved === undefined) delete process.env.MTGRAPH_TEST_SLOWDOWN;
      else process.env.MTGRAPH_TEST_SLOWDOWN = saved;
    }
  });

  it('scaled multiplies a budget by the slowdown', () => {
    expect(scaled(120_000, 2.5)).toBe(300_000);
    expect(scaled(60_000, 1)).toBe(60_000);
  });

  it("this file's default timeout is the base times the slowdown measured at setup", ({ task }) => {
    expect(slowdown()).toBeGreaterThanOrEqual(1);
    expect(task.timeout).toBe(scaled(BASE_TIMEOUT_MS, slowdown()));
  });
});
