import { registerSearchSpace, sampleLayers, sampleTraining } from '../space.js';

/** `single`: one independent network per task (the baseline); its widths, dropout and training settings. */
export const singleSpace = registerSearchSpace({
  name: 'single',
  summary: 'one independent network per task: widths, dropout, L2, learning rate, balancing',
  sample: (random, ctx) => ({
    planOptions: { strategy: 'single', ...sampleLayers(random, ctx) },
    fitOptions: sampleTraining(random),
  }),
});
