import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Activation, compile, predict } from '../../src/index.js';
import type { MtgraphModel } from '../../src/network/types.js';
import { scrambleWeights, smallGraph } from '../network/helpers.js';

export const run = promisify(execFile);

/** Activations of the fixture's layers, one per strategy (each format maps every one). */
const ACTIVATIONS: Activation[] = [
  'relu',
  'elu',
  'selu',
  'tanh',
  'swish',
  'mish',
  'softplus',
  'relu6',
  'softsign',
];

/** One export test case: a strategy, whether tasks have towers, the layers' activation. */
export interface ExportCase {
  strategy: string;
  towers: boolean;
  activation: Activation;
}

/**
 * The cases every format is tested on: each strategy with towers, and the strategies whose heads
 * read a shared block without them (fused heads: one MultiHead, scaled columns), each with its own
 * activation.
 */
export function exportCases(): ExportCase[] {
  const fused = ['hard', 'clustered', 'tree', 'auto'];
  return [
    ...ALL_STRATEGIES.map((strategy, i) => ({
      strategy,
      towers: true,
      activation: ACTIVATIONS[i]!,
    })),
    ...fused.map((strategy, i) => ({
      strategy,
      towers: false,
      activation: ACTIVATIONS[(i + 4) % ACTIVATIONS.length]!,
    })),
  ];
}

/** A case's name in test output and folder names. */
export const caseName = (c: ExportCase) =>
  `${c.strategy}${c.towers ? '' : '-fused'}-${c.activation}`;

/** Every strategy of src/plan/strategies (auto picks one of the others). */
export const ALL_STRATEGIES = [
  'single',
  'hard',
  'clustered',
  'tree',
  'soft',
  'cross-stitch',
  'mmoe',
  'ple',
  'auto',
] as const;

export const FEATURES = 5;

/**
 * The small four-kind graph (binary, multiclass with an id tfjs cannot name a layer, regression,
 * multilabel) compiled for a case, dropout and batch norm in the trunk, the regression head
 * scaled (targetScale), weights scrambled so nothing is at its initial value. Without towers,
 * heads that read one block are fused into one MultiHead layer.
 */
export function exportFixture(
  c: ExportCase = { strategy: 'hard', towers: true, activation: 'relu' },
  seed = 3,
): MtgraphModel {
  const model = compile(smallGraph(), {
    strategy: c.strategy,
    seed,
    trunk: { units: [8, 6], dropout: 0.2, batchNorm: true, activation: c.activation },
    tower: { units: c.towers ? [4] : [], dropout: 0.1, activation: c.activation },
    targetScale: { spend: { mean: 40, std: 12 } },
    mmoe: { experts: 3 },
  });
  scrambleWeights(model.model, seed);
  // Moving statistics away from 0 / 1 as well (scrambleWeights covers every weight), centred weights.
  const centred = model.model.getWeights().map((w) => tf.tidy(() => w.sub(0.5)));
  model.model.setWeights(centred);
  tf.dispose(centred);
  for (const l of model.model.layers) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const [g, b, m, v] = l.getWeights();
    const fixed = [g!, b!, m!, tf.tidy(() => v!.abs().add(0.5))];
    l.setWeights(fixed);
    fixed[3]!.dispose();
  }
  return model;
}

/** Seeded inputs, rows x FEATURES, as nested arrays. */
export function inputRows(rows: number, seed = 11): number[][] {
  let s = seed;
  const next = () => {
    s = (s * 1664525 + 1013904223) % 4294967296;
    return (s / 4294967296) * 4 - 2;
  };
  return Array.from({ length: rows }, () => Array.from({ length: FEATURES }, next));
}

/** mtgraph's predictions per task as flat arrays. */
export function mtgraphPredictions(model: MtgraphModel, x: number[][]): Record<string, number[]> {
  const out = predict(model, x);
  const values: Record<string, number[]> = {};
  for (const [task, t] of Object.entries(out)) {
    values[task] = Array.from(t.dataSync());
    t.dispose();
  }
  return values;
}

/** Largest absolute difference between two flat arrays of one length (Infinity when lengths differ). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Number.POSITIVE_INFINITY : m;
}

/** Writes export files into `dir`. */
export async function writeFiles(
  dir: string,
  files: ReadonlyArray<readonly [string, string | Uint8Array]>,
): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, content] of files) await fs.writeFile(path.join(dir, name), content);
}

/** The file URL of plain @tensorflow/tfjs, for a script that runs outside the project. */
export function tfjsUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(require.resolve('@tensorflow/tfjs')).href;
}
