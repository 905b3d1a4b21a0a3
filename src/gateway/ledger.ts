import type { CapabilityCatalog, CapabilityCatalogExtras } from '../capabilities/index.js';
import type { BookingDeps } from '../ledger/bookings.js';
import type { OfferSource } from '../ledger/pricing.js';
import { createRailRegistry, DEFAULT_METHOD_RAILS } from '../ledger/rails.js';
import { createLedgerService, type LedgerService } from '../ledger/service.js';
import { elapsedUsage, TokenMeter, type UsageSource } from '../ledger/settlement.js';
import type { Market, MarketQuery } from '../market/index.js';
import { RESOURCE_CLASSES } from '../protocol/glossary.js';
import type { Offer } from '../protocol/schemas/offer.js';
import type { Provider } from '../providers/provider.js';
import type { IdSource, Store } from '../storage/index.js';
import type { Clock } from '../util/clock.js';

export interface LedgerWiring {
  service: LedgerService;
  tokens: TokenMeter;
  /** Loads every reservation from the database into the market (startup). */
  syncReservations(): Promise<void>;
  /** Starts the settlement tick; returns the stop function. */
  startSettlement(intervalMs: number, onError: (err: unknown) => void): () => void;
  /** Stops listening to capacity events. */
  close(): void;
}

export interface LedgerWiringDeps {
  market: Market;
  capabilities: CapabilityCatalog & CapabilityCatalogExtras;
  store: Store;
  ids: IdSource;
  clock: Clock;
  feeBps: number;
  windowS: number;
  paymentMethods: Record<string, string | null> | null;
  replan?: (request: unknown, principal: string) => Promise<string | null>;
  usage?: UsageSource;
  /** The gateway's providers, read live (node agents join at run time): who executes what. */
  providers?: readonly Provider[];
  /** Checks a booking's signed workload manifest (identity/workload.ts). */
  verifyManifest?: BookingDeps['verifyManifest'];
  onBooked?: BookingDeps['onBooked'];
}

const GPU_CLASSES = new Set(RESOURCE_CLASSES.filter((c) => c !== 'CPU'));

/**
 * Wires the ledger to the market: prices come from the market, reservations flow back to it by
 * events (the database is the truth; the market's `available` is re-read from it on each change).
 */
export function wireLedger(d: LedgerWiringDeps): LedgerWiring {
  const offers = offerSource(d.market, d.capabilities, d.providers ?? []);
  const tokens = new TokenMeter();
  const service = createLedgerService({
    store: d.store.ledger,
    plans: d.store.plans,
    offers,
    rails: createRailRegistry(d.paymentMethods ?? DEFAULT_METHOD_RAILS),
    ids: d.ids,
    clock: d.clock,
    windowS: d.windowS,
    feeBps: d.feeBps,
    usage: d.usage ?? elapsedUsage(tokens),
    ...(d.replan ? { replan: d.replan } : {}),
    ...(d.verifyManifest ? { verifyManifest: d.verifyManifest } : {}),
    ...(d.onBooked ? { onBooked: d.onBooked } : {}),
  });
  // Capacity events carry offer ids; the reserved figures are read back from the database, so the
  // market's view cannot drift from it however events interleave.
  // A failed re-read (the database briefly unreachable) must not leave those offers stale until
  // they change again: the next event re-reads every reservation instead of only its own.
  let stale = false;
  const unsubscribe = d.store.ledger.onCapacityChange((ids) => {
    const whole = stale;
    stale = false;
    d.store.ledger
      .reserved(whole ? undefined : ids)
      .then((m) => {
        if (whole) return d.market.applyReservations(m, 'replace');
        const patch = new Map<string, number>();
        for (const id of ids) patch.set(id, m.get(id) ?? 0);
        d.market.applyReservations(patch, 'patch');
      })
      .catch(() => {
        stale = true;
      });
  });
  return {
    service,
    tokens,
    async syncReservations() {
      d.market.applyReservations(await d.store.ledger.reserved(), 'replace');
    },
    startSettlement(intervalMs, onError) {
      let running = false;
      const t = setInterval(() => {
        if (running) return;
        running = true;
        // One replica settles at a time (an advisory lock on PostgreSQL); the others stand by and
        // take over when it goes away.
        d.store.ledger
          .tryLead('settlement')
          .then((lead) => (lead ? service.settleDue() : 0))
          .catch(onError)
          .finally(() => {
            running = false;
          });
      }, intervalMs);
      t.unref();
      return () => clearInterval(t);
    },
    close: unsubscribe,
  };
}

function offerSource(
  market: Market,
  caps: CapabilityCatalog & CapabilityCatalogExtras,
  providers: readonly Provider[],
): OfferSource {
  const baselines = new WeakMap<object, Map<string, Offer | null>>();
  return {
    runKinds: (name) => providers.find((p) => p.info.name === name)?.features.run_kinds ?? [],
    get: (id) => market.get(id),
    supply: (id) => market.supply(id),
    cheapest(q) {
      const mq: MarketQuery = { sort: 'price_asc', limit: q.limit, min_available: q.minAvailable };
      const placeholder = caps.resolveProviderPlaceholder(q.provider);
      if (market.knownProviders().has(q.provider)) mq.providers = new Set([q.provider]);
      else if (placeholder) mq.provider_placeholders = new Map([[q.provider, placeholder]]);
      else return { ok: false, reason: 'unknown_provider' };
      if (q.cpu) mq.classes = new Set(['CPU']);
      else if (q.gpuType) {
        const sel = caps.resolveResourceType(q.gpuType);
        if (!sel || (sel.kind === 'class' && sel.class === 'CPU'))
          return { ok: false, reason: 'bad_gpu_type' };
        if (sel.kind === 'class') mq.classes = new Set([sel.class]);
        else mq.models = new Set(sel.models);
      } else mq.classes = GPU_CLASSES;
      return { ok: true, offers: market.query(mq).offers };
    },
    baselineFor(o) {
      const snap = market.snapshot();
      let memo = baselines.get(snap);
      if (!memo) {
        memo = new Map();
        baselines.set(snap, memo);
      }
      const key = o.gpu_model ?? `cpu:${o.vcpus}`;
      if (memo.has(key)) return memo.get(key) ?? null;
      const mq: MarketQuery = {
        sort: 'price_asc',
        limit: 200,
        min_available: 0,
        provider_types: new Set(['traditional_cloud']),
        interruptible: false,
      };
      if (o.gpu_model) mq.models = new Set([o.gpu_model]);
      else mq.classes = new Set(['CPU']);
      const hit =
        market.query(mq).offers.find((b) => (o.gpu_model ? b.gpu_count > 0 : b.vcpus >= o.vcpus)) ?? null;
      memo.set(key, hit);
      return hit;
    },
  };
}
