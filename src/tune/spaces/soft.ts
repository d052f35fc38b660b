import { logUniform, registerSearchSpace, sampleLayers, sampleTraining } from '../space.js';

/** Soft's strength is searched on a log scale in this range (the bundled data sets' best lie in 0.01..3). */
export const SOFT_STRENGTH_RANGE = Object.freeze({ min: 1e-3, max: 10 });
/** Tower widths of soft (each task's tower copies the trunk; [] = per-task linear models pulled together). */
const SOFT_TRUNKS: readonly (readonly number[])[] = [[], [8], [16], [32]];

/** `soft`: one tower per task, pulled together by the graph's Laplacian penalty. */
export const softSpace = registerSearchSpace({
  name: 'soft',
  summary: 'per-task towers tied by the Laplacian penalty: strength (log scale), widths, training',
  sample: (random, ctx) => ({
    planOptions: {
      strategy: 'soft',
      ...sampleLayers(random, ctx, SOFT_TRUNKS, [[]]),
      soft: { strength: logUniform(random, SOFT_STRENGTH_RANGE.min, SOFT_STRENGTH_RANGE.max) },
    },
    fitOptions: sampleTraining(random),
  }),
});
