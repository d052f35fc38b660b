/** A seeded pseudo-random source in [0, 1) (mulberry32): every random step in mtgraph takes one. */
export function seededRandom(seed: number): () => number {
  let state = (Math.floor(seed) >>> 0) ^ 0x9e3779b9;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
