import { randomUUID } from 'node:crypto';
import type { Problem } from '../protocol/problem.js';
import { type ComputeMdError, errorFor } from './errors.js';
import { parseSse, type SseEvent } from './sse.js';

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

/** Options of a call that creates something: the Idempotency-Key (default: a fresh UUID). */
export interface CreateOptions {
  idempotencyKey?: string;
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

interface SendInit {
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /**
   * Whether a connection failure may be retried: the call is safe to repeat (GET, DELETE), or it
   * carries an Idempotency-Key the gateway honours, so a repeat returns the first reply.
   */
  retrySafe?: boolean;
  /** Send no bearer token or proofs (the OAuth token endpoint authenticates its client itself). */
  anonymous?: boolean;
}

/**
 * The transport under every method: base URL, bearer token and UCAN proofs, retries with backoff
 * on 429/503 (honouring Retry-After, which the gateway sends before a handler runs, so nothing was
 * done) and on dropped connections for calls safe to repeat, and problem+json as typed errors.
 */
export class HttpCore {
  readonly baseUrl: string;
  protected readonly token: string | undefined;
  protected readonly proofs: string[];
  protected readonly fetchImpl: typeof fetch;
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

  get<T>(path: string, q?: Query): Promise<T> {
    return this.request('GET', path, q);
  }

  /** One JSON call. A POST with an Idempotency-Key in `extra` counts as safe to retry. */
  async request<T>(
    method: string,
    path: string,
    q?: Query,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<T> {
    const res = await this.send(method, path, q, {
      headers: body === undefined ? extra : { ...extra, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      retrySafe:
        method === 'GET' ||
        method === 'HEAD' ||
        method === 'DELETE' ||
        extra['idempotency-key'] !== undefined,
    });
    return (await res.json()) as T;
  }

  /**
   * A call that creates something, with an Idempotency-Key (`opts.idempotencyKey` or a fresh
   * UUID). `honoured`: the route replays the first reply for a repeated key, so a dropped
   * connection may be retried; elsewhere the key is sent but a lost reply is not retried.
   */
  protected create<T>(path: string, body: unknown, opts: CreateOptions = {}, honoured = true): Promise<T> {
    const headers = {
      'idempotency-key': opts.idempotencyKey ?? randomUUID(),
      'content-type': 'application/json',
    };
    return this.send('POST', path, undefined, {
      headers,
      body: JSON.stringify(body ?? {}),
      retrySafe: honoured,
    }).then((r) => r.json() as Promise<T>);
  }

  /** The raw answer of a successful call (bytes, streams); an error answer throws. */
  async send(method: string, path: string, q: Query | undefined, init: SendInit = {}): Promise<Response> {
    const url = `${this.baseUrl}${path}${toSearch(q)}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers: this.headers(init.headers ?? {}, init.anonymous === true),
          ...(init.body === undefined ? {} : { body: init.body }),
          ...(init.signal ? { signal: init.signal } : {}),
        });
      } catch (err) {
        if (init.signal?.aborted) throw err;
        if (init.retrySafe && attempt < this.retries) {
          await this.sleep(this.backoff(attempt, null));
          continue;
        }
        throw errorFor(0, {
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
      return res;
    }
  }

  /** Server-Sent Events from `path` until the server closes the stream, or `signal` aborts it. */
  protected async *events(
    path: string,
    q: Query | undefined,
    signal?: AbortSignal,
  ): AsyncGenerator<SseEvent> {
    const res = await this.send('GET', path, q, {
      headers: { accept: 'text/event-stream' },
      retrySafe: true,
      ...(signal ? { signal } : {}),
    });
    // An abort rejects the pending read with an AbortError, as fetch does; `break` ends it quietly.
    if (res.body) yield* parseSse(res.body);
  }

  private backoff(attempt: number, retryAfter: string | null): number {
    const secs = retryAfter === null ? Number.NaN : Number(retryAfter);
    const ms = Number.isFinite(secs) ? secs * 1000 : 250 * 2 ** attempt;
    return Math.min(ms, this.maxBackoffMs);
  }

  private headers(extra: Record<string, string>, anonymous: boolean): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', ...extra };
    if (anonymous) return h;
    if (this.token) h.authorization = `Bearer ${this.token}`;
    if (this.proofs.length > 0) h.ucans = this.proofs.join(', ');
    return h;
  }

  private async errorOf(res: Response): Promise<ComputeMdError> {
    const text = await res.text();
    try {
      const p = JSON.parse(text) as Problem;
      if (p && typeof p === 'object' && 'detail' in p && typeof p.type === 'string')
        return errorFor(res.status, p);
    } catch {
      // not JSON: fall through
    }
    return errorFor(res.status, {
      type: 'about:blank',
      title: res.statusText,
      status: res.status,
      detail: text.slice(0, 500) || res.statusText,
    });
  }
}
