/**
 * Vitest setup file: measures how slow this machine runs right now (test/timeouts.ts) and scales
 * this file's default test and hook timeouts by it. Per-test budgets use scaled(ms).
 */
import { vi } from 'vitest';
import { BASE_TIMEOUT_MS, measureSlowdown, scaled, setSlowdown } from './timeouts.js';

const factor = measureSlowdown();
setSlowdown(factor);
vi.setConfig({
  testTimeout: scaled(BASE_TIMEOUT_MS, factor),
  hookTimeout: scaled(BASE_TIMEOUT_MS, factor),
});
