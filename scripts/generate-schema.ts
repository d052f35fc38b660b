/**
 * Writes graph.schema.json (the JSON Schema of graphs/*.json) from the zod schema of a
 * serialized task graph. Run with `npm run schema`; test/graphs checks the file is up to date.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SerializedGraphSchema } from '../src/schema/serialized.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const schemaFile = path.join(repoRoot, 'graph.schema.json');

/** Where the published file can be fetched (the package exports ./graph.schema.json). */
export const SCHEMA_ID = 'https://unpkg.com/mtgraph/graph.schema.json';

/** The JSON Schema (draft 2020-12) of a graph file, as an object with `$schema`, `$id` and `title` first. */
export function graphJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(SerializedGraphSchema, {
    io: 'input',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  const { $schema, title, description, ...rest } = generated;
  return {
    $schema,
    $id: SCHEMA_ID,
    title: title ?? 'mtgraph task graph',
    description,
    ...rest,
  };
}

/** The exact text of graph.schema.json: pretty-printed, with a trailing newline. */
export function graphSchemaText(): string {
  return `${JSON.stringify(graphJsonSchema(), null, 2)}\n`;
}

async function main(): Promise<void> {
  await writeFile(schemaFile, graphSchemaText());
  process.stdout.write(`wrote ${path.relative(process.cwd(), schemaFile) || schemaFile}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `generate-schema: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
