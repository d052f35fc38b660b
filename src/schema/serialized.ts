import { z } from 'zod';
import { TaskAttributesSchema } from './kinds/index.js';
import { AffinityAttributesSchema } from './affinity.js';
import { GraphAttributesSchema } from './graph-attributes.js';

/**
 * graphology's serialized format (`graph.export()`), restricted to task graphs: undirected,
 * simple, no self-loops. This schema is the source of `graph.schema.json`.
 */
export const SerializedGraphSchema = z
  .strictObject({
    $schema: z
      .string()
      .optional()
      .meta({ description: 'Path or URL of graph.schema.json, for editors.' }),
    options: z
      .strictObject({
        type: z.literal('undirected').optional(),
        multi: z.literal(false).optional(),
        allowSelfLoops: z.boolean().optional(),
      })
      .optional(),
    attributes: GraphAttributesSchema.optional(),
    nodes: z.array(
      z.strictObject({
        key: z.string().min(1).meta({ description: 'The task id.' }),
        attributes: TaskAttributesSchema,
      }),
    ),
    edges: z
      .array(
        z.strictObject({
          key: z.string().optional(),
          source: z.string(),
          target: z.string(),
          attributes: AffinityAttributesSchema.optional(),
          undirected: z.literal(true).optional(),
        }),
      )
      .optional(),
  })
  .meta({
    title: 'mtgraph task graph',
    description:
      "A graphology serialized graph whose nodes are tasks and whose edges are affinities (see mtgraph's README).",
  });
export type SerializedTaskGraph = z.input<typeof SerializedGraphSchema>;
