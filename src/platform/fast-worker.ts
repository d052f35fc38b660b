/**
 * The worker thread of a two-thread fast step (see ./fast-peer.ts): runs the step's engine on its
 * own backend for the rows the main thread gives it, until told to quit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { DenseEngine } from '../train/dense-engine.js';
import {
  DONE,
  MAIN_ASLEEP,
  QUIT,
  REQUEST,
  SIZE,
  START,
  WORKER_ASLEEP,
  announce,
  awaitChange,
  type PeerData,
} from './fast-peer.js';

const data = workerData as PeerData;
await initBackend({ backend: data.backend as 'wasm' | 'cpu' });
const engine = new DenseEngine(data.spec);
const control = new Int32Array(data.control);
const x = new Float32Array(data.x);
const y = new Float32Array(data.y);
const mask = new Float32Array(data.mask);
const perm = new Int32Array(data.perm);
const params = new Float32Array(data.params);
const grads = new Float32Array(data.grads);
const dens = new Float64Array(data.dens);
const nums = new Float64Array(data.nums);
const mine = new Float64Array(nums.length);
parentPort!.postMessage('ready');
let seen = 0;
for (;;) {
  seen = awaitChange(control, REQUEST, seen, WORKER_ASLEEP);
  if (Atomics.load(control, QUIT) === 1) break;
  engine.params().set(params);
  engine.gather(x, y, mask, perm, control[START]!, control[SIZE]!);
  engine.forwardBackward(dens, mine);
  grads.set(engine.grads());
  nums.set(mine);
  announce(control, DONE, seen, MAIN_ASLEEP);
}
engine.dispose();
parentPort!.close();
