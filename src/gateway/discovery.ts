import type { CapabilityCatalog, CapabilityCatalogExtras } from '../capabilities/index.js';
import {
  type Geo,
  type Market,
  type ParseContext,
  parseDiscoverQuery,
  parseNodesQuery,
  providerStats,
  type Refresher,
} from '../market/index.js';
import { isProviderType, RESOURCE_CLASSES, type ResourceClass } from '../protocol/glossary.js';
import type { ProviderEntry } from '../protocol/schemas/responses.js';
import type { Provider } from '../providers/provider.js';
import type { DiscoveryApi, ParamProblem } from '../server/deps.js';
import { iso } from '../util/clock.js';

export interface DiscoveryDeps {
  market: Market;
  refresher: Refresher;
  providers: readonly Provider[];
  capabilities: CapabilityCatalog & CapabilityCatalogExtras;
  geo: Geo;
  now: () => number;
}

const HISTORY_KEYS = new Set(['resource_type', 'provider_type', 'since']);
const DAY_MS = 86_400_000;

const usd = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
const round6 = (n: number | null) => (n === null ? null : Math.round(n * 1e6) / 1e6);

/**
 * Adapts the market, the refresher and the provider set to what the HTTP layer needs, in wire
 * terms. Everything here is pure reading: it never changes the market.
 */
