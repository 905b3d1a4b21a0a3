import type { Clock } from '../../util/clock.js';
import { ProviderError } from '../provider.js';

/**
 * The Vast.ai wire API (REST v0): request building, the Bearer key, timeouts, and turning every
 * non-2xx answer into a ProviderError that says what to do. Nothing here retries: the caller
 * (the provider's listOffers, the runtime's lease calls) decides when to ask again.
 */

export const VAST_PROVIDER_NAME = 'vast';
/** The OpenAPI `servers` entry and the CLI default (`VAST_URL`). */
export const VAST_API_BASE = 'https://console.vast.ai';
/** Search is limited to "10 requests/minute per IP": a 6 s interval when a 429 names no wait. */
export const VAST_DEFAULT_BACKOFF_S = 6;

export type VastOp = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'notin';
/** One filter of the offer query language: `{ "gte": 1 }`, `{ "in": ["RTX 4090"] }`. */
export type VastFilter = Partial<Record<VastOp, string | number | boolean | Array<string | number>>>;
/** `on-demand` or `bid` (interruptible). The OpenAPI enum spells it `ondemand`; clients send this. */
export type VastMarket = 'on-demand' | 'bid';

export interface VastSearchOptions {
  /** Filters added to the CLI defaults (a key given here replaces the default for that key). */
  filters?: Record<string, VastFilter>;
  /** Offers per search; default 256. */
  limit?: number;
  /** GiB of disk the price includes (`dph_total`); the CLI default is 5.0. */
  allocated_storage_gb?: number;
}

/** What `vastai search offers` adds unless `--no-default`: verified hosts, rentable now. */
const CLI_DEFAULT_FILTERS: Record<string, VastFilter> = {
  verified: { eq: true },
  external: { eq: false },
  rentable: { eq: true },
  rented: { eq: false },
};

/** The JSON body of POST /api/v0/bundles/: flat `field → {op: value}` plus order/type/limit. */
export function buildSearchBody(market: VastMarket, opts: VastSearchOptions = {}): Record<string, unknown> {
  return {
    ...CLI_DEFAULT_FILTERS,
    ...(opts.filters ?? { num_gpus: { gte: 1 } }),
    // Cheapest first for the field that prices this market, so a `limit` keeps the useful end.
    order: [[market === 'bid' ? 'min_bid' : 'dph_total', 'asc']],
    type: market,
    limit: opts.limit ?? 256,
    allocated_storage: opts.allocated_storage_gb ?? 5.0,
  };
}

/** Body of PUT /api/v0/asks/{id}/ (create instance). `price` set means an interruptible bid. */
export interface VastCreateBody {
  client_id: 'me';
  image: string;
  disk: number;
  label: string;
  runtype: 'args' | 'ssh';
  args: string[] | null;
  env: string;
  onstart: string | null;
  price: number | null;
  cancel_unavail: boolean;
  target_state: 'running';
}

export interface VastCreateResult {
  success: boolean;
  new_contract: number | null;
  msg: string | null;
}

export interface VastClientOptions {
  apiKey: string;
  baseUrl: string;
  fetch: typeof fetch;
  clock: Clock;
  /** Per-request limit; default 15 s. */
  timeoutMs?: number;
}

export interface VastClient {
  /** The raw `offers` array (rows still unchecked; offers.ts parses them). */
  searchOffers(body: Record<string, unknown>, signal?: AbortSignal): Promise<unknown[]>;
  createInstance(askId: string, body: VastCreateBody): Promise<VastCreateResult>;
  /** The `instances` object, or null when Vast no longer knows the id. */
  showInstance(instanceId: string): Promise<Record<string, unknown> | null>;
  /** Idempotent: an instance that is already gone counts as destroyed. */
  destroyInstance(instanceId: string): Promise<void>;
}

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

interface Answer {
  status: number;
  json: unknown;
}

