import type { Problem } from '../protocol/problem.js';
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
import { parseSse } from './sse.js';

/** A query value: arrays become comma lists, booleans and numbers their text. */
export type QueryValue = string | number | boolean | readonly (string | number)[] | undefined | null;
export type Query = Record<string, QueryValue>;

export interface ClientOptions {
  /** Default http://127.0.0.1:7070. */
  baseUrl?: string;
  /** Bearer token (admin token, API key, OAuth2 JWT or UCAN). */
  token?: string;
  fetch?: typeof fetch;
  /** Retries of 429/503 answers and connection failures on idempotent calls (default 2). */
  retries?: number;
  /** Upper bound on one wait between retries, ms (default 10 s). */
  maxBackoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** A problem+json answer (or a transport failure) as a typed error: `problem.param` names the field. */
export class ComputeMdError extends Error {
  constructor(
    public readonly status: number,
    public readonly problem: Problem,
  ) {
    super(problem.detail || problem.title);
    this.name = 'ComputeMdError';
  }
}

export function toSearch(q: Query | undefined): string {
  if (!q) return '';
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    sp.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}

/**
 * The typed client every interface builds on (the CLI now; MCP and examples later), so there is one
 * client rather than three. Methods mirror the HTTP API one to one.
 */
export class ComputeMdClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly retries: number;
  private readonly maxBackoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? 'http://127.0.0.1:7070').replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? fetch;
    this.retries = opts.retries ?? 2;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

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
  health(): Promise<HealthResponse> {
    return this.get('/health');
  }
  /** Operator only: reload price catalogs from `from` (URL or a directory on the gateway host). */
  refreshCatalog(body: { from?: string; clouds?: string[] } = {}): Promise<RefreshResponse> {
    return this.request('POST', '/catalog/refresh', undefined, body);
  }

  /** Price ticks as they happen (Server-Sent Events), until `signal` aborts. */
  async *priceStream(signal?: AbortSignal): AsyncGenerator<PriceTick> {
    const res = await this.fetchImpl(`${this.baseUrl}/prices/stream`, {
      headers: this.headers({ accept: 'text/event-stream' }),
      signal,
    });
    if (!res.ok || !res.body) throw await this.errorOf(res);
    for await (const ev of parseSse(res.body)) {
      if (ev.event === 'tick') yield JSON.parse(ev.data) as PriceTick;
    }
  }

  get<T>(path: string, q?: Query): Promise<T> {
    return this.request('GET', path, q);
  }

  async request<T>(method: string, path: string, q?: Query, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}${toSearch(q)}`;
    const idempotent = method === 'GET' || method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        if (idempotent && attempt < this.retries) {
          await this.sleep(this.backoff(attempt, null));
          continue;
        }
        throw new ComputeMdError(0, {
          type: 'about:blank',
          title: 'Gateway unreachable',
          status: 0,
          detail: `cannot reach ${this.baseUrl}: ${(err as Error).message}. Is \`computemd serve\` running?`,
        });
      }
      if ((res.status === 429 || res.status === 503) && attempt < this.retries) {
        await res.body?.cancel();
        await this.sleep(this.backoff(attempt, res.headers.get('retry-after')));
        continue;
      }
      if (!res.ok) throw await this.errorOf(res);
      return (await res.json()) as T;
    }
  }

  private backoff(attempt: number, retryAfter: string | null): number {
    const secs = retryAfter === null ? Number.NaN : Number(retryAfter);
    const ms = Number.isFinite(secs) ? secs * 1000 : 250 * 2 ** attempt;
    return Math.min(ms, this.maxBackoffMs);
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  private async errorOf(res: Response): Promise<ComputeMdError> {
    const text = await res.text();
    try {
      const p = JSON.parse(text) as Problem;
      if (p && typeof p === 'object' && 'detail' in p) return new ComputeMdError(res.status, p);
    } catch {
      // not JSON: fall through
    }
    return new ComputeMdError(res.status, {
      type: 'about:blank',
      title: res.statusText,
      status: res.status,
      detail: text.slice(0, 500) || res.statusText,
    });
  }
}
