import { describe } from 'vitest';
import { longRuns } from './long-runs.js';

describe('fit over long runs, loss-weighting methods', () => {
  longRuns([
    ['static', {}],
    ['uncertainty', {}],
    ['dwa', {}],
    ['rlw', {}],
  ]);
});