export function createVastClient(opts: VastClientOptions): VastClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const fail = (message: string, status?: number, retryAfter?: number, cause?: unknown) =>
    new ProviderError(VAST_PROVIDER_NAME, message, status, retryAfter, cause ? { cause } : undefined);

  /** Sends one call; 2xx → parsed JSON, `okStatuses` → returned as is, anything else → ProviderError. */
  async function call(c: Call, okStatuses: number[] = []): Promise<Answer> {
    const url = new URL(base + c.path);
    for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = { Authorization: `Bearer ${opts.apiKey}` };
    if (c.body !== undefined) headers['Content-Type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = c.signal ? AbortSignal.any([c.signal, timeout]) : timeout;
    const what = `${c.method} ${c.path}`;
    let res: Response;
    let text: string;
    try {
      res = await opts.fetch(url, {
        method: c.method,
        headers,
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
        signal,
      });
      text = await res.text();
    } catch (err) {
      let why = `failed: ${(err as Error).message}. Check the network and the base URL ${base}`;
      if (timeout.aborted) why = `timed out after ${timeoutMs / 1000} s; the next refresh tries again`;
      else if (c.signal?.aborted) why = 'was cancelled by the caller';
      throw fail(`${what} ${why}`, undefined, undefined, err);
    }
    const ok = res.status >= 200 && res.status < 300;
    if (!ok && !okStatuses.includes(res.status)) throw httpError(what, res, text);
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch (err) {
      throw fail(
        `${what} answered ${res.status} with a body that is not JSON: ${snippet(text)}`,
        res.status,
        undefined,
        err,
      );
    }
    return { status: res.status, json };
  }

  function httpError(what: string, res: Response, text: string): ProviderError {
    const detail = errorDetail(text);
    const s = res.status;
    if (s === 401 || s === 403) {
      return fail(
        `${what} rejected the API key (${s}${detail}). To fix: check VAST_API_KEY and its scope`,
        s,
      );
    }
    if (s === 429) {
      const wait = retryAfterSeconds(res.headers.get('retry-after'), text, opts.clock.now());
      return fail(`${what} is rate-limited (429${detail}); backing off ${wait} s`, s, wait);
    }
    if (s >= 500)
      return fail(`${what} failed on Vast's side (${s}${detail}); the next refresh tries again`, s);
    return fail(`${what} was refused (${s}${detail})`, s);
  }

  return {
    async searchOffers(body, signal) {
      const { json } = await call({ method: 'POST', path: '/api/v0/bundles/', body, signal });
      const offers = isObject(json) ? json.offers : undefined;
      if (!Array.isArray(offers)) {
        throw fail(`POST /api/v0/bundles/ answered without an "offers" array (got ${describe(json)})`, 200);
      }
      return offers;
    },

    async createInstance(askId, body) {
      const path = `/api/v0/asks/${encodeURIComponent(askId)}/`;
      const { json } = await call({ method: 'PUT', path, body });
      if (!isObject(json)) throw fail(`PUT ${path} answered ${describe(json)}, not an object`, 200);
      const contract = json.new_contract;
      return {
        success: json.success === true,
        new_contract: typeof contract === 'number' ? contract : null,
        msg: typeof json.msg === 'string' ? json.msg : null,
      };
    },

    async showInstance(instanceId) {
      const path = `/api/v0/instances/${encodeURIComponent(instanceId)}/`;
      const { json } = await call({ method: 'GET', path, query: { owner: 'me' } });
      if (!isObject(json) || !('instances' in json)) {
        throw fail(`GET ${path} answered without an "instances" field (got ${describe(json)})`, 200);
      }
      const inst = json.instances;
      if (inst === null) return null;
      if (!isObject(inst)) throw fail(`GET ${path}: "instances" is ${describe(inst)}, not an object`, 200);
      return inst;
    },

    async destroyInstance(instanceId) {
      const path = `/api/v0/instances/${encodeURIComponent(instanceId)}/`;
      // dstack treats not_found / no_such_instance as already destroyed; so do we.
      const { status, json } = await call({ method: 'DELETE', path, body: {} }, [404]);
      if (status === 404) return;
      if (
        isObject(json) &&
        json.success === false &&
        !/no_such_instance|not_found/.test(String(json.error))
      ) {
        throw fail(
          `DELETE ${path} did not destroy the instance (${String(json.error)}: ${String(json.msg)})`,
          status,
        );
      }
    },
  };
}

/**
 * Seconds to wait after a 429. Vast documents no Retry-After header, but honour one (seconds or an
 * HTTP date) when a proxy adds it; else the `threshold=N` its body names (a minimum interval in
 * seconds per endpoint); else the search limit's interval.
 */
export function retryAfterSeconds(header: string | null, body: string, nowMs: number): number {
  if (header !== null && header.trim() !== '') {
    const h = header.trim();
    if (/^\d+(\.\d+)?$/.test(h)) return Math.max(0, Math.ceil(Number(h)));
    const date = Date.parse(h);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - nowMs) / 1000));
  }
  const m = /threshold=(\d+(?:\.\d+)?)/.exec(body);
  if (m) return Math.max(1, Math.ceil(Number(m[1])));
  return VAST_DEFAULT_BACKOFF_S;
}

/** Vast error bodies: `{error, msg}`, `{message}`, `{detail}`, or plain text. */
function errorDetail(text: string): string {
  try {
    const j: unknown = JSON.parse(text);
    if (isObject(j)) {
      const parts = [j.error, j.msg ?? j.message ?? j.detail].filter((x) => typeof x === 'string');
      if (parts.length > 0) return `: ${parts.join(': ')}`;
    }
  } catch {
    // plain text (the usual 429 body)
  }
  return text.trim() === '' ? '' : `: ${snippet(text)}`;
}

function snippet(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return JSON.stringify(t.length > 120 ? `${t.slice(0, 120)}…` : t);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an object with keys ${Object.keys(v).slice(0, 5).join(', ')}` : typeof v;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
