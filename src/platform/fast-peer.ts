/**
 * The worker thread of a two-thread fast step (src/train/fast-step.ts), Node only: started once per
 * training run, it holds a copy of the step's engine on its own wasm heap and runs every step of
 * an epoch alongside the main thread on the other half of each batch. The data (features, labels,
 * masks, the epoch's row order) and the exchange buffers are SharedArrayBuffers, and nothing is
 * posted per step: at the start of an epoch the main thread writes the parameters and Adam's
 * moments once; then per step each thread computes the gradient of its half, writes it to its own
 * exchange buffer (two per thread, by the step's parity) and bumps its step counter, waits for the
 * other's, adds the other's gradient to its own (a + b and b + a are the same float) and runs the
 * same Adam update on its own copy of the parameters: one hand-over a step, no parameters sent,
 * and Adam on both threads at once. The main thread also sends each step's learning rate.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineSpec } from '../train/dense-engine.js';
import type { FastPeer } from '../train/fast-step.js';

/**
 * Control words: the main thread's and the worker's steps done (counted over the run), the epochs
 * started, quit, each side asleep, and the epoch's rows, batch size and first Adam iteration.
 */
const MAIN_STEP = 0;
const WORKER_STEP = 1;
const EPOCH = 2;
const QUIT = 3;
const WORKER_ASLEEP = 4;
const MAIN_ASLEEP = 5;
const ROWS = 6;
const BATCH = 7;
const ITERATION = 8;
const CONTROL_WORDS = 9;
/** Float64 settings: Adam's beta1, beta2, epsilon, the decay, then a learning rate per parity. */
const BETA1 = 0;
const BETA2 = 1;
const EPSILON = 2;
const DECAY = 3;
const RATE = 4;
const SETTINGS = 6;

/**
 * How long a thread spins on a control word before it sleeps (Atomics.wait), ms. Within a run of
 * steps the other side answers in about the main thread's serial part of a step (the gradient sum
 * and Adam, ~0.1 ms for the 64 -> 256 -> 128 network) or the difference between the halves, and a
 * sleeping thread costs a wake-up each way (a futex, and in a VM the idle virtual core's); the main
 * thread's Atomics.notify to a sleeping worker took about 1.5 ms (measured on the 2-core machine
 * with one core busy, where the woken thread competes for the notifier's core). On a loaded machine
 * a spinning thread takes CPU from the one it waits for, hence a short spin; between epochs a
 * thread sleeps after it.
 */
const SPIN_MS = 0.5;

/**
 * Waits until `control[index]` differs from `seen` (spinning first, then asleep, with
 * `control[asleep]` set while asleep so that the other side knows to notify); returns it.
 */
export function awaitChange(
  control: Int32Array,
  index: number,
  seen: number,
  asleep: number,
): number {
  const until = performance.now() + SPIN_MS;
  for (let k = 1; ; k++) {
    const now = Atomics.load(control, index);
    if (now !== seen) return now;
    if ((k & 63) !== 0 || performance.now() < until) continue;
    Atomics.store(control, asleep, 1);
    Atomics.wait(control, index, seen);
    Atomics.store(control, asleep, 0);
  }
}

/** Sets `control[index]` and wakes the other side when it is asleep on it. */
export function announce(control: Int32Array, index: number, value: number, asleep: number): void {
  Atomics.store(control, index, value);
  if (Atomics.load(control, asleep) !== 0) Atomics.notify(control, index);
}

/** What the worker receives (all buffers shared). */
export interface PeerData {
  spec: EngineSpec;
  backend: string;
  control: SharedArrayBuffer;
  settings: SharedArrayBuffer;
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  mask: SharedArrayBuffer;
  perm: SharedArrayBuffer;
  /** Parameters, then Adam's m and v (written at the start of each epoch). */
  state: SharedArrayBuffer;
  /** Per parity, the main thread's gradients; then the worker's. */
  mainGrads: SharedArrayBuffer[];
  workerGrads: SharedArrayBuffer[];
  /** Per parity, the worker's loss sums. */
  nums: SharedArrayBuffer[];
}

