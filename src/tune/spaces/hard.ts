import { registerSearchSpace, sampleLayers, sampleTraining } from '../space.js';

/** `hard`: one shared trunk, one head (and optional tower) per task. */
export const hardSpace = registerSearchSpace({
  name: 'hard',
  summary: 'one shared trunk: trunk and tower widths, dropout, L2, learning rate, balancing',
  sample: (random, ctx) => ({
    planOptions: { strategy: 'hard', ...sampleLayers(random, ctx) },
    fitOptions: sampleTraining(random),
  }),
});
