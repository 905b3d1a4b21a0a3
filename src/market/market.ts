import type { CapabilityCatalog } from '../capabilities/types.js';
import {
  PROVIDER_TYPES,
  type ProviderType,
  RESOURCE_CLASSES,
  type ResourceClass,
  SPEC_CLASSES,
  SPOT_KEYS,
} from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import type { OfferInput } from '../providers/offer.js';
import { type Clock, iso } from '../util/clock.js';
import { type Columns, encodeOffers, selectRows } from './columns.js';
import { type DiscoverQuery, type DiscoverResult, executeDiscover } from './discover.js';
import { createMarketEnv, type MarketEnv } from './env.js';
import { DEFAULT_LOCATION, type Geo, type GeoPoint } from './geo.js';
import { type HistoryOptions, PriceHistoryStore } from './history.js';
import { encodeOfferId } from './ids.js';
import { buildSnapshot, type Snapshot } from './index-store.js';
import { toOffer } from './materialize.js';
import { forgetProviderStats } from './provider-stats.js';
import { executeQuery, type QueryResult } from './query-exec.js';
import { Reservations } from './reservations.js';
import { computeSpot, SPOT_UNIT, type SpotPrices } from './spot.js';
import type { MarketQuery } from './types.js';

/** A price change the server streams as SSE. Aggregates always; offer moves up to a cap per swap. */
export type PriceTick =
  | {
      kind: 'aggregate';
      spot_key: string;
      provider_type: ProviderType;
      resource_type: string;
      price: number | null;
      previous: number | null;
      at: string;
    }
  | {
      kind: 'offer';
      id: string;
      provider: string;
      resource_type: string;
      price_per_hour: number;
      previous: number;
      at: string;
    };

export interface PriceHistory {
  resource_type: string;
  unit: string;
  series: { provider_type: ProviderType; spot_key: string; points: { at: string; price: number | null }[] }[];
}

export interface MarketDeps {
  capabilities: CapabilityCatalog;
  geo: Geo;
  clock: Clock;
  /** Where bands are measured from without `near`: a point or a region name; default us-east-1. */
  location?: GeoPoint | string;
  history?: HistoryOptions;
  /** Offer ticks emitted per swap at most (aggregate ticks are never capped). Default 1000. */
  maxOfferTicks?: number;
}

export interface Market {
  readonly env: MarketEnv;
  readonly location: GeoPoint;
  snapshot(): Snapshot;
  /**
   * Replace these providers' offers (every other provider's stay) and swap in a new snapshot. A
   * value may be a function producing the list, called when that provider is encoded, so a bulk
   * load never holds every provider's objects at once.
   */
  replaceOffers(
    updates: ReadonlyMap<string, readonly OfferInput[] | (() => readonly OfferInput[])>,
  ): Snapshot;
  /** Providers with offers in the current snapshot, and every provider ever loaded. */
  knownProviders(): Set<string>;
  offerCount(provider: string): number;
  query(q: MarketQuery): QueryResult;
  get(id: string, near?: GeoPoint): Offer | null;
  discover(q: DiscoverQuery): DiscoverResult;
  spotPrices(): SpotPrices;
  /** Aggregate history of a class (GPU_A…) since an epoch-ms time, one series per provider type. */
  history(resourceType: ResourceClass, since: number, providerType?: ProviderType): PriceHistory;
  offerHistory(id: string, since: number): { at: string; price_per_hour: number }[] | null;
  onTick(listener: (t: PriceTick) => void): () => void;
  /**
   * Every offer with at least `minAvailable` nodes rentable now, as wire offers with bands measured
   * from `near` (default the market's location). The planner's input: it filters with reasons itself.
   */
  availableOffers(minAvailable: number, near?: GeoPoint): Offer[];
  /**
   * Nodes reserved now per offer id, as read from the database (the truth for reservations). Every
   * read then shows `available` = max(0, supply − reserved). `replace` sets the whole map (a missing
   * id means 0); `patch` updates only the given ids (0 removes). Ids not in the snapshot are kept.
   */
  applyReservations(reserved: ReadonlyMap<string, number>, mode: 'replace' | 'patch'): void;
  /** The provider's own figure for an offer (before reservations), or null for an unknown id. */
  supply(id: string): number | null;
  reservedNodes(id: string): number;
  /** Moves on whenever reservations change: with the snapshot, the version of every read. */
  reservationEpoch(): number;
}

