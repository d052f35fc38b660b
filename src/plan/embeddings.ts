import { GraphSpecError, OptionsError } from '../errors.js';
import type { EmbedSpec, InputSpec } from '../schema/graph-attributes.js';
import type { ResolvedPlanOptions } from './options.js';
import type { EmbeddingPlan } from './types.js';

const SCOPE = 'mtgraph/plan';

function listed(names: readonly string[]): string {
  return `${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}`;
}

/**
 * The embedded columns of a plan: each `input.embed` column's index among the input columns, its
 * table size (buckets, or 1 + the fitted vocabulary, or `{ ids }` rows) and how its values become
 * ids. Undefined when nothing is embedded.
 */
export function planEmbeddings(
  input: InputSpec,
  embed: Record<string, EmbedSpec> | undefined,
  vocabularies: ResolvedPlanOptions['vocabularies'],
): EmbeddingPlan[] | undefined {
  const given = Object.keys(vocabularies);
  if (!embed) {
    if (given.length > 0)
      throw new OptionsError(
        `${SCOPE}: options.vocabularies names ${JSON.stringify(given[0])}, but the graph embeds no column (got vocabularies for ${listed(given)}; expected input.embed) → at options.vocabularies. Embed the column (input: { embed: { ${given[0]}: 8 } }) or drop vocabularies.`,
        { path: 'options.vocabularies', got: given },
      );
    return undefined;
  }
  const columns = input.columns;
  if (!columns)
    throw new GraphSpecError(
      `${SCOPE}: input.embed needs named input columns (got ${input.features} unnamed feature(s)) → at graph.input.embed. Name the input columns (input: { columns: [...], embed: {...} }), as the CLI does from the CSV header.`,
      { path: 'graph.input.embed', got: Object.keys(embed) },
    );
  for (const name of given)
    if (!(name in embed))
      throw new OptionsError(
        `${SCOPE}: options.vocabularies names ${JSON.stringify(name)}, which is no embedded column (expected one of ${listed(Object.keys(embed))}) → at options.vocabularies.${name}. Remove it, or embed the column.`,
        { path: `options.vocabularies.${name}`, got: name },
      );
  const out: EmbeddingPlan[] = [];
  for (const [column, spec] of Object.entries(embed)) {
    const index = columns.indexOf(column);
    const path = `graph.input.embed.${column}`;
    if (index < 0)
      throw new GraphSpecError(
        `${SCOPE}: embedded column ${JSON.stringify(column)} is not one of the input columns (got ${JSON.stringify(column)}; expected one of ${listed(columns)}) → at ${path}. Add it to the input columns, or remove it from embed.`,
        { path, got: column },
      );
    const vocabulary = vocabularies[column];
    const where = `options.vocabularies.${column}`;
    const base = { column, index, dim: spec.dim };
    if (vocabulary !== undefined && !Array.isArray(vocabulary)) {
      if (spec.buckets !== undefined && vocabulary.ids !== spec.buckets)
        throw new OptionsError(
          `${SCOPE}: ${where} says the data holds ids of ${vocabulary.ids} rows, but the column hashes into ${spec.buckets} buckets (expected ids: ${spec.buckets}) → at ${where}. Encode the data with the graph it was fitted for.`,
          { path: where, got: vocabulary },
        );
      out.push({
        ...base,
        rows: vocabulary.ids,
        lookup: 'ids',
        ...(spec.buckets !== undefined ? { buckets: spec.buckets } : { minCount: spec.minCount }),
      });
      continue;
    }
    if (spec.buckets !== undefined) {
      if (vocabulary !== undefined)
        throw new OptionsError(
          `${SCOPE}: ${where} gives a vocabulary for a hashed column (got ${vocabulary.length} value(s); expected none: buckets ${spec.buckets}) → at ${where}. Drop the vocabulary, or drop buckets from input.embed.${column}.`,
          { path: where, got: vocabulary.length },
        );
      out.push({ ...base, rows: spec.buckets, lookup: 'hash', buckets: spec.buckets });
      continue;
    }
    if (vocabulary === undefined)
      throw new OptionsError(
        `${SCOPE}: embedded column ${JSON.stringify(column)} has no fitted vocabulary (expected options.vocabularies.${column}) → at ${where}. Fit it from the training data (vocabularies: fitVocabularies(graph, train)), read the data with readCsv (vocabularies: csv.vocabularies; the CLI: --data file.csv), or hash the column (embed: { ${column}: { dim: ${spec.dim}, buckets: 1000 } }).`,
        { path: where },
      );
    const seen = new Set<string>();
    for (const v of vocabulary) {
      if (seen.has(v))
        throw new OptionsError(
          `${SCOPE}: ${where} lists ${JSON.stringify(v)} twice (expected each value once) → at ${where}. Fit it with fitVocabularies.`,
          { path: where, got: v },
        );
      seen.add(v);
    }
    out.push({
      ...base,
      rows: vocabulary.length + 1,
      lookup: 'vocabulary',
      vocabulary: [...vocabulary],
      minCount: spec.minCount,
    });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Width of the shared representation's input: the numeric columns plus every embedding's dim. */
export function embeddedWidth(features: number, embeddings: readonly EmbeddingPlan[] = []): number {
  return features - embeddings.length + embeddings.reduce((s, e) => s + e.dim, 0);
}

/** Parameters of each embedding table (rows × dim). */
export function embeddingParams(embeddings: readonly EmbeddingPlan[] = []): Record<string, number> {
  return Object.fromEntries(embeddings.map((e) => [e.column, e.rows * e.dim]));
}
