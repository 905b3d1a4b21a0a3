import type { Rng } from '../util/random.js';
import type { Endpoint } from './endpoints.js';
import type { Policy } from './types.js';

/**
 * Pickers choose the endpoint for one try of a request among those serving now, skipping the ones
 * already tried. Each is a small object with its own state; null means nothing can take it.
 */
export interface Picker {
  pick(endpoints: readonly Endpoint[], now: number, tried: readonly Endpoint[]): Endpoint | null;
}

const usable = (ep: Endpoint, now: number, tried: readonly Endpoint[]) =>
  ep.serving(now) && (tried.length === 0 || !tried.includes(ep));

/**
 * Least outstanding requests. Up to `exactScanMax` endpoints every one is looked at, starting at
 * a rotating offset so equal endpoints share ties evenly; above that, two random choices (the
 * power of two: nearly as good as a scan, constant time, no herd on the single least-loaded one).
 */
export class LeastOutstandingPicker implements Picker {
  private next = 0;
  constructor(
    private readonly rng: Rng,
    private readonly exactScanMax = 8,
  ) {}

  pick(endpoints: readonly Endpoint[], now: number, tried: readonly Endpoint[]): Endpoint | null {
    const n = endpoints.length;
    if (n === 0) return null;
    if (n > this.exactScanMax) {
      const a = endpoints[Math.floor(this.rng.next() * n)]!;
      const b = endpoints[Math.floor(this.rng.next() * n)]!;
      const okA = usable(a, now, tried);
      const okB = usable(b, now, tried);
      if (okA && okB) return b.outstanding < a.outstanding ? b : a;
      if (okA) return a;
      if (okB) return b;
      // Both draws missed (ejections, retries): fall back to the exact scan.
    }
    const start = this.next++ % n;
    if (this.next > 1e9) this.next = 0;
    let best: Endpoint | null = null;
    for (let k = 0; k < n; k++) {
      const ep = endpoints[(start + k) % n]!;
      if ((best === null || ep.outstanding < best.outstanding) && usable(ep, now, tried)) best = ep;
    }
    return best;
  }
}

/** Each serving endpoint in turn. */
export class RoundRobinPicker implements Picker {
  private next = 0;
  pick(endpoints: readonly Endpoint[], now: number, tried: readonly Endpoint[]): Endpoint | null {
    const n = endpoints.length;
    for (let k = 0; k < n; k++) {
      const ep = endpoints[this.next++ % n]!;
      if (this.next > 1e9) this.next = 0;
      if (usable(ep, now, tried)) return ep;
    }
    return null;
  }
}

/**
 * Requests in proportion to each endpoint's weight (its measured throughput), by nginx's smooth
 * weighted round robin: every pick adds each serving endpoint's weight to its score, takes the
 * highest score and subtracts the total from it. Weights 5:1:1 give a a b a c a a, not a a a a a b c.
 */
export class WeightedPicker implements Picker {
  pick(endpoints: readonly Endpoint[], now: number, tried: readonly Endpoint[]): Endpoint | null {
    let total = 0;
    let best: Endpoint | null = null;
    for (const ep of endpoints) {
      if (!usable(ep, now, tried)) continue;
      ep.pickScore += ep.weight;
      total += ep.weight;
      if (best === null || ep.pickScore > best.pickScore) best = ep;
    }
    if (best) best.pickScore -= total;
    return best;
  }
}

export function createPicker(policy: Policy, rng: Rng, exactScanMax?: number): Picker {
  switch (policy) {
    case 'least_outstanding':
      return new LeastOutstandingPicker(rng, exactScanMax);
    case 'round_robin':
      return new RoundRobinPicker();
    case 'weighted':
      return new WeightedPicker();
    default:
      return assertNever(policy);
  }
}

function assertNever(x: never): never {
  throw new Error(`unknown policy ${String(x)}`);
}
