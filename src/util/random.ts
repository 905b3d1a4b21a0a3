/**
 * Seeded, deterministic randomness (mulberry32 + a string hash). Domain code takes an Rng rather
 * than calling Math.random(), so a seed reproduces a simulated market exactly.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** FNV-1a 32-bit hash of a string: stable across runs and platforms. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A deterministic Rng for one named thing under a global seed. */
export function rngFor(seed: number, key: string): Rng {
  return mulberry32((hash32(key) ^ Math.imul(seed, 0x9e3779b1)) >>> 0);
}
