/**
 * Embedded columns' ids: a fitted vocabulary (values seen at least `minCount` times get ids 1..V,
 * everything else the out-of-vocabulary id 0) or a stable hash modulo `buckets` (an open
 * vocabulary). The same functions fit and apply them for in-memory data (the plan holds the
 * vocabulary, so it is saved with the model) and for CSV files (the preprocessing holds it).
 */
import { GraphSpecError, OptionsError, show } from '../errors.js';
import type { EmbedSpec } from '../schema/graph-attributes.js';
import { readGraph } from '../schema/validate.js';
import type { Plan } from '../plan/types.js';
import { readFeatures, type Features } from './features.js';
import { compareCategories } from './preprocess-cells.js';

/**
 * FNV-1a (32 bit) of a text's UTF-8 bytes: stable across runs, platforms and languages (the
 * exported models' docs give the same function in Python).
 */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The hash bucket of a value's text. */
export function hashBucket(text: string, buckets: number): number {
  return stableHash(text) % buckets;
}

/** The text of a numeric feature value, as vocabularies and hashing read it (`String(v)`: 3, 3.5, -1). */
export function valueText(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

/**
 * A vocabulary from value counts: the values seen at least `minCount` times, in category order
 * (numbers by value, then text), so that id 1 + position is deterministic.
 */
export function vocabularyOf(counts: ReadonlyMap<string, number>, minCount: number): string[] {
  return [...counts]
    .filter(([, n]) => n >= minCount)
    .map(([v]) => v)
    .sort(compareCategories);
}

/** Lookup of one embedded column: value text -> id (vocabulary: 1 + position, 0 when absent; hash: bucket). */
export function idLookup(e: {
  vocabulary?: readonly string[];
  buckets?: number;
}): (text: string) => number {
  if (e.vocabulary) {
    const index = new Map(e.vocabulary.map((v, i) => [v, i + 1]));
    return (text) => index.get(text) ?? 0;
  }
  const buckets = e.buckets!;
  return (text) => hashBucket(text, buckets);
}

/**
 * Replaces, in place, each embedded column's values by ids as the plan says: vocabulary lookup
 * (unseen values: id 0), hash bucket, or ids kept (anything that is no whole number in [0, rows)
 * reads row 0). Returns how many values fell to row 0 per column (unseen values).
 */
export function encodeEmbedded(plan: Plan, features: Features): Record<string, number> {
  const unseen: Record<string, number> = {};
  for (const e of plan.embeddings ?? []) {
    const { values, rows, features: width } = features;
    let zero = 0;
    if (e.lookup === 'ids') {
      for (let r = 0; r < rows; r++) {
        const k = r * width + e.index;
        const v = values[k]!;
        if (!(Number.isInteger(v) && v >= 0 && v < e.rows)) {
          values[k] = 0;
          zero++;
        }
      }
    } else {
      const lookup = idLookup(e);
      for (let r = 0; r < rows; r++) {
        const k = r * width + e.index;
        const id = lookup(valueText(values[k]!));
        if (id === 0 && e.lookup === 'vocabulary') zero++;
        values[k] = id;
      }
    }
    unseen[e.column] = zero;
  }
  return unseen;
}

export interface FitVocabulariesOptions {
  /** Count values in these rows only (default: all), e.g. the training rows. */
  rows?: ArrayLike<number>;
}

/**
 * The vocabulary of every embedded column of a graph that does not hash (`input.embed` without
 * `buckets`), fitted from in-memory features: per column, the values (as text, `String(v)`) seen
 * at least `minCount` times, in value order. Pass it to `plan` / `compile` as
 * `options.vocabularies`; the plan keeps it, so the saved model maps new values the same way
 * (unseen ones to the out-of-vocabulary row 0). `data` is `{ x }` or x itself.
 *
 *   const model = compile(graph, { strategy: 'hard', vocabularies: fitVocabularies(graph, train) });
 */
export function fitVocabularies(
  graph: unknown,
  data: unknown,
  options: FitVocabulariesOptions = {},
): Record<string, string[]> {
  const scope = 'mtgraph/fitVocabularies';
  const spec = readGraph(graph);
  const embed: Record<string, EmbedSpec> = spec.input?.embed ?? {};
  const columns = spec.input?.columns;
  if (Object.keys(embed).length === 0)
    throw new GraphSpecError(
      `${scope}: the graph embeds no column (expected input.embed) → at graph.input.embed. Embed a column (input: { columns: [...], embed: { city: 8 } }).`,
      { path: 'graph.input.embed' },
    );
  if (!columns)
    throw new GraphSpecError(
      `${scope}: input.embed needs named input columns (got none) → at graph.input.columns. Name the columns (input: { columns: [...], embed: {...} }), or read a CSV with readCsv, which fits vocabularies itself.`,
      { path: 'graph.input.columns' },
    );
  const x =
    typeof data === 'object' && data !== null && !Array.isArray(data) && 'x' in data
      ? (data as { x: unknown }).x
      : data;
  const features = readFeatures(x, columns.length, { scope, prefix: '' });
  const rows = options.rows
    ? Array.from(options.rows)
    : Array.from({ length: features.rows }, (_, i) => i);
  for (const r of rows)
    if (!(Number.isInteger(r) && r >= 0 && r < features.rows))
      throw new OptionsError(
        `${scope}: options.rows holds ${show(r)}, not a row of x (expected 0..${features.rows - 1}) → at options.rows. Pass row indices of x.`,
        { path: 'options.rows', got: r },
      );
  const out: Record<string, string[]> = {};
  for (const [column, e] of Object.entries(embed)) {
    if (e.buckets !== undefined) continue;
    const j = columns.indexOf(column);
    const counts = new Map<string, number>();
    for (const r of rows) {
      const text = valueText(features.values[r * features.features + j]!);
      counts.set(text, (counts.get(text) ?? 0) + 1);
    }
    out[column] = vocabularyOf(counts, e.minCount);
  }
  return out;
}
