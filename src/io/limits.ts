/** Size limits that every way of loading a model or graph applies (files, IndexedDB, memory, http). */

/** JSON files (graph.json, model.json, plan.json, metadata.json, checkpoint.json) larger than this are refused before they are read (64 MiB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** Weight files larger than this are refused before they are read (2 GiB). */
export const MAX_WEIGHT_BYTES = 2 * 1024 * 1024 * 1024;
