import fc from 'fast-check';
import type { Offer } from '../protocol/schemas/offer.js';
import type { Store } from '../storage/store.js';
import type { OfferSource } from './pricing.js';

/**
 * The model behind the ledger's property test (property.test.ts): random sequences of deposits (and replayed deposits),
 * bookings (streaming or not, every payment model, with small balances so top-ups fail and
 * bookings overdraw), replayed bookings, cancels, token usage, market moves and clock advances with
 * settlement, run on the real service over a real store. After every command the store verifies
 * and the model's invariants hold: money is conserved (per principal too), no requester goes below
 * zero, reservations are exactly the nodes of open leases and never exceed the capacity booked
 * against, a closed booking holds nothing. SQLite in memory, then PostgreSQL (fresh schema per run).
 */

export const T0 = Date.UTC(2026, 0, 5, 9, 30);
export const PRINCIPALS = ['pr_alice', 'pr_bob', 'pr_carol'] as const;
export const OPERATOR = { id: 'pr_operator', role: 'operator' as const };

function offer(id: string, provider: string, price: number, gpus: number): Offer {
  return {
    id,
    provider,
    provider_type: 'p2p_marketplace',
    resource_type: gpus > 0 ? 'GPU_A' : 'CPU',
    profile: null,
    sku: id,
    gpu_model: gpus > 0 ? 'H100' : null,
    gpu_count: gpus,
    gpu_memory_gb: gpus > 0 ? 80 : null,
    vcpus: 16,
    memory_gb: 64,
    price_per_hour: price,
    price_per_gpu_hour: gpus > 0 ? price / gpus : null,
    list_price_per_hour: price,
    currency: 'USD',
    interruptible: false,
    reliability: 0.99,
    region: 'eu-west-1',
    zone: null,
    latency_band: 'regional',
    distance_km: null,
    available: 0,
    verification: 'none',
    capabilities: null,
    observed_at: new Date(T0).toISOString(),
    simulated: true,
    data_quality: [],
  };
}

/** A few fixed offers: cheap and dear, odd micro prices, one 8-GPU node; two share a provider. */
export const OFFERS: readonly { offer: Offer; supply: number }[] = [
  { offer: offer('of_cheap', 'vast', 0.5, 1), supply: 4 },
  { offer: offer('of_odd', 'vast', 3.333333, 2), supply: 3 },
  { offer: offer('of_big', 'lambda', 24, 8), supply: 2 },
  { offer: offer('of_cpu', 'hetzner', 0.071, 0), supply: 6 },
];
export const PROVIDERS = [...new Set(OFFERS.map((o) => o.offer.provider))];

/** The market as pricing sees it: provider figures set by the test, reservations read from the store. */
export class FixedMarket implements OfferSource {
  readonly supplies = new Map(OFFERS.map((o) => [o.offer.id, o.supply]));
  reserved = new Map<string, number>();
  async sync(store: Store): Promise<void> {
    this.reserved = await store.ledger.reserved();
  }
  free(id: string): number {
    return Math.max(0, (this.supplies.get(id) ?? 0) - (this.reserved.get(id) ?? 0));
  }
  get(id: string): Offer | null {
    const o = OFFERS.find((x) => x.offer.id === id);
    return o ? { ...o.offer, available: this.free(id) } : null;
  }
  supply(id: string): number | null {
    return this.supplies.get(id) ?? null;
  }
  cheapest() {
    return { ok: false as const, reason: 'unknown_provider' as const };
  }
  runKinds(): readonly string[] {
    return [];
  }
  baselineFor(): Offer | null {
    return null;
  }
}

// ---------------------------------------------------------------- commands

type Model = 'per_second' | 'per_token' | 'per_epoch_hour' | 'per_epoch_day';
export type Cmd =
  | { k: 'deposit'; p: number; micros: number }
  | { k: 'replayDeposit'; idx: number; otherAmount: boolean }
  | {
      k: 'book';
      p: number;
      offer: number;
      nodes: number;
      hours: number;
      stream: boolean;
      model: Model;
      keyed: boolean;
    }
  | { k: 'replayBook'; idx: number }
  | { k: 'cancel'; idx: number; asOther: boolean }
  | { k: 'tokens'; idx: number; n: number }
  | { k: 'supply'; offer: number; n: number }
  | { k: 'advance'; ms: number };

const principal = fc.nat({ max: PRINCIPALS.length - 1 });
/** Small amounts too, so streaming holds run dry, top-ups fail and bookings overdraw. */
export const smallMicros = fc.integer({ min: 1, max: 3_000_000 });
export const depositMicros = fc.oneof(
  smallMicros,
  fc.integer({ min: 1_000_000, max: 40_000_000 }),
  fc.integer({ min: 10_000_000, max: 400_000_000 }),
);
export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.record({ k: fc.constant('deposit' as const), p: fc.nat({ max: 1 }), micros: depositMicros }),
      fc.record({ k: fc.constant('deposit' as const), p: fc.constant(2), micros: smallMicros }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('replayDeposit' as const),
      idx: fc.nat(),
      otherAmount: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('book' as const),
      p: principal,
      offer: fc.nat({ max: OFFERS.length - 1 }),
      nodes: fc.integer({ min: 1, max: 3 }),
      hours: fc.constantFrom(0.25, 0.5, 1, 1.5, 2, 3, 26),
      stream: fc.boolean(),
      model: fc.constantFrom<Model>('per_second', 'per_token', 'per_epoch_hour', 'per_epoch_day'),
      keyed: fc.boolean(),
    }),
  },
  {
    // The overdraw scenario: Carol (always short of money) streams a long booking on a cheap offer.
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('book' as const),
      p: fc.constant(2),
      offer: fc.constantFrom(0, 3),
      nodes: fc.integer({ min: 1, max: 2 }),
      hours: fc.constantFrom(2, 3, 26),
      stream: fc.constant(true),
      model: fc.constantFrom<Model>('per_second', 'per_token', 'per_epoch_hour'),
      keyed: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('replayBook' as const), idx: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('cancel' as const), idx: fc.nat(), asOther: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('tokens' as const),
      idx: fc.nat(),
      n: fc.integer({ min: 1, max: 50_000_000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('supply' as const),
      offer: fc.nat({ max: OFFERS.length - 1 }),
      n: fc.nat({ max: 6 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('advance' as const),
      ms: fc.oneof(
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 4 * 3600 }).map((s) => s * 1000),
      ),
    }),
  },
);
