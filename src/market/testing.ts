import { createCapabilityCatalog } from '../capabilities/index.js';
import type { OfferInput } from '../providers/offer.js';
import { ManualClock } from '../util/clock.js';
import { loadGeo } from './geo.js';
import { createMarket, type Market } from './market.js';
import { type ParseContext, parseNodesQuery } from './query.js';
import type { MarketQuery } from './types.js';

/** Test helpers: a real capability catalog, the shipped region table and a hand-moved clock. */
export const T0 = Date.UTC(2025, 0, 1);

export function offer(o: Partial<OfferInput> & Pick<OfferInput, 'provider' | 'sku'>): OfferInput {
  return {
    provider_type: 'traditional_cloud',
    gpu_model: 'H100',
    gpu_count: 1,
    vcpus: 16,
    memory_gb: 128,
    gpu_memory_gb: null,
    price_per_hour: 2,
    list_price_per_hour: o.price_per_hour ?? 2,
    interruptible: false,
    region: 'us-east-1',
    zone: null,
    available: 4,
    reliability: 0.99,
    verification: 'catalog_listed',
    observed_at: T0,
    simulated: true,
    data_quality: [],
    ...o,
  };
}

export function newMarket(byProvider: Record<string, OfferInput[]> = {}): {
  market: Market;
  clock: ManualClock;
  ctx: ParseContext;
} {
  const clock = new ManualClock(T0);
  const capabilities = createCapabilityCatalog();
  const geo = loadGeo();
  const market = createMarket({ capabilities, geo, clock });
  if (Object.keys(byProvider).length) market.replaceOffers(new Map(Object.entries(byProvider)));
  const ctx: ParseContext = { capabilities, geo, knownProviders: market.knownProviders() };
  return { market, clock, ctx };
}

/** Parse a query string (test shorthand); throws on problems because a test wrote it. */
export function q(ctx: ParseContext, qs: string): MarketQuery {
  const raw: Record<string, string> = Object.fromEntries(new URLSearchParams(qs));
  const r = parseNodesQuery(raw, ctx);
  if (!r.ok) throw new Error(`bad test query ${qs}: ${JSON.stringify(r.problems)}`);
  return r.query;
}
