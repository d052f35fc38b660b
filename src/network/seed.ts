/**
 * A 31-bit seed for one layer, derived from the build seed and the layer's name (FNV-1a), so
 * that a layer's initial weights do not depend on the order layers are built in.
 */
export function deriveSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  const text = `${seed}\u0000${name}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 1) & 0x7fffffff;
}
