/**
 * The worker thread of a two-thread fast step (see ./fast-peer.ts): runs the step's engine on its
 * own backend, every step of each epoch, on the second half of each batch, until told to quit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { DenseEngine, halves, labelCounts } from '../train/dense-engine.js';
import {
  BATCH,
  BETA1,
  BETA2,
  DECAY,
  EPOCH,
  EPSILON,
  ITERATION,
  MAIN_ASLEEP,
  MAIN_STEP,
  QUIT,
  RATE,
  ROWS,
  WORKER_ASLEEP,
  WORKER_STEP,
  announce,
  awaitChange,
  type PeerData,
} from './fast-peer.js';

const data = workerData as PeerData;
await initBackend({ backend: data.backend as 'wasm' | 'cpu' });
const spec = data.spec;
const engine = new DenseEngine(spec);
const control = new Int32Array(data.control);
const settings = new Float64Array(data.settings);
const x = new Float32Array(data.x);
const y = new Float32Array(data.y);
const mask = new Float32Array(data.mask);
const perm = new Int32Array(data.perm);
const state = new Float32Array(data.state);
const mainGrads = data.mainGrads.map((b) => new Float32Array(b));
const workerGrads = data.workerGrads.map((b) => new Float32Array(b));
const nums = data.nums.map((b) => new Float64Array(b));
const total = engine.total;
const dens = new Float64Array(spec.tasks.length);
const mine = new Float64Array(spec.tasks.length);
parentPort!.postMessage('ready');
let epochs = 0;
let step = 0;
for (;;) {
  epochs = awaitChange(control, EPOCH, epochs, WORKER_ASLEEP);
  if (Atomics.load(control, QUIT) === 1) break;
  const n = control[ROWS]!;
  const batchSize = control[BATCH]!;
  let iteration = control[ITERATION]!;
  engine.params().set(state.subarray(0, total));
  const { m, v } = engine.moments();
  m.set(state.subarray(total, 2 * total));
  v.set(state.subarray(2 * total, 3 * total));
  const adam = {
    learningRate: 0,
    beta1: settings[BETA1]!,
    beta2: settings[BETA2]!,
    epsilon: settings[EPSILON]!,
  };
  const decay = settings[DECAY]!;
  let quit = false;
  for (let start = 0; start < n && !quit; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const half = halves(size);
    labelCounts(spec, mask, perm, start, size, dens);
    engine.gather(x, y, mask, perm, start + half.main, half.worker);
    engine.forwardBackward(dens, mine);
    const parity = step % 2;
    workerGrads[parity]!.set(engine.grads());
    nums[parity]!.set(mine);
    step++;
    announce(control, WORKER_STEP, step, MAIN_ASLEEP);
    let theirs = Atomics.load(control, MAIN_STEP);
    while (theirs < step) {
      theirs = awaitChange(control, MAIN_STEP, theirs, WORKER_ASLEEP);
    }
    quit = Atomics.load(control, QUIT) === 1;
    if (quit) break;
    engine.addGradients(mainGrads[parity]!);
    adam.learningRate = settings[RATE + parity]!;
    iteration++;
    engine.adam(iteration, adam, decay);
  }
  if (quit) break;
}
engine.dispose();
parentPort!.close();