function sharedCopy(values: Float32Array): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(values.byteLength);
  new Float32Array(buffer).set(values);
  return buffer;
}

/**
 * The worker: the compiled fast-worker.js next to this file, or, running from the TypeScript
 * sources (tsx, vitest), fast-worker.ts loaded through tsx's loader (a worker does not inherit it).
 */
function startWorker(data: PeerData): Worker {
  const js = new URL('./fast-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData: data });
  const ts = new URL('./fast-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}

/** Starts the worker; resolves once its engine is ready (rejects when it cannot start). */
export function startFastPeer(
  spec: EngineSpec,
  backend: string,
  x: Float32Array,
  y: Float32Array,
  mask: Float32Array,
): Promise<FastPeer> {
  const T = spec.tasks.length;
  const total = spec.sizes.reduce((a, b) => a + b, 0);
  const rows = x.length / spec.features;
  const pair = (bytes: number) => [new SharedArrayBuffer(bytes), new SharedArrayBuffer(bytes)];
  const data: PeerData = {
    spec,
    backend,
    control: new SharedArrayBuffer(CONTROL_WORDS * 4),
    settings: new SharedArrayBuffer(SETTINGS * 8),
    x: sharedCopy(x),
    y: sharedCopy(y),
    mask: sharedCopy(mask),
    perm: new SharedArrayBuffer(rows * 4),
    state: new SharedArrayBuffer(3 * total * 4),
    mainGrads: pair(total * 4),
    workerGrads: pair(total * 4),
    nums: pair(T * 8),
  };
  const control = new Int32Array(data.control);
  const settings = new Float64Array(data.settings);
  const perm = new Int32Array(data.perm);
  const state = new Float32Array(data.state);
  const mainGrads = data.mainGrads.map((b) => new Float32Array(b));
  const workerGrads = data.workerGrads.map((b) => new Float32Array(b));
  const nums = data.nums.map((b) => new Float64Array(b));
  let step = 0;
  let epochs = 0;
  return new Promise((resolve, reject) => {
    const worker = startWorker(data);
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('the fast-step worker stopped')));
    worker.once('message', () => {
      worker.removeAllListeners('exit');
      worker.removeAllListeners('error');
      worker.unref();
      resolve({
        startEpoch(order, batchSize, iteration, params, m, v, adam, decay) {
          // The worker has finished the last epoch's steps (it waited for this thread's last one,
          // and does not read the shared state after it).
          perm.set(order);
          state.set(params, 0);
          state.set(m, total);
          state.set(v, 2 * total);
          settings[BETA1] = adam.beta1;
          settings[BETA2] = adam.beta2;
          settings[EPSILON] = adam.epsilon;
          settings[DECAY] = decay;
          control[ROWS] = order.length;
          control[BATCH] = batchSize;
          control[ITERATION] = iteration;
          epochs++;
          announce(control, EPOCH, epochs, WORKER_ASLEEP);
        },
        exchange(grads, learningRate, n) {
          const parity = step % 2;
          mainGrads[parity]!.set(grads);
          settings[RATE + parity] = learningRate;
          step++;
          announce(control, MAIN_STEP, step, WORKER_ASLEEP);
          let done = Atomics.load(control, WORKER_STEP);
          while (done < step) done = awaitChange(control, WORKER_STEP, done, MAIN_ASLEEP);
          const theirs = nums[parity]!;
          for (let t = 0; t < n.length; t++) n[t] = n[t]! + theirs[t]!;
          return workerGrads[parity]!;
        },
        close() {
          const exited = new Promise<void>((done) => worker.once('exit', () => done()));
          Atomics.store(control, QUIT, 1);
          for (const word of [EPOCH, MAIN_STEP]) {
            Atomics.add(control, word, 1);
            Atomics.notify(control, word);
          }
          return exited;
        },
      });
    });
  });
}

export {
  MAIN_STEP,
  WORKER_STEP,
  EPOCH,
  QUIT,
  WORKER_ASLEEP,
  MAIN_ASLEEP,
  ROWS,
  BATCH,
  ITERATION,
  BETA1,
  BETA2,
  EPSILON,
  DECAY,
  RATE,
};
