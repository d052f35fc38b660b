import { seededRandom } from '../graph/random.js';
import type { FlatMatrix, PreparedData, TaskData } from './types.js';

/** The rows of each part of a per-task hold-out, in increasing order. */
export interface HoldOut {
  train: number[];
  valid: number[];
}

/**
 * Holds out about `fraction` of each task's labelled rows for validation, seeded: a task with
 * n >= 2 labelled rows gives max(1, round(fraction * n)) of them, and keeps at least one for
 * training; a task with one labelled row keeps it. A row goes whole to one part: in the shuffled
 * order a row is held out when one of its tasks still needs validation rows and none of its tasks
 * would be left without a training row. In long format (one task per row) every task gets its own
 * share; with the same rows labelled for every task it is a plain random split.
 * With `shuffle: false` the rows are taken from the end instead (each task's last labelled rows,
 * as Keras's validation_split takes the last rows), and the seed is not used.
 */
export function holdOutPerTask(
  data: PreparedData,
  fraction: number,
  seed: number,
  shuffle = true,
): HoldOut {
  const n = data.rows;
  const tasks = data.tasks.filter((t) => !t.excluded);
  const labelledRows = tasks.map((t) => {
    const rows: boolean[] = new Array(n).fill(false);
    for (let r = 0; r < n; r++)
      for (let j = 0; j < t.width; j++)
        if (t.mask[r * t.width + j]! > 0) {
          rows[r] = true;
          break;
        }
    return rows;
  });
  const need = tasks.map((t) =>
    t.labelled >= 2 ? Math.min(t.labelled - 1, Math.max(1, Math.round(fraction * t.labelled))) : 0,
  );
  const trainLeft = tasks.map((t) => t.labelled);
  const order = Array.from({ length: n }, (_, i) => (shuffle ? i : n - 1 - i));
  const random = seededRandom(seed ^ 0x401d);
  for (let i = n - 1; shuffle && i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const held = new Uint8Array(n);
  for (const r of order) {
    let wanted = false;
    let allowed = true;
    for (let t = 0; t < tasks.length; t++) {
      if (!labelledRows[t]![r]) continue;
      if (need[t]! > 0) wanted = true;
      if (trainLeft[t]! <= 1) allowed = false;
    }
    if (!wanted || !allowed) continue;
    held[r] = 1;
    for (let t = 0; t < tasks.length; t++) {
      if (!labelledRows[t]![r]) continue;
      need[t] = Math.max(0, need[t]! - 1);
      trainLeft[t]!--;
    }
  }
  const train: number[] = [];
  const valid: number[] = [];
  for (let r = 0; r < n; r++) (held[r] ? valid : train).push(r);
  return { train, valid };
}

/** Prepared data back in `fit`'s input form (flat features, labels and masks; no copy). */
export function toTaskData(data: PreparedData): TaskData & {
  mask: Record<string, FlatMatrix>;
} {
  const y: Record<string, { values: Float32Array; shape: [number, number] }> = {};
  const mask: Record<string, { values: Float32Array; shape: [number, number] }> = {};
  for (const t of data.tasks) {
    y[t.id] = { values: t.labels, shape: [data.rows, t.width] };
    mask[t.id] = { values: t.mask, shape: [data.rows, t.width] };
  }
  return { x: { values: data.x, shape: [data.rows, data.features] }, y, mask };
}
