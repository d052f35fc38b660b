import { defineConfig } from 'vitest/config';
import { BASE_TIMEOUT_MS } from './test/timeouts.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // On an idle machine; test/setup-timeouts.ts scales them to the machine's measured speed.
    testTimeout: BASE_TIMEOUT_MS,
    hookTimeout: BASE_TIMEOUT_MS,
    setupFiles: ['test/setup-timeouts.ts'],
    // Two cores: two workers; tfjs tests are CPU-bound.
    maxWorkers: 2,
  },
});
