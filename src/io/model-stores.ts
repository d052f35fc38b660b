/**
 * The places a model is kept besides a folder: the in-memory files, IndexedDB and downloads
 * (browsers), and http(s) URLs (loadModel). Each is a ModelSource for model-format.ts, so the
 * same checks (sizes, manifest, finite weights, SHA-256) apply to every form. Browser-safe.
 */
import { FileError, OptionsError, show } from '../errors.js';
import { MAX_WEIGHT_BYTES } from './limits.js';
import { MODEL_FILES, type ModelSource } from './model-format.js';

const SCOPE = 'mtgraph/io';

/** A saved model as bytes in memory: what `saveModel(model)` returns and `loadModel` takes. */
export interface ModelFiles {
  /** `model.json`, `weights.bin`, `plan.json`, `graph.json` (when known), `metadata.json`. */
  files: Record<string, Uint8Array>;
}

/** The file names of a saved model. */
const NAMES: readonly string[] = Object.values(MODEL_FILES);

/** The saved files (strings as UTF-8) as ModelFiles. */
export function toModelFiles(
  files: ReadonlyArray<readonly [string, string | Uint8Array]>,
): ModelFiles {
  const encoder = new TextEncoder();
  const out: Record<string, Uint8Array> = {};
  for (const [name, content] of files)
    out[name] = typeof content === 'string' ? encoder.encode(content) : content;
  return { files: out };
}

/** Whether a value is ModelFiles (an object whose `files` map names to Uint8Arrays). */
export function isModelFiles(value: unknown): value is ModelFiles {
  if (typeof value !== 'object' || value === null) return false;
  const files = (value as { files?: unknown }).files;
  return (
    typeof files === 'object' &&
    files !== null &&
    !Array.isArray(files) &&
    Object.values(files).every((v) => v instanceof Uint8Array)
  );
}

/** A map of files in memory as a ModelSource; `where` names it in messages. */
export function memorySource(files: Record<string, Uint8Array>, where: string): ModelSource {
  const get = (name: string, what: string): Uint8Array => {
    const bytes = Object.hasOwn(files, name) ? files[name] : undefined;
    if (bytes === undefined)
      throw new FileError(
        `${SCOPE}: the ${what} ${name} is missing from ${where} (got ${Object.keys(files).join(', ') || 'no files'}). The model is incomplete: save it again.`,
        { path: `${where}/${name}` },
      );
    return bytes;
  };
  return {
    where,
    at: (name) => `${where}/${name}`,
    has: async (name) => Object.hasOwn(files, name),
    size: async (name, what) => get(name, what).byteLength,
    async read(name, what, limit) {
      const bytes = get(name, what);
      if (bytes.byteLength > limit)
        throw new FileError(
          `${SCOPE}: the ${what} ${where}/${name} is too large (got ${bytes.byteLength} bytes; the limit is ${limit}). Check that it is the right file.`,
          { path: `${where}/${name}`, got: bytes.byteLength },
        );
      return bytes;
    },
  };
}

// --- IndexedDB -------------------------------------------------------------------------------