export function createDiscoveryApi(d: DiscoveryDeps): DiscoveryApi {
  const ctx = (): ParseContext => ({
    capabilities: d.capabilities,
    geo: d.geo,
    knownProviders: d.market.knownProviders(),
    resolveProviderPlaceholder: (n) => d.capabilities.resolveProviderPlaceholder(n),
  });
  const stats = () => providerStats(d.market.snapshot(), d.market.env, d.market.location);
  // The response cache drops its entries when version() is a new object: a new one per (snapshot,
  // reservation epoch), since a reservation changes `available` within one snapshot.
  let ver = { snap: d.market.snapshot() as object, epoch: d.market.reservationEpoch() };
  const version = () => {
    const snap = d.market.snapshot();
    const epoch = d.market.reservationEpoch();
    if (ver.snap !== snap || ver.epoch !== epoch) ver = { snap, epoch };
    return ver;
  };

  function providers(): ProviderEntry[] {
    const all = stats();
    const health = new Map(d.refresher.health().map((h) => [h.provider, h]));
    return d.providers.map((p) => {
      const s = all.get(p.info.name);
      const h = health.get(p.info.name);
      const min = round6(s?.price_min ?? null);
      const max = round6(s?.price_max ?? null);
      const gpuOffers = s ? s.models.size > 0 : false;
      return {
        name: p.info.name,
        type: p.info.type,
        description: p.info.description,
        available_resources: gpuOffers ? (s?.available_gpus ?? 0) : Math.round(s?.available_vcpus ?? 0),
        resource_types: s ? RESOURCE_CLASSES.filter((c) => s.classes.has(c)) : [],
        price_range: min === null || max === null ? null : `$${usd(min)}-${usd(max)}/hr`,
        price_min_per_gpu_hour: min,
        price_max_per_gpu_hour: max,
        cpu_price_min_per_node_hour: round6(s?.cpu_price_min ?? null),
        payment: p.info.payment,
        latency_band: s?.best_band ?? null,
        interruptible: s?.interruptible ?? p.features.interruptible,
        verification: p.info.verification,
        regions: s?.regions.size ?? 0,
        region_names: s ? [...s.regions].sort() : [],
        offers: s?.offers ?? 0,
        hosts: s?.available_nodes ?? 0,
        cpu_cores: Math.round(s?.available_vcpus ?? 0),
        gpu_models: s ? [...s.models].sort() : [],
        simulated: p.info.simulated,
        health: {
          status: h?.status ?? 'pending',
          last_refresh_at: h?.last_refresh_at ?? null,
          last_success_at: h?.last_success_at ?? null,
          last_error: h?.last_error ?? null,
          consecutive_failures: h?.consecutive_failures ?? 0,
        },
        features: p.features as unknown as Record<string, unknown>,
        source: p.info.source,
        ...(p.info.extra ?? {}),
        ...('report' in p && typeof p.report === 'function' ? { catalog_report: p.report() } : {}),
      };
    });
  }

  return {
    nodes(raw) {
      const r = parseNodesQuery(raw, ctx());
      if (!r.ok) return { ok: false, problems: r.problems };
      const res = d.market.query(r.query);
      return {
        ok: true,
        value: { offers: res.offers, next_cursor: res.next_cursor, snapshot_at: res.snapshot_at },
      };
    },
    node: (id) => d.market.get(id),
    discover(raw) {
      const r = parseDiscoverQuery(raw, ctx());
      if (!r.ok) return { ok: false, problems: r.problems };
      const res = d.market.discover(r.query);
      const options = res.options.map((o) => ({ ...o, total_cost: `$${usd(o.total_cost_usd)}` }));
      return {
        ok: true,
        value: {
          ...res,
          options,
          count: options.length,
          excluded: Object.fromEntries(res.excluded.map((e) => [e.reason, e.count])),
        },
      };
    },
    providers,
    spotPrices() {
      const s = d.market.spotPrices();
      return { ...s, as_of: (s as { snapshot_at?: string }).snapshot_at ?? iso(d.now()) } as never;
    },
    priceHistory(raw) {
      const problems: ParamProblem[] = [];
      for (const k of Object.keys(raw))
        if (!HISTORY_KEYS.has(k)) problems.push({ param: k, detail: 'unknown parameter' });
      const one = (k: string): string | undefined => {
        const v = raw[k];
        if (Array.isArray(v)) {
          problems.push({ param: k, detail: 'given more than once' });
          return undefined;
        }
        return typeof v === 'string' ? v : undefined;
      };
      const rt = one('resource_type') ?? 'GPU_A';
      const sel = d.capabilities.resolveResourceType(rt);
      let cls: ResourceClass | null = null;
      if (sel?.kind === 'class') cls = sel.class;
      else if (sel && sel.models.length > 0) cls = d.capabilities.classOf(sel.models[0] ?? null);
      if (!cls)
        problems.push({
          param: 'resource_type',
          detail: `unknown resource type "${rt}" (a class such as GPU_A, a profile or a model)`,
        });
      const pt = one('provider_type');
      if (pt !== undefined && !isProviderType(pt))
        problems.push({ param: 'provider_type', detail: `unknown provider type "${pt}"` });
      const sinceRaw = one('since');
      let since = d.now() - DAY_MS;
      if (sinceRaw !== undefined) {
        const secs = Number(sinceRaw);
        const t = Date.parse(sinceRaw);
        if (sinceRaw.trim() !== '' && Number.isFinite(secs) && secs >= 0) since = d.now() - secs * 1000;
        else if (Number.isFinite(t)) since = t;
        else problems.push({ param: 'since', detail: 'must be an RFC 3339 time or a number of seconds ago' });
      }
      if (problems.length > 0 || !cls) return { ok: false, problems };
      const h = d.market.history(cls, since, pt !== undefined && isProviderType(pt) ? pt : undefined);
      return { ok: true, value: { ...h, resource_type: cls, since: iso(since) } };
    },
    onTick: (listener) => d.market.onTick((t) => listener(t as never)),
    offerCount: () => d.market.snapshot().n,
    version,
    offeredModels() {
      const out = new Set<string>();
      for (const s of stats().values()) for (const m of s.models) out.add(m);
      return out;
    },
    offersByProvider: () => new Map([...stats()].map(([p, s]) => [p, s.offers])),
    providerHealth: () =>
      new Map(
        d.refresher
          .health()
          .map((h) => [h.provider, { up: h.status === 'ok', errors: h.consecutive_failures }]),
      ),
  };
}
