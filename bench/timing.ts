/** Timing helpers shared by the benchmarks. */
import * as tf from '@tensorflow/tfjs';

/** The median (the mean of the two middle values for an even count). */
export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** CPU time of this process so far, ms. */
export function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Weights put back before every run, so each run starts from the same point. */
export function initialWeights(model: tf.LayersModel): () => void {
  const saved = model.getWeights().map((w) => tf.keep(w.clone()));
  return () => model.setWeights(saved);
}
