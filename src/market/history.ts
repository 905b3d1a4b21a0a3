/**
 * Bounded price history: fixed-size ring buffers of (epoch ms, USD) per series. Aggregate series
 * (provider type × class: the lowest available USD/GPU-hour) get `pointsPerSeries` points each;
 * per-offer series exist only for offers whose price moved, hold `pointsPerOffer` points, and at
 * most `maxOfferSeries` of them are kept (the least recently moved is dropped first). Memory is
 * therefore capped at about 16 B × (30 × pointsPerSeries + maxOfferSeries × pointsPerOffer).
 */

export interface HistoryOptions {
  pointsPerSeries?: number;
  pointsPerOffer?: number;
  maxOfferSeries?: number;
}

export interface PricePoint {
  at: string;
  price: number;
}

export class Ring {
  private readonly t: Float64Array;
  private readonly v: Float64Array;
  private start = 0;
  private len = 0;
  constructor(readonly capacity: number) {
    this.t = new Float64Array(capacity);
    this.v = new Float64Array(capacity);
  }
  push(t: number, v: number): void {
    const i = (this.start + this.len) % this.capacity;
    this.t[i] = t;
    this.v[i] = v;
    if (this.len < this.capacity) this.len++;
    else this.start = (this.start + 1) % this.capacity;
  }
  get size(): number {
    return this.len;
  }
  last(): number | null {
    return this.len === 0 ? null : (this.v[(this.start + this.len - 1) % this.capacity] as number);
  }
  /** Points at or after `since` (epoch ms), oldest first. */
  since(since: number): { t: number; v: number }[] {
    const out: { t: number; v: number }[] = [];
    for (let k = 0; k < this.len; k++) {
      const i = (this.start + k) % this.capacity;
      if ((this.t[i] as number) >= since) out.push({ t: this.t[i] as number, v: this.v[i] as number });
    }
    return out;
  }
}

export class PriceHistoryStore {
  private readonly aggregates = new Map<string, Ring>();
  private readonly offers = new Map<string, Ring>();
  private readonly pointsPerSeries: number;
  private readonly pointsPerOffer: number;
  private readonly maxOfferSeries: number;

  constructor(opts: HistoryOptions = {}) {
    this.pointsPerSeries = opts.pointsPerSeries ?? 1024;
    this.pointsPerOffer = opts.pointsPerOffer ?? 32;
    this.maxOfferSeries = opts.maxOfferSeries ?? 10_000;
  }

  /** Record an aggregate; returns the previous value when it changed (or undefined when unchanged). */
  recordAggregate(
    series: string,
    t: number,
    price: number | null,
  ): { changed: boolean; previous: number | null } {
    let ring = this.aggregates.get(series);
    const previous = ring?.last() ?? null;
    const v = price ?? Number.NaN;
    const same = previous === null ? price === null : Object.is(previous, v) || previous === v;
    if (ring && same) return { changed: false, previous };
    if (!ring && price === null) return { changed: false, previous: null };
    if (!ring) {
      ring = new Ring(this.pointsPerSeries);
      this.aggregates.set(series, ring);
    }
    ring.push(t, v);
    return { changed: true, previous: previous !== null && Number.isNaN(previous) ? null : previous };
  }

  /** Record an offer's move from `previous` (seeded at `prevAt` when the series is new) to `price`. */
  recordOffer(id: string, prevAt: number, previous: number, t: number, price: number): void {
    let ring = this.offers.get(id);
    if (ring) this.offers.delete(id);
    else {
      ring = new Ring(this.pointsPerOffer);
      ring.push(prevAt, previous);
      while (this.offers.size >= this.maxOfferSeries) {
        const oldest = this.offers.keys().next().value as string;
        this.offers.delete(oldest);
      }
    }
    ring.push(t, price);
    this.offers.set(id, ring);
  }

  aggregate(series: string, since: number): { t: number; v: number }[] {
    // NaN points mean "no offer" and are kept so a reader sees the gap.
    return this.aggregates.get(series)?.since(since) ?? [];
  }

  offer(id: string, since: number): { t: number; v: number }[] | null {
    return this.offers.get(id)?.since(since) ?? null;
  }

  get offerSeries(): number {
    return this.offers.size;
  }
}
