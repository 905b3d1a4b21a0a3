import type { Offer } from '../protocol/schemas/offer.js';
import type {
  CapabilitiesResponse,
  DiscoverResponse,
  HealthResponse,
  NodesResponse,
  PriceHistoryResponse,
  PriceTick,
  ProviderEntry,
  ProvidersResponse,
  RefreshResponse,
  SpotPricesResponse,
} from '../protocol/schemas/responses.js';
import { type CreateOptions, HttpCore, type Query } from './core.js';
import type { OrchestrateRequest, PlanWire } from './types.js';

/** Discovery, prices, planning and the gateway's own documents: what an agent reads before it spends. */
export class DiscoveryApi extends HttpCore {
  nodes(q?: Query): Promise<NodesResponse> {
    return this.get('/nodes', q);
  }

  /** Every offer matching `q`, following next_cursor page by page. */
  async *nodesAll(q: Query = {}): AsyncGenerator<Offer> {
    let cursor: string | null = null;
    do {
      const page: NodesResponse = await this.nodes({ ...q, cursor: cursor ?? undefined });
      yield* page.offers;
      cursor = page.next_cursor;
    } while (cursor);
  }

  node(id: string): Promise<Offer> {
    return this.get(`/nodes/${encodeURIComponent(id)}`);
  }
  discover(q?: Query): Promise<DiscoverResponse> {
    return this.get('/discover', q);
  }
  providers(q?: Query): Promise<ProvidersResponse> {
    return this.get('/providers', q);
  }
  provider(name: string): Promise<ProviderEntry> {
    return this.get(`/providers/${encodeURIComponent(name)}`);
  }
  capabilities(): Promise<CapabilitiesResponse> {
    return this.get('/capabilities');
  }
  spotPrices(): Promise<SpotPricesResponse> {
    return this.get('/prices/spot');
  }
  priceHistory(q?: Query): Promise<PriceHistoryResponse> {
    return this.get('/prices/history', q);
  }

  /** Price ticks as they happen (Server-Sent Events), until `signal` aborts. */
  async *priceStream(signal?: AbortSignal): AsyncGenerator<PriceTick> {
    for await (const ev of this.events('/prices/stream', undefined, signal))
      if (ev.event === 'tick') yield JSON.parse(ev.data) as PriceTick;
  }

  health(): Promise<HealthResponse> {
    return this.get('/health');
  }
  /** The OpenAPI 3.1 document of this gateway. */
  openapi(): Promise<Record<string, unknown>> {
    return this.get('/openapi.json');
  }
  /** Prometheus text exposition. */
  async metrics(): Promise<string> {
    return (await this.send('GET', '/metrics', undefined, { headers: { accept: 'text/plain' } })).text();
  }

  /**
   * POST /orchestrate: a plan (a quote held until expires_at; it spends nothing). A 422
   * InfeasibleError names the binding constraint and the nearest change that fits.
   */
  orchestrate(
    body: OrchestrateRequest | Record<string, unknown>,
    opts: CreateOptions = {},
  ): Promise<PlanWire> {
    // A repeat makes a second quote at worst, never a charge: safe to retry.
    return this.create('/orchestrate', body, opts, true);
  }
  plan(id: string): Promise<PlanWire & { status?: 'active' | 'expired' }> {
    return this.get(`/plans/${encodeURIComponent(id)}`);
  }

  /** Operator only: reload price catalogs from `from` (URL or a directory on the gateway host). */
  refreshCatalog(body: { from?: string; clouds?: string[] } = {}): Promise<RefreshResponse> {
    return this.request('POST', '/catalog/refresh', undefined, body);
  }
}