// The few browser APIs used here, declared locally: the project (and its users' Node projects)
// compile without the DOM library, and the public types must not need it.
interface IdbRequest<T> {
  result: T;
  error: { message: string } | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
  onupgradeneeded?: (() => void) | null;
}
interface IdbStore {
  put(value: unknown, key: string): IdbRequest<unknown>;
  get(key: string): IdbRequest<unknown>;
}
interface IdbTransaction {
  objectStore(name: string): IdbStore;
  error: { message: string } | null;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): IdbTransaction;
  close(): void;
}
interface IdbFactory {
  open(name: string, version: number): IdbRequest<IdbDatabase>;
}
interface Page {
  createElement(tag: 'a'): {
    href: string;
    download: string;
    style: { display: string };
    click(): void;
    remove(): void;
  };
  body: { appendChild(node: unknown): void };
}
/** A picked file: what `<input type="file">` gives (File), or anything with a name and bytes. */
export interface NamedFile {
  name: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** The IndexedDB database and object store mtgraph keeps models in (one record per model). */
export const MODEL_DATABASE = Object.freeze({ name: 'mtgraph', store: 'models', version: 1 });

function database(where: string): Promise<IdbDatabase> {
  const idb = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (!idb)
    return Promise.reject(
      new FileError(
        `${SCOPE}: ${where} needs IndexedDB, which this environment does not have. Use it in a browser, or keep the files in memory with saveModel(model).`,
        { path: where },
      ),
    );
  return new Promise((resolve, reject) => {
    const request = idb.open(MODEL_DATABASE.name, MODEL_DATABASE.version);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(MODEL_DATABASE.store))
        request.result.createObjectStore(MODEL_DATABASE.store);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () =>
      reject(
        new FileError(
          `${SCOPE}: cannot open IndexedDB for ${where} (${request.error?.message ?? 'unknown error'}). Check that the page may use storage (not a private window with storage off).`,
          { path: where, cause: request.error },
        ),
      );
  });
}

function transact<T>(
  where: string,
  mode: 'readonly' | 'readwrite',
  work: (store: IdbStore) => IdbRequest<T>,
): Promise<T> {
  return database(where).then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(MODEL_DATABASE.store, mode);
        const request = work(tx.objectStore(MODEL_DATABASE.store));
        tx.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        const fail = () => {
          db.close();
          reject(
            new FileError(
              `${SCOPE}: IndexedDB failed for ${where} (${(tx.error ?? request.error)?.message ?? 'aborted'}). Check the storage quota of the page.`,
              { path: where, cause: tx.error ?? request.error },
            ),
          );
        };
        tx.onerror = fail;
        tx.onabort = fail;
      }),
  );
}

/** Stores the files under `name` in one IndexedDB transaction (all or nothing). */
export async function saveToIndexedDb(name: string, files: ModelFiles): Promise<void> {
  const where = `indexeddb://${name}`;
  await transact(where, 'readwrite', (store) =>
    store.put({ files: files.files, savedAt: new Date().toISOString() }, name),
  );
}

/** The files stored under `name`, as a ModelSource. */
export async function indexedDbSource(name: string): Promise<ModelSource> {
  const where = `indexeddb://${name}`;
  const record = await transact<unknown>(where, 'readonly', (store) => store.get(name));
  if (record === undefined)
    throw new FileError(
      `${SCOPE}: there is no model ${where} (nothing saved under that name in this origin's IndexedDB). Check the name, or save the model there first.`,
      { path: where },
    );
  const files = (record as { files?: unknown }).files;
  if (!isModelFiles({ files }))
    throw new FileError(
      `${SCOPE}: the record ${where} is not an mtgraph model (got ${show(record)}). Save the model there again.`,
      { path: where },
    );
  return memorySource((record as ModelFiles).files, where);
}

// --- downloads -------------------------------------------------------------------------------

/**
 * Offers the files as downloads named `<name>-<file>` (e.g. `model-model.json`); load them back
 * with `loadModel(input.files)` from an `<input type="file" multiple>`.
 */
