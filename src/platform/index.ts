/**
 * The one seam between mtgraph and its host. Everything outside src/platform/node.ts (and the
 * CLI) is browser-safe: environment variables are read here (none in a browser), and what needs
 * Node (files, streams, the native backend) is reached through `nodeParts()`, which loads
 * ./node.ts only when running in Node. Bundles for the browser never contain it: the Node entry
 * (`dist/node.js`, the package's `node` export condition) provides it statically, and elsewhere it
 * is imported by a specifier bundlers do not follow.
 */
import { PlatformError } from '../errors.js';

/** What ./node.ts provides: the file-backed parts of mtgraph. */
export type NodeParts = typeof import('./node.js');

interface Host {
  process?: {
    env?: Record<string, string | undefined>;
    versions?: { node?: string };
    cpuUsage?: () => { user: number; system: number };
  };
}
const host = globalThis as Host;

/** An environment variable (`MTGRAPH_BACKEND`, ...); always undefined in a browser. */
export function envVar(name: string): string | undefined {
  const value = host.process?.env?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * This process's CPU time in seconds (user + system, every thread), or undefined where the host
 * has no such clock (a browser). Differences of two readings measure the work done in between,
 * whatever else shares the machine.
 */
export function cpuSeconds(): number | undefined {
  const usage = host.process?.cpuUsage;
  if (typeof usage !== 'function') return undefined;
  const { user, system } = usage.call(host.process);
  return (user + system) / 1e6;
}

/** Whether mtgraph runs in Node (or a runtime that provides Node's modules). */
export function isNode(): boolean {
  return typeof host.process?.versions?.node === 'string';
}

let node: Promise<NodeParts> | undefined;

/** Installs the Node parts (called by the Node entry, so that bundles for Node contain them). */
export function provideNodeParts(parts: NodeParts): void {
  node = Promise.resolve(parts);
}

/**
 * The Node parts, for `what` (e.g. "saveModel to a folder"); outside Node a PlatformError that
 * says what to use instead (`instead`).
 */
export function nodeParts(scope: string, what: string, instead: string): Promise<NodeParts> {
  if (node) return node;
  if (!isNode()) {
    return Promise.reject(
      new PlatformError(`${scope}: ${what} needs Node's file system (got a browser). ${instead}`, {
        got: what,
      }),
    );
  }
  // A variable: bundlers for the browser must not follow it.
  const specifier = './node.js';
  node = import(/* @vite-ignore */ specifier) as Promise<NodeParts>;
  return node;
}
