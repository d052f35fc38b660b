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

/** Control words: [request, done, start, size, quit]. */
const REQUEST = 0;
const DONE = 1;
const START = 2;
const SIZE = 3;
const QUIT = 4;

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
    control: new SharedArrayBuffer(5 * 4),
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
          Atomics.store(control, REQUEST, request);
          Atomics.notify(control, REQUEST);
        },
        finish(g, n) {
          for (;;) {
            const done = Atomics.load(control, DONE);
            if (done === request) break;
            Atomics.wait(control, DONE, done);
          }
          for (let i = 0; i < g.length; i++) g[i] = g[i]! + grads[i]!;
          for (let t = 0; t < n.length; t++) n[t] = n[t]! + nums[t]!;
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

export { REQUEST, DONE, START, SIZE, QUIT };
