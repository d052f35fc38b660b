import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';
import { envVar, isNode, nodeParts } from '../platform/index.js';
import { wasmKernelsVeto } from './kernel-patch.js';
import { patchWasmKernels } from './wasm-patches.js';

/** The backends mtgraph knows, fastest first: Node uses tensorflow, wasm, cpu; browsers webgpu, webgl, wasm, cpu. */
export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The backends tried in Node, in order. */
export const NODE_BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
/** The backends tried in a browser, in order. */
export const BROWSER_BACKENDS: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** One attempt at loading a backend. */
export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it loaded or why it was skipped, e.g. "not installed (ERR_MODULE_NOT_FOUND)". */
  reason: string;
}

/** What `initBackend` chose and why. */
export interface BackendReport {
  backend: BackendName;
  /** Every backend tried, in order; the last one with `ok: true` is `backend`. */
  tried: BackendAttempt[];
  /** Who forced the backend, if anyone: the `backend` option or the MTGRAPH_BACKEND variable. */
  forcedBy?: 'option' | 'env';
}

export interface InitBackendOptions {
  /** Forces a backend (overrides MTGRAPH_BACKEND); an error is raised if it cannot load. Default: the first that loads. */
  backend?: BackendName;
  /**
   * Where the wasm backend's .wasm files are served from in a browser, as tfjs-backend-wasm's
   * `setWasmPaths` takes it: a URL prefix ending in '/' (copy
   * node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm there) or a map of file names to
   * URLs. Default: tfjs-backend-wasm's own default (next to the page's script). Ignored in Node,
   * where the files are found in the installed package.
   */
  wasmPaths?: string | Record<string, string>;
}

const SCOPE = 'mtgraph/backend';
/** The module of each backend that registers it with tfjs. */
const MODULES: Partial<Record<BackendName, string>> = {
  tensorflow: '@tensorflow/tfjs-node',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
};

let current: { key: string; report: Promise<BackendReport> } | undefined;

/** Why a backend module failed to load, in one line: "not installed (...)" or the error's first line. */
export function loadFailureReason(error: unknown, module?: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
  if (
    missing &&
    module !== undefined &&
    (message.includes(`'${module}'`) || message.includes(`"${module}"`))
  )
    return `not installed (${code})`;
  const line = (message.split('\n')[0] ?? '').slice(0, 200) || 'failed to load';
  return missing ? `installed but incomplete: ${line}` : line;
}

async function loadTensorflow(): Promise<string> {
  if (!isNode()) throw new Error('needs Node (@tensorflow/tfjs-node is a native addon)');
  const node = await nodeParts(SCOPE, 'the tensorflow backend', '');
  await node.importTfjsNode();
  if (!tf.findBackend('tensorflow')) {
    throw new Error(
      '@tensorflow/tfjs-node loaded but registered no "tensorflow" backend with this copy of @tensorflow/tfjs (pin every @tensorflow/* package to one version)',
    );
  }
  if (!(await tf.setBackend('tensorflow')))
    throw new Error('the "tensorflow" backend failed to initialise');
  return 'loaded (native libtensorflow)';
}

async function loadWebgpu(): Promise<string> {
  if (isNode()) throw new Error('browsers only');
  if (!tf.findBackend('webgpu'))
    throw new Error(
      "not registered (import '@tensorflow/tfjs-backend-webgpu' before initBackend to use it)",
    );
  if (!(await tf.setBackend('webgpu')))
    throw new Error('the "webgpu" backend failed to initialise (no WebGPU adapter)');
  return 'loaded (WebGPU)';
}

async function loadWebgl(): Promise<string> {
  if (isNode()) throw new Error('browsers only');
  if (!tf.findBackend('webgl'))
    throw new Error('not registered with this copy of @tensorflow/tfjs');
  if (!(await tf.setBackend('webgl')))
    throw new Error('the "webgl" backend failed to initialise (no WebGL context)');
  return 'loaded (WebGL)';
}

async function loadWasm(options: InitBackendOptions): Promise<string> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  let where: string;
  if (isNode()) {
    where = (await nodeParts(SCOPE, 'the wasm backend', '')).wasmFolder();
    wasm.setWasmPaths(where);
  } else {
    if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
    where =
      typeof options.wasmPaths === 'string'
        ? options.wasmPaths
        : options.wasmPaths
          ? 'options.wasmPaths'
          : "tfjs-backend-wasm's default place; set options.wasmPaths";
  }
  if (!(await tf.setBackend('wasm')))
    throw new Error(`the wasm binary did not initialise (looked in ${where})`);
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
  const binary =
    simd && threads
      ? 'tfjs-backend-wasm-threaded-simd.wasm'
      : simd
        ? 'tfjs-backend-wasm-simd.wasm'
        : 'tfjs-backend-wasm.wasm';
  const veto = wasmKernelsVeto();
  const extras = veto ? [veto] : patchWasmKernels();
  return `loaded ${binary} (SIMD ${simd ? 'on' : 'off'}, ${threads ? 'multi-threaded' : 'one thread'}${extras.map((e) => `, ${e}`).join('')})`;
}

