/**
 * mtgraph's own SIMD modules (src/backend/wasm/*.wat, committed as base64) instantiated on the
 * wasm backend's heap, so that they read and write tfjs's tensors in place. One instance per
 * module and memory; null where it cannot be made (a shared memory, no SIMD support), and the
 * caller then runs its JavaScript loop.
 */

/** A WebAssembly.Memory (the project's TypeScript libs do not declare WebAssembly). */
export interface HeapMemory {
  readonly buffer: ArrayBufferLike;
}

/** The part of the WebAssembly global used here. */
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;

/** The bytes of a base64 string (`atob`: browsers and Node alike; no Buffer). */
export function base64Bytes(text: string): Uint8Array {
  const binary = (globalThis as unknown as { atob(s: string): string }).atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The wasm backend's heap (its Emscripten module's memory), or undefined for other backends. */
export function heapMemoryOf(backend: unknown): HeapMemory | undefined {
  return (backend as { wasm?: { asm?: { memory?: HeapMemory } } } | undefined)?.wasm?.asm?.memory;
}

/**
 * A getter of one SIMD module's exports on a backend's heap: instantiated on first use per
 * memory, then cached; null when the backend has no wasm heap or the module cannot be bound.
 */
export function heapModule<Exports>(base64: string): (backend: unknown) => Exports | null {
  const instances = new WeakMap<HeapMemory, Exports | null>();
  return (backend) => {
    const memory = heapMemoryOf(backend);
    if (!memory) return null;
    let exports = instances.get(memory);
    if (exports === undefined) {
      try {
        if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)
          throw new Error('shared memory');
        const module = new WebAssemblyApi.Module(base64Bytes(base64));
        exports = new WebAssemblyApi.Instance(module, { env: { memory } })
          .exports as unknown as Exports;
      } catch {
        exports = null;
      }
      instances.set(memory, exports);
    }
    return exports;
  };
}
