import type { CapabilityCatalog } from '../../capabilities/types.js';
import type { Clock } from '../../util/clock.js';
import type { OfferInput } from '../offer.js';
import { type ListOffersContext, type Provider, ProviderError } from '../provider.js';
import {
  buildSearchBody,
  createVastClient,
  VAST_API_BASE,
  VAST_DEFAULT_BACKOFF_S,
  VAST_PROVIDER_NAME,
  type VastSearchOptions,
} from './client.js';
import { createVastLeases } from './leases.js';
import { mapVastOffers, parseVastOffer, vastOfferToInput } from './offers.js';

export { VAST_API_BASE, VAST_PROVIDER_NAME } from './client.js';

export interface VastProviderOptions {
  apiKey: string;
  /** Default https://console.vast.ai (API.md). */
  baseUrl?: string;
  fetch?: typeof fetch;
  clock: Clock;
  capabilities: CapabilityCatalog;
  /** How long a fetched offer list is served without asking Vast again; default 60 s. */
  cacheTtlMs?: number;
  /** Per-request limit; default 15 s. */
  timeoutMs?: number;
  /** The offer query (filters, limit, allocated storage); both markets use it. */
  search?: VastSearchOptions;
  /** Image a launch uses when the request names none. */
  defaultImage?: string;
}

/** The live Vast.ai marketplace: real offers (on-demand and interruptible bids), real leases. */
export function createVastProvider(opts: VastProviderOptions): Provider {
  const { clock, capabilities } = opts;
  const baseUrl = opts.baseUrl ?? VAST_API_BASE;
  const cacheTtlMs = opts.cacheTtlMs ?? 60_000;
  const client = createVastClient({
    apiKey: opts.apiKey,
    baseUrl,
    fetch: opts.fetch ?? globalThis.fetch,
    clock,
    timeoutMs: opts.timeoutMs,
  });

  // Per-provider state (never module-level): the last good list, when it was fetched, the
  // rate-limit back-off, and the fetch in flight so concurrent callers share one request.
  let cache: { offers: OfferInput[]; fetchedAt: number; minBids: Map<string, number> } | null = null;
  let backoffUntil = 0;
  let inflight: Promise<OfferInput[]> | null = null;

  async function fetchAll(signal: AbortSignal | undefined): Promise<OfferInput[]> {
    const onDemandRows = await client.searchOffers(buildSearchBody('on-demand', opts.search), signal);
    const bidRows = await client.searchOffers(buildSearchBody('bid', opts.search), signal);
    const observedAt = clock.now();
    const ctx = { observedAt, capabilities };
    const onDemand = mapVastOffers(onDemandRows, 'on-demand', ctx);
    const bidOffers = bidRows.map((raw, i) => parseVastOffer(raw, i, 'bid'));
    const bids = bidOffers.map((o) => vastOfferToInput(o, 'bid', ctx));
    // Kept for launch: an interruptible lease bids the offer's current floor unless told otherwise.
    const minBids = new Map(bidOffers.map((o) => [String(o.id), o.min_bid ?? 0]));
    cache = { offers: [...onDemand, ...bids], fetchedAt: observedAt, minBids };
    return cache.offers;
  }

  async function refresh(signal: AbortSignal | undefined): Promise<OfferInput[]> {
    try {
      return await fetchAll(signal);
    } catch (err) {
      if (err instanceof ProviderError && err.status === 429) {
        backoffUntil = clock.now() + (err.retry_after_s ?? VAST_DEFAULT_BACKOFF_S) * 1000;
      }
      throw err;
    }
  }

  const provider = {
    info: {
      name: VAST_PROVIDER_NAME,
      type: 'p2p_marketplace',
      description:
        'Vast.ai GPU marketplace: live offers from verified hosts, on-demand and interruptible (bid).',
      payment: ['fiat', 'crypto'],
      verification: 'benchmark_based',
      simulated: false,
      source: `${baseUrl}/api/v0/bundles/`,
    },
    features: {
      interruptible: true,
      multi_node: false,
      stop_resume: false,
      attestation: false,
      run_kinds: ['image'],
      unsupported: {
        multi_node:
          'a Vast offer is one machine rented through its own ask; hosts share no private network, so a job spans one node',
        stop_resume:
          'Vast can stop and start an instance (PUT /instances/{id}/ state), but this adapter does not call it yet',
        attestation:
          'Vast verifies hosts by its own tests but offers no hardware attestation (TEE) of a machine',
      },
    },
    refresh_interval_s: 60,

    /**
     * Within cacheTtlMs: the cached list. During a 429 back-off: the cached list with its old
     * observed_at, and no request; with nothing cached, a 429 ProviderError with the seconds left.
     * A 429 itself rejects (the market keeps its snapshot) and starts the back-off.
     */
    async listOffers(ctx: ListOffersContext): Promise<OfferInput[]> {
      const now = clock.now();
      if (cache && now - cache.fetchedAt < cacheTtlMs) return cache.offers;
      if (now < backoffUntil) {
        if (cache) return cache.offers;
        const left = Math.ceil((backoffUntil - now) / 1000);
        throw new ProviderError(VAST_PROVIDER_NAME, `rate-limited; backing off ${left} s more`, 429, left);
      }
      if (!inflight) {
        inflight = refresh(ctx.signal).finally(() => {
          inflight = null;
        });
      }
      return inflight;
    },

    leases: createVastLeases({
      client,
      minBidFor: (sku) => cache?.minBids.get(sku) ?? null,
      defaultImage: opts.defaultImage,
    }),
  } satisfies Provider;
  return provider;
}

/** The provider when VAST_API_KEY is set (non-empty), else null; VAST_URL overrides the base. */
export function vastFromEnv(
  env: Record<string, string | undefined>,
  deps: Omit<VastProviderOptions, 'apiKey'>,
): Provider | null {
  const apiKey = env.VAST_API_KEY?.trim();
  if (!apiKey) return null;
  const baseUrl = deps.baseUrl ?? (env.VAST_URL?.trim() || undefined);
  return createVastProvider({ ...deps, apiKey, baseUrl });
}
