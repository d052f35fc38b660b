import { z } from 'zod';
import { displayShape, says } from './common.js';
import { unknownKeyError } from './kinds/define.js';

export const SHARING_MODES = ['auto', 'hard', 'soft', 'none'] as const;
export type SharingMode = (typeof SHARING_MODES)[number];

const weightFix =
  'Use a weight in [-1, 1]: positive for related tasks, negative for conflicting ones.';
const shape = {
  weight: z
    .number({ error: says('affinity weight must be a finite number', weightFix) })
    .min(-1, { error: says('affinity weight must be in [-1, 1]', weightFix) })
    .max(1, { error: says('affinity weight must be in [-1, 1]', weightFix) })
    .optional()
    .meta({
      description:
        'In [-1, 1]: positive = related (share), negative = conflicting (keep apart). Default 1.',
    }),
  sharing: z
    .enum(SHARING_MODES, {
      error: says('unknown sharing mode', `Use one of: ${SHARING_MODES.join(', ')}.`),
    })
    .optional()
    .meta({
      description:
        "How this pair shares: 'auto' (the strategy decides, default), 'hard' (same block), 'soft' (coupled, not shared), 'none' (never share).",
    }),
  source: z.string().optional().meta({
    description: "Where the weight comes from, e.g. 'declared', 'label-correlation', 'lookahead'.",
  }),
  ...displayShape,
};

/** Edge attributes: how strongly two tasks are related. */
export const AffinityAttributesSchema = z
  .strictObject(shape, { error: unknownKeyError('affinity', Object.keys(shape)) })
  .meta({ title: 'Affinity', description: 'An undirected relation between two tasks.' });
export type AffinityAttributes = z.infer<typeof AffinityAttributesSchema>;