export function createMarket(deps: MarketDeps): Market {
  const loc = deps.location;
  const location: GeoPoint =
    loc === undefined
      ? { lat: DEFAULT_LOCATION.lat, lon: DEFAULT_LOCATION.lon }
      : typeof loc === 'string'
        ? (deps.geo.parseNear(loc) ?? { lat: DEFAULT_LOCATION.lat, lon: DEFAULT_LOCATION.lon })
        : loc;
  const env = createMarketEnv(deps.capabilities, deps.geo, location);
  const history = new PriceHistoryStore(deps.history);
  const listeners = new Set<(t: PriceTick) => void>();
  const maxOfferTicks = deps.maxOfferTicks ?? 1000;
  let snap = buildSnapshot([], env, deps.clock.now());
  let spot: SpotPrices | null = null;
  // A reservation sold out or freed up a row: spot figures (O(n) to compute) are redone, recorded
  // and ticked when next read or at the next swap, never on the booking path.
  let spotUnrecorded = false;
  const counts = new Map<string, number>();
  const reservations = new Reservations();

  const emit = (t: PriceTick) => {
    for (const l of listeners) l(t);
  };
  const spotNow = () => {
    if (!spot) spot = computeSpot(snap, env);
    return spot;
  };

  const recordAggregates = (at: number) => {
    const s = spotNow();
    for (const type of PROVIDER_TYPES) {
      const key = SPOT_KEYS[type];
      for (const cls of SPEC_CLASSES) {
        const price = s[key]?.[cls] ?? null;
        const r = history.recordAggregate(`${type}|${cls}`, at, price);
        if (r.changed && listeners.size) {
          emit({
            kind: 'aggregate',
            spot_key: key,
            provider_type: type,
            resource_type: cls,
            price,
            previous: r.previous,
            at: iso(at),
          });
        }
      }
    }
  };

  const catchUpSpot = () => {
    if (!spotUnrecorded) return;
    spotUnrecorded = false;
    recordAggregates(deps.clock.now());
  };

  const recordMoves = (old: Snapshot, next: Snapshot, replaced: ReadonlySet<number>, at: number) => {
    let ticks = 0;
    const c = next.cols;
    for (let i = 0; i < next.n; i++) {
      if (!replaced.has(c.provider[i] as number)) continue;
      const hi = c.idHi[i] as number;
      const lo = c.idLo[i] as number;
      const j = old.rowOfHash(hi, lo);
      if (j < 0) continue;
      const before = old.cols.price[j] as number;
      const now = c.price[i] as number;
      if (before === now) continue;
      const id = encodeOfferId(hi, lo);
      history.recordOffer(id, old.cols.observedAt[j] as number, before, at, now);
      if (ticks++ < maxOfferTicks && listeners.size) {
        const provider = env.providers.values[c.provider[i] as number] as string;
        const cls = RESOURCE_CLASSES[c.cls[i] as number] as string;
        emit({
          kind: 'offer',
          id,
          provider,
          resource_type: cls,
          price_per_hour: now,
          previous: before,
          at: iso(at),
        });
      }
    }
  };

  const market: Market = {
    env,
    location,
    snapshot: () => snap,
    replaceOffers(updates) {
      const at = deps.clock.now();
      const replaced = new Set<number>();
      const parts: Columns[] = [];
      for (const [name, given] of updates) {
        replaced.add(env.providers.code(name));
        const offers = typeof given === 'function' ? given() : given;
        // Offers carry their provider's name; a mismatch would escape replacement later.
        const own = offers.filter((o) => o.provider === name);
        parts.push(encodeOffers(own, env));
      }
      const prev = snap;
      parts.push(selectRows(prev.cols, (i) => !replaced.has(prev.cols.provider[i] as number)));
      const next = buildSnapshot(parts, env, at);
      reservations.applyAll(next);
      snap = next;
      spot = null;
      spotUnrecorded = false;
      counts.clear();
      const off = next.postings.price.provider.offsets;
      for (let p = 1; p + 1 < off.length; p++) {
        const k = (off[p + 1] as number) - (off[p] as number);
        if (k) counts.set(env.providers.values[p] as string, k);
      }
      recordMoves(prev, next, replaced, at);
      recordAggregates(at);
      return next;
    },
    applyReservations(reserved, mode) {
      // Patches the live snapshot's `available` in place (single-threaded: no reader sees half).
      const ch = reservations.update(reserved, mode, snap);
      if (ch.rows === 0) return;
      forgetProviderStats(snap);
      // Spot prices count only rows with capacity: they move only when a row sells out or frees up.
      if (ch.crossedZero) {
        spot = null;
        spotUnrecorded = true;
      }
    },
    supply(id) {
      const s = snap;
      const r = s.rowOf(id);
      return r < 0 ? null : (s.cols.supply[r] as number);
    },
    reservedNodes: (id) => reservations.get(id),
    reservationEpoch: () => reservations.epoch,
    knownProviders: () => new Set(env.providers.values.slice(1)),
    offerCount: (p) => counts.get(p) ?? 0,
    query: (q) => executeQuery(snap, env, q, location),
    get(id, near) {
      const s = snap;
      const r = s.rowOf(id);
      return r < 0 ? null : toOffer(s, env, env.locView(near ?? location), r);
    },
    discover: (q) => executeDiscover(snap, env, q, location),
    availableOffers(minAvailable, near) {
      const s = snap;
      const view = env.locView(near ?? location);
      const out: Offer[] = [];
      for (let r = 0; r < s.n; r++) {
        if ((s.cols.available[r] as number) >= minAvailable) out.push(toOffer(s, env, view, r));
      }
      return out;
    },
    spotPrices() {
      catchUpSpot();
      return spotNow();
    },
    history(resourceType, since, providerType) {
      catchUpSpot();
      const types = providerType ? [providerType] : [...PROVIDER_TYPES];
      return {
        resource_type: resourceType,
        unit: SPOT_UNIT,
        series: types.map((t) => ({
          provider_type: t,
          spot_key: SPOT_KEYS[t],
          points: history.aggregate(`${t}|${resourceType}`, since).map((p) => ({
            at: iso(p.t),
            price: Number.isNaN(p.v) ? null : p.v,
          })),
        })),
      };
    },
    offerHistory(id, since) {
      return history.offer(id, since)?.map((p) => ({ at: iso(p.t), price_per_hour: p.v })) ?? null;
    },
    onTick(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return market;
}
