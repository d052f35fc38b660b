import type { History } from '../../src/index.js';

/** A made-up History (no training needed): falling losses, moving weights, a penalty. */
export function fakeHistory(tasks: string[], epochs = 20): History {
  const curve = (k: number, scale = 1) =>
    Array.from({ length: epochs }, (_, e) => scale / (1 + 0.25 * e * (1 + k / 5)) + 0.05 * k);
  return {
    epochs,
    loss: curve(2, 4),
    valLoss: curve(3, 4.4),
    taskLoss: Object.fromEntries(tasks.map((t, i) => [t, curve(i)])),
    valTaskLoss: Object.fromEntries(
      tasks.map((t, i) => [t, curve(i, 1.2).map((v, e) => (e === 3 ? NaN : v))]),
    ),
    weights: Object.fromEntries(
      tasks.map((t, i) => [
        t,
        Array.from({ length: epochs }, (_, e) => 1 + 0.3 * Math.sin(e / 3 + i)),
      ]),
    ),
    penalty: Array.from({ length: epochs }, (_, e) => 0.1 / (1 + e)),
    stoppedEarly: false,
    notes: [],
    seed: 1,
    trainRows: 120,
    valRows: 30,
    timing: {
      prepareMs: 2,
      epochMs: Array.from({ length: epochs }, () => 10),
      totalMs: 10 * epochs,
      samplesPerSecond: 1000,
    },
  };
}

/** A symmetric affinity matrix with a unit diagonal, some negative entries and one unknown (null). */
export function fakeAffinity(tasks: string[]): {
  tasks: string[];
  matrix: Array<Array<number | null>>;
} {
  const matrix: Array<Array<number | null>> = tasks.map((_, i) =>
    tasks.map((_, j) => (i === j ? 1 : Math.round(Math.cos(i + j) * 80) / 100)),
  );
  if (tasks.length > 2) {
    matrix[0]![2] = null;
    matrix[2]![0] = null;
  }
  return { tasks, matrix };
}
