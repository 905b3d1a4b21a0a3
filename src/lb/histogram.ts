/**
 * Request latency of one endpoint, kept twice at a cost of a few additions per request: in fine
 * logarithmic buckets (8 per doubling, so a quantile is within ~9%) for the status page's p50 and
 * p99, and in Prometheus' cumulative buckets for /metrics. Nothing is allocated per observation.
 */

/** Prometheus bucket bounds in seconds: sub-millisecond proxying up to five-minute streams. */
export const PROM_BUCKETS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
] as const;

const FINE_PER_DOUBLING = 8;
/** The fine scale starts at 10 µs; 224 buckets reach past 4 hours. */
const FINE_MIN_MS = 0.01;
const FINE_COUNT = 224;

export class LatencyHistogram {
  readonly fine = new Uint32Array(FINE_COUNT);
  /** Non-cumulative counts per Prometheus bucket; the last one is +Inf. */
  readonly coarse = new Float64Array(PROM_BUCKETS_S.length + 1);
  count = 0;
  sumS = 0;

  observe(ms: number): void {
    const v = Math.max(ms, 0);
    this.count++;
    this.sumS += v / 1000;
    const f = v <= FINE_MIN_MS ? 0 : Math.floor(Math.log2(v / FINE_MIN_MS) * FINE_PER_DOUBLING);
    this.fine[f < FINE_COUNT ? f : FINE_COUNT - 1]! += 1;
    const s = v / 1000;
    let i = 0;
    while (i < PROM_BUCKETS_S.length && s > PROM_BUCKETS_S[i]!) i++;
    this.coarse[i]! += 1;
  }

  /** The q-quantile in ms (upper bound of its fine bucket, so never under-reported); null when empty. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < FINE_COUNT; i++) {
      seen += this.fine[i]!;
      if (seen >= rank) return FINE_MIN_MS * 2 ** ((i + 1) / FINE_PER_DOUBLING);
    }
    return FINE_MIN_MS * 2 ** (FINE_COUNT / FINE_PER_DOUBLING);
  }
}
