/**
 * The worker thread of a two-thread fast step (src/train/fast-step.ts), Node only: started once per
 * training run, it holds a copy of the step's engine on its own wasm heap and computes the
 * gradient of half of each batch. The data (features, labels, masks) and the exchange buffers are
 * SharedArrayBuffers: per step the main thread writes the parameters, the rows and the batch's
 * label counts and bumps a counter (Atomics.notify); the worker writes its gradients and loss sums
 * and bumps another; the main thread adds them to its own before Adam. Nothing is posted per step.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineSpec } from '../train/dense-engine.js';
import type { FastPeer } from '../train/fast-step.js';

/** Control words: [request, done, start, size, quit, worker asleep, main asleep]. */
const REQUEST = 0;
const DONE = 1;
const START = 2;
const SIZE = 3;
const QUIT = 4;
const WORKER_ASLEEP = 5;
const MAIN_ASLEEP = 6;
const CONTROL_WORDS = 7;

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
  x: SharedArrayBuffer;
  y: SharedArrayBuffer;
  mask: SharedArrayBuffer;
  perm: SharedArrayBuffer;
  params: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  dens: SharedArrayBuffer;
  nums: SharedArrayBuffer;
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
  const data: PeerData = {
    spec,
    backend,
    control: new SharedArrayBuffer(CONTROL_WORDS * 4),
    x: sharedCopy(x),
    y: sharedCopy(y),
    mask: sharedCopy(mask),
    perm: new SharedArrayBuffer(rows * 4),
    params: new SharedArrayBuffer(total * 4),
    grads: new SharedArrayBuffer(total * 4),
    dens: new SharedArrayBuffer(T * 8),
    nums: new SharedArrayBuffer(T * 8),
  };
  const control = new Int32Array(data.control);
  const perm = new Int32Array(data.perm);
  const params = new Float32Array(data.params);
  const grads = new Float32Array(data.grads);
  const dens = new Float64Array(data.dens);
  const nums = new Float64Array(data.nums);
  let request = 0;
  return new Promise((resolve, reject) => {
    const worker = startWorker(data);
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('the fast-step worker stopped')));
    worker.once('message', () => {
      worker.removeAllListeners('exit');
      worker.removeAllListeners('error');
      worker.unref();
      resolve({
        setOrder: (order) => perm.set(order),
        start(p, start, size, d) {
          params.set(p);
          dens.set(d);
          control[START] = start;
          control[SIZE] = size;
          request++;
          announce(control, REQUEST, request, WORKER_ASLEEP);
        },
        finish(n) {
          let done = Atomics.load(control, DONE);
          while (done !== request) done = awaitChange(control, DONE, done, MAIN_ASLEEP);
          for (let t = 0; t < n.length; t++) n[t] = n[t]! + nums[t]!;
          return grads;
        },
        close() {
          Atomics.store(control, QUIT, 1);
          request++;
          Atomics.store(control, REQUEST, request);
          Atomics.notify(control, REQUEST);
        },
      });
    });
  });
}

export { REQUEST, DONE, START, SIZE, QUIT, WORKER_ASLEEP, MAIN_ASLEEP };