async function loadCpu(): Promise<string> {
  if (!(await tf.setBackend('cpu'))) throw new Error('the "cpu" backend failed to initialise');
  return 'loaded (plain JavaScript)';
}

const LOADERS: Record<BackendName, (options: InitBackendOptions) => Promise<string>> = {
  tensorflow: loadTensorflow,
  webgpu: loadWebgpu,
  webgl: loadWebgl,
  wasm: loadWasm,
  cpu: loadCpu,
};

/** The backends tried on this host, in order. */
function hostBackends(): readonly BackendName[] {
  return isNode() ? NODE_BACKENDS : BROWSER_BACKENDS;
}

function forced(options: InitBackendOptions): { name?: BackendName; by?: 'option' | 'env' } {
  const fromOption = options.backend;
  const fromEnv = envVar('MTGRAPH_BACKEND')?.trim();
  const [value, by, where] =
    fromOption !== undefined
      ? [fromOption, 'option' as const, 'options.backend']
      : fromEnv
        ? [fromEnv, 'env' as const, 'MTGRAPH_BACKEND']
        : [undefined, undefined, ''];
  if (value === undefined) return {};
  if (!(hostBackends() as readonly string[]).includes(value)) {
    throw new BackendError(
      `${SCOPE}: unknown backend (got ${JSON.stringify(value)}; expected one of ${hostBackends().join(', ')}) → at ${where}. Use one of them or leave it unset to pick the fastest that loads.`,
      { path: where, got: value },
    );
  }
  return { name: value as BackendName, by };
}

async function select(
  name: BackendName | undefined,
  by: 'option' | 'env' | undefined,
  options: InitBackendOptions,
): Promise<BackendReport> {
  const tried: BackendAttempt[] = [];
  for (const candidate of name ? [name] : hostBackends()) {
    try {
      const reason = await LOADERS[candidate](options);
      tried.push({ name: candidate, ok: true, reason });
      return { backend: candidate, tried, ...(by ? { forcedBy: by } : {}) };
    } catch (error) {
      tried.push({
        name: candidate,
        ok: false,
        reason: loadFailureReason(error, MODULES[candidate]),
      });
      if (name) {
        const fix =
          candidate === 'tensorflow'
            ? 'Install @tensorflow/tfjs-node (it needs internet access to download libtensorflow), or choose wasm or cpu.'
            : 'Choose another backend, or leave it unset to fall back automatically.';
        throw new BackendError(
          `${SCOPE}: the forced backend "${candidate}" cannot load (${tried.at(-1)!.reason}) → at ${by === 'env' ? 'MTGRAPH_BACKEND' : 'options.backend'}. ${fix}`,
          {
            path: by === 'env' ? 'MTGRAPH_BACKEND' : 'options.backend',
            got: candidate,
            cause: error,
          },
        );
      }
    }
  }
  throw new BackendError(
    `${SCOPE}: no backend could load (${tried.map((t) => `${t.name}: ${t.reason}`).join('; ')}). Reinstall @tensorflow/tfjs.`,
    { got: tried },
  );
}

/**
 * Picks and activates the TensorFlow.js backend. In Node: `@tensorflow/tfjs-node` ('tensorflow')
 * when it loads, else `@tensorflow/tfjs-backend-wasm` ('wasm', SIMD), else 'cpu'. In a browser:
 * 'webgpu' (when @tensorflow/tfjs-backend-webgpu is imported), else 'webgl', else 'wasm' (its
 * .wasm files from `options.wasmPaths`, see tfjs-backend-wasm's `setWasmPaths`), else 'cpu'. MTGRAPH_BACKEND or
 * `options.backend` forces one. Idempotent: later calls asking for the same thing return the
 * same report without loading anything again.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendReport> {
  let name: BackendName | undefined;
  let by: 'option' | 'env' | undefined;
  try {
    ({ name, by } = forced(options));
  } catch (error) {
    return Promise.reject(error);
  }
  const key = name ?? 'auto';
  if (current && (current.key === key || (name === undefined && by === undefined)))
    return current.report;
  const previous = current;
  const report = select(name, by, options);
  const entry = { key, report };
  current = entry;
  // A failed attempt leaves the previous choice (and its report) in place.
  report.catch(() => {
    if (current === entry) current = previous;
  });
  return report;
}

/** True once initBackend was called (whatever it chose), so mtgraph does not choose again. */
export function backendChosen(): boolean {
  return current !== undefined;
}
