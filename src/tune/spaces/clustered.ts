import { registerSearchSpace, pick, sampleLayers, sampleTraining } from '../space.js';

/** Louvain resolutions searched: above 1 gives more, smaller groups. */
const RESOLUTIONS = [0.5, 1, 1, 2];

/** `clustered`: one shared block per group of the declared graph (Louvain), then heads. */
export const clusteredSpace = registerSearchSpace({
  name: 'clustered',
  summary: "a shared block per group of the graph's tasks: Louvain resolution, widths, training",
  sample: (random, ctx) => ({
    planOptions: {
      strategy: 'clustered',
      ...sampleLayers(random, ctx),
      clustered: { method: 'louvain', resolution: pick(random, RESOLUTIONS) },
    },
    fitOptions: sampleTraining(random),
  }),
});
