import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Problem } from '../protocol/problem.js';
import type { AccountWire, BookingWireSchema, TransactionList } from '../protocol/schemas/booking.js';
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
  /** The UCAN proofs a delegated `token` names that the gateway did not mint (sent as `ucans`). */
  proofs?: string[];
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
export type BookingWire = Static<typeof BookingWireSchema>;
export type AccountResponse = Static<typeof AccountWire>;
export type TransactionsResponse = Static<typeof TransactionList>;
export interface CreditResponse {
  account: string;
  transaction_id: string;
  amount_usd: number;
  balance_usd: number;
  rail: string;
  replayed: boolean;
}

export class ComputeMdClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly proofs: string[];
  private readonly fetchImpl: typeof fetch;
  private readonly retries: number;
  private readonly maxBackoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? 'http://127.0.0.1:7070').replace(/\/+$/, '');
    this.token = opts.token;
    this.proofs = opts.proofs ?? [];
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

  /**
   * POST /book. An Idempotency-Key is sent always (a fresh UUID unless given), so a retry after a
   * lost reply returns the same booking instead of booking twice.
   */
  book(body: Record<string, unknown>, opts: { idempotencyKey?: string } = {}): Promise<BookingWire> {
    return this.request('POST', '/book', undefined, body, {
      'idempotency-key': opts.idempotencyKey ?? randomUUID(),
    });
  }
  bookings(q?: {
    cursor?: string;
    limit?: number;
  }): Promise<{ bookings: BookingWire[]; next_cursor: string | null }> {
    return this.get('/bookings', q);
  }
  booking(id: string): Promise<BookingWire> {
    return this.get(`/bookings/${encodeURIComponent(id)}`);
  }
  cancelBooking(id: string, opts: { idempotencyKey?: string } = {}): Promise<BookingWire> {
    return this.request(
      'POST',
      `/bookings/${encodeURIComponent(id)}/cancel`,
      undefined,
      {},
      {
        'idempotency-key': opts.idempotencyKey ?? randomUUID(),
      },
    );
  }
  account(): Promise<AccountResponse> {
    return this.get('/accounts/me');
  }
  transactions(q?: { cursor?: string; limit?: number }): Promise<TransactionsResponse> {
    return this.get('/accounts/me/transactions', q);
  }
  /** Operator only: credit a principal's account (the credits rail). */
  credit(
    id: string,
    amountUsd: number,
    opts: { idempotencyKey?: string; memo?: string } = {},
  ): Promise<CreditResponse> {
    return this.request(
      'POST',
      `/accounts/${encodeURIComponent(id)}/credit`,
      undefined,
      { amount_usd: amountUsd, ...(opts.memo ? { memo: opts.memo } : {}) },
      { 'idempotency-key': opts.idempotencyKey ?? randomUUID() },
    );
  }
  /** Operator only: check every ledger invariant. */
  verifyLedger(): Promise<{ ok: boolean; violations: { code: string; detail: string; subject: string }[] }> {
    return this.get('/ledger/verify');
  }

  /** Operator only: a requester or provider principal and its first API key (shown once). */
  createPrincipal(body: {
    role: 'requester' | 'provider';
    name: string;
    did?: string;
  }): Promise<PrincipalCreated> {
    return this.request('POST', '/principals', undefined, body);
  }
  principals(q?: {
    cursor?: string;
    limit?: number;
  }): Promise<{ principals: PrincipalWire[]; next_cursor: string | null }> {
    return this.get('/principals', q);
  }
  /**
   * Mints a UCAN delegating `can` with caveats (`max_spend_usd`, `max_price_per_hour`,
   * `providers`, `provider_types`, `resource_types`), `expires_in` such as "1d"; or, with
   * `{kind: "api_key"}`, a new API key for yourself.
   */
  createToken(body: Record<string, unknown>): Promise<TokenCreated> {
    return this.request('POST', '/tokens', undefined, body);
  }
  tokens(q?: {
    principal?: string;
    cursor?: string;
    limit?: number;
  }): Promise<{ tokens: TokenWire[]; next_cursor: string | null }> {
    return this.get('/tokens', q);
  }
  revokeToken(id: string): Promise<TokenWire> {
    return this.request('DELETE', `/tokens/${encodeURIComponent(id)}`);
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

  async request<T>(
    method: string,
    path: string,
    q?: Query,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<T> {
    const url = `${this.baseUrl}${path}${toSearch(q)}`;
    // A POST with an Idempotency-Key is safe to retry: the gateway replays the first reply.
    const idempotent =
      method === 'GET' || method === 'HEAD' || method === 'DELETE' || extra['idempotency-key'] !== undefined;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers: this.headers(
            body === undefined ? extra : { ...extra, 'content-type': 'application/json' },
          ),
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
    if (this.proofs.length > 0) h.ucans = this.proofs.join(', ');
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

export interface PrincipalWire {
  id: string;
  role: 'operator' | 'requester' | 'provider';
  name: string;
  did: string | null;
  created_at: string;
  disabled_at: string | null;
}
export interface PrincipalCreated {
  principal: PrincipalWire;
  api_key: { id: string; key: string; prefix: string; expires_at: string | null };
}
export interface TokenWire {
  id: string;
  principal: string;
  kind: 'api_key' | 'ucan';
  label: string;
  prefix?: string;
  cid?: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  capabilities?: unknown;
  audience?: string;
}
/** A minted UCAN (`token`), or an API key (`key`) for `{kind: "api_key"}`. */
export interface TokenCreated {
  id: string;
  token?: string;
  key?: string;
  cid?: string;
  audience?: string;
  expires_at: string | null;
  capabilities?: Record<string, Record<string, unknown[]>>;
}