export function downloadFiles(name: string, files: ModelFiles): void {
  const doc = (globalThis as { document?: Page }).document;
  if (!doc)
    throw new FileError(
      `${SCOPE}: downloads://${name} needs a browser page (there is no document). Keep the files in memory with saveModel(model) instead.`,
      { path: `downloads://${name}` },
    );
  for (const [file, bytes] of Object.entries(files.files)) {
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    const a = doc.createElement('a');
    a.href = url;
    a.download = `${name}-${file}`;
    a.style.display = 'none';
    doc.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** Picked files (`<name>-model.json`, ... or the plain names) as ModelFiles, by their endings. */
export async function pickedFiles(
  list: ArrayLike<NamedFile> | Iterable<NamedFile>,
): Promise<ModelFiles> {
  const files: Record<string, Uint8Array> = {};
  for (const file of Array.from(list as ArrayLike<NamedFile>)) {
    const name = NAMES.find((n) => file.name === n || file.name.endsWith(`-${n}`));
    if (name === undefined) continue;
    if (Object.hasOwn(files, name))
      throw new OptionsError(
        `${SCOPE}: two picked files are the model's ${name} (the second is ${JSON.stringify(file.name)}) → at files. Pick the files of one saved model.`,
        { path: 'files', got: file.name },
      );
    files[name] = new Uint8Array(await file.arrayBuffer());
  }
  return { files };
}

/** What loadModel passes to `fetch` for an http(s) URL. */
export interface HttpInit {
  headers?: Record<string, string>;
  credentials?: 'omit' | 'same-origin' | 'include';
}

// --- http(s) ---------------------------------------------------------------------------------

/**
 * The files of a model served over http(s) as a ModelSource: `url` is the folder (with or without
 * a trailing slash) or its model.json. Sizes are checked from Content-Length before a body is read,
 * and again while it is read.
 */
export function httpSource(url: string, init?: HttpInit): ModelSource {
  const base = url.endsWith(`/${MODEL_FILES.model}`)
    ? url.slice(0, -MODEL_FILES.model.length)
    : url.endsWith('/')
      ? url
      : `${url}/`;
  const at = (name: string) => new URL(name, base).href;
  const responses = new Map<string, Promise<Response>>();
  const get = (name: string): Promise<Response> => {
    let r = responses.get(name);
    if (!r) {
      r = fetch(at(name), init as RequestInit).catch((cause: Error) => {
        throw new FileError(
          `${SCOPE}: cannot fetch ${at(name)} (${cause.message}). Check the URL and that the server allows this origin (CORS).`,
          { path: at(name), cause },
        );
      });
      responses.set(name, r);
    }
    return r;
  };
  const ok = async (name: string, what: string): Promise<Response> => {
    const response = await get(name);
    if (!response.ok)
      throw new FileError(
        `${SCOPE}: cannot read the ${what} ${at(name)} (got HTTP ${response.status}). Check the URL: it must be the folder saveModel wrote, served as it is.`,
        { path: at(name), got: response.status },
      );
    return response;
  };
  const tooLarge = (name: string, what: string, size: number, limit: number) =>
    new FileError(
      `${SCOPE}: the ${what} ${at(name)} is too large (got ${size} bytes; the limit is ${limit}). Check that it is the right file.`,
      { path: at(name), got: size },
    );
  const bodies = new Map<string, Promise<Uint8Array>>();
  const body = (name: string, what: string, limit: number): Promise<Uint8Array> => {
    let b = bodies.get(name);
    if (!b) {
      b = (async () => {
        const response = await ok(name, what);
        const declared = Number(response.headers.get('content-length'));
        if (Number.isFinite(declared) && declared > limit)
          throw tooLarge(name, what, declared, limit);
        const reader = response.body?.getReader();
        if (!reader) return new Uint8Array(await response.arrayBuffer());
        const chunks: Uint8Array[] = [];
        let total = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          total += value.byteLength;
          if (total > limit) {
            await reader.cancel();
            throw tooLarge(name, what, total, limit);
          }
          chunks.push(value);
        }
        const out = new Uint8Array(total);
        let offset = 0;
        for (const c of chunks) {
          out.set(c, offset);
          offset += c.byteLength;
        }
        return out;
      })();
      bodies.set(name, b);
    }
    return b;
  };
  return {
    where: base,
    at,
    has: async (name) => (await get(name)).ok,
    async size(name, what) {
      const response = await ok(name, what);
      const declared = Number(response.headers.get('content-length'));
      if (response.headers.has('content-length') && Number.isFinite(declared)) return declared;
      return (await body(name, what, MAX_WEIGHT_BYTES)).byteLength;
    },
    read: (name, what, limit) => body(name, what, limit),
  };
}
