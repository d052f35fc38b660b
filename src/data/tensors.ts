import * as tf from '@tensorflow/tfjs';
import type { PreparedData } from './types.js';

/** Prepared data on the device: features, and every task's label columns packed side by side with their mask. */
export interface DataTensors {
  rows: number;
  x: tf.Tensor2D;
  /** [rows, sum of label widths], tasks in the packing order. */
  y: tf.Tensor2D;
  /** Same shape as `y`: 1 where labelled. */
  mask: tf.Tensor2D;
}

/** Packs the tasks' label columns in `order` (task ids) into one host matrix, and the masks likewise. */
export function packColumns(
  data: PreparedData,
  order: readonly string[],
): { y: Float32Array; mask: Float32Array; width: number } {
  const byId = new Map(data.tasks.map((t) => [t.id, t]));
  const tasks = order.map((id) => byId.get(id)!);
  const width = tasks.reduce((s, t) => s + t.width, 0);
  const y = new Float32Array(data.rows * width);
  const mask = new Float32Array(data.rows * width);
  let offset = 0;
  for (const t of tasks) {
    const w = t.width;
    for (let i = 0; i < data.rows; i++) {
      const to = i * width + offset;
      for (let j = 0; j < w; j++) {
        y[to + j] = t.labels[i * w + j]!;
        mask[to + j] = t.mask[i * w + j]!;
      }
    }
    offset += w;
  }
  return { y, mask, width };
}

/** Creates the tensors once for a whole run; the caller disposes them with `disposeData`. */
export function toTensors(data: PreparedData, order: readonly string[]): DataTensors {
  const packed = packColumns(data, order);
  return {
    rows: data.rows,
    x: tf.tensor2d(data.x, [data.rows, data.features], 'float32'),
    y: tf.tensor2d(packed.y, [data.rows, packed.width], 'float32'),
    mask: tf.tensor2d(packed.mask, [data.rows, packed.width], 'float32'),
  };
}

export function disposeData(data: DataTensors | undefined): void {
  if (!data) return;
  tf.dispose([data.x, data.y, data.mask]);
}
