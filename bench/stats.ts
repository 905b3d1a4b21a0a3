import type { Rng } from '../src/util/random.js';

/** Small helpers shared by the planner benchmarks. */
export const between = (rng: Rng, [lo, hi]: [number, number]) => lo + (hi - lo) * rng.next();

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
}
export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
