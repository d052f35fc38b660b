import { TUNE_DEFAULTS } from '../defaults.js';
import { pick, registerSearchSpace, sampleLayers, sampleTraining } from '../space.js';

/** Expert counts searched. */
const EXPERTS = [2, 4, 8];
/** Expert widths searched (each expert is a trunk). */
const EXPERT_TRUNKS: readonly (readonly number[])[] = [[8], [16], [32]];

/** `mmoe`: shared experts mixed by one softmax gate per task; searched by default with more than 3 tasks. */
export const mmoeSpace = registerSearchSpace({
  name: 'mmoe',
  summary: 'shared experts with a gate per task: expert count and width, towers, training',
  byDefault: (spec) => spec.tasks.length >= TUNE_DEFAULTS.mmoeMinTasks,
  sample: (random, ctx) => ({
    planOptions: {
      strategy: 'mmoe',
      ...sampleLayers(random, ctx, EXPERT_TRUNKS),
      mmoe: { experts: pick(random, EXPERTS) },
    },
    fitOptions: sampleTraining(random),
  }),
});
