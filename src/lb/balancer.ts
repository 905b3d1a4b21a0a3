import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Dispatcher, Pool } from 'undici';
import { type Clock, iso } from '../util/clock.js';
import type { Rng } from '../util/random.js';
import { Endpoint, type EndpointListener, EndpointSet } from './endpoints.js';
import { acceptableRequestId } from './headers.js';
import { HealthChecker, type Prober } from './health.js';
import { OutlierDetector } from './outlier.js';
import { createPicker, type Picker } from './picker.js';
import { forward, type ProxyContext } from './proxy.js';
import { allDown, writeProblem } from './refusals.js';
import { RetryBudget } from './retry-budget.js';
import {
  type EndpointSpec,
  type EndpointState,
  type LbSpec,
  LbSpecError,
  type LbTuning,
  POLICIES,
  type Policy,
  resolveTuning,
} from './types.js';

export interface BalancerDeps {
  clock: Clock;
  rng: Rng;
  newRequestId: () => string;
  /** The connection pool of an endpoint; default an undici Pool with the spec's keep-alive settings. */
  makePool?: (ep: Endpoint, t: LbTuning) => Dispatcher;
  /** Replaces the HTTP probe (unit tests). */
  prober?: Prober;
}

export interface EndpointStatus {
  id: string;
  url: string;
  lease_id: string | null;
  weight: number;
  state: EndpointState;
  outstanding: number;
  requests: number;
  errors: number;
  ejections: number;
  consecutive_failures: number;
  ejected_until: string | null;
  last_probe_error: string | null;
  p50_ms: number | null;
  p99_ms: number | null;
}

export interface BalancerStatus {
  id: string;
  owner: string;
  policy: Policy;
  health_check: string | null;
  created_at: string;
  /** Endpoints taking requests now. */
  serving: number;
  endpoints: EndpointStatus[];
  requests: number;
  retries: number;
  retry_budget_left: number;
  /** Requests answered 503 because no endpoint was serving. */
  unavailable: number;
  /** Requests answered 504 (deadline). */
  timeouts: number;
}

const round3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

function defaultPool(ep: Endpoint, t: LbTuning): Dispatcher {
  return new Pool(ep.origin, {
    connections: t.connections_per_endpoint,
    pipelining: 1,
    connect: { timeout: t.connect_timeout_ms },
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: t.body_idle_timeout_ms,
  });
}

/**
 * One load balancer: the endpoints of a serving booking behind one URL. It owns their pools, a
 * picker, the passive outlier detector, the active health checker and the retry budget; the
 * proxy (proxy.ts) does the forwarding.
 */
export class Balancer implements ProxyContext {
  readonly id: string;
  readonly owner: string;
  readonly policy: Policy;
  readonly healthCheck: string | null;
  readonly tuning: LbTuning;
  readonly set: EndpointSet;
  readonly picker: Picker;
  readonly outlier: OutlierDetector;
  readonly budget: RetryBudget;
  readonly health: HealthChecker;
  readonly clock: Clock;
  readonly newRequestId: () => string;
  readonly counters = { requests: 0, retries: 0, unavailable: 0, timeouts: 0 };
  readonly createdAt: number;
  private closed = false;

  constructor(spec: LbSpec, deps: BalancerDeps) {
    if (typeof spec.id !== 'string' || !/^[A-Za-z0-9._~-]{1,128}$/.test(spec.id))
      throw new LbSpecError('id', 'must be 1–128 URL-safe characters (letters, digits, . _ ~ -).');
    if (typeof spec.owner !== 'string' || spec.owner === '')
      throw new LbSpecError('owner', 'must be the id of the principal that owns the booking.');
    const policy = spec.policy ?? 'least_outstanding';
    if (!POLICIES.includes(policy))
      throw new LbSpecError('policy', `${JSON.stringify(policy)} is not one of ${POLICIES.join(', ')}.`);
    if (spec.health_check !== undefined && !/^\/[\x21-\x7e]*$/.test(spec.health_check))
      throw new LbSpecError('health_check', 'must be a path starting with "/".');
    this.id = spec.id;
    this.owner = spec.owner;
    this.policy = policy;
    this.healthCheck = spec.health_check ?? null;
    this.tuning = resolveTuning(spec);
    this.clock = deps.clock;
    this.newRequestId = deps.newRequestId;
    this.createdAt = deps.clock.now();
    const makePool = deps.makePool ?? defaultPool;
    this.set = new EndpointSet(this.id, (ep) => makePool(ep, this.tuning));
    this.picker = createPicker(policy, deps.rng, this.tuning.exact_scan_max);
    this.outlier = new OutlierDetector(this.tuning.outlier, this.set);
    const r = this.tuning.retry;
    this.budget = new RetryBudget(r.budget_ratio, r.min_retries_per_s, r.window_ms);
    this.health = new HealthChecker(this.healthCheck, this.tuning.health, this.set, this.clock, deps.prober);
    const ids = new Set<string>();
    for (const e of spec.endpoints ?? []) {
      if (ids.has(e.id)) throw new LbSpecError('endpoints[].id', `${e.id} appears twice.`);
      ids.add(e.id);
      new Endpoint(e); // checks the spec before any pool opens
    }
    for (const e of spec.endpoints ?? []) this.set.add(e, this.createdAt);
    this.health.start();
  }

  /** Adds an endpoint (a replacement lease); it takes traffic at once. */
  add(endpoint: EndpointSpec): EndpointStatus {
    const now = this.clock.now();
    const ep = this.set.add(endpoint, now);
    this.health.tick();
    return this.endpointStatus(ep, now);
  }

  /** Takes an endpoint out; requests on it finish, then its connections close. False when unknown. */
  remove(endpointId: string): boolean {
    const ep = this.set.remove(endpointId);
    if (!ep) return false;
    this.health.forget(ep);
    void ep.pool?.close().catch(() => {});
    return true;
  }

  onEndpointDown(listener: EndpointListener): () => void {
    return this.set.onDown(listener);
  }

  onEndpointUp(listener: EndpointListener): () => void {
    return this.set.onUp(listener);
  }

  /** Proxies one request to `upstreamPath` (path and query, starting with '/'). Never rejects. */
  handle(req: IncomingMessage, res: ServerResponse, upstreamPath: string): Promise<void> {
    const id = acceptableRequestId(req.headers['x-request-id']) ?? this.newRequestId();
    if (this.closed) {
      writeProblem(req, res, allDown(this, this.clock.now()), id);
      return Promise.resolve();
    }
    return forward(this, req, res, upstreamPath, id);
  }

  status(): BalancerStatus {
    const now = this.clock.now();
    const endpoints = this.set.list.map((ep) => this.endpointStatus(ep, now));
    return {
      id: this.id,
      owner: this.owner,
      policy: this.policy,
      health_check: this.healthCheck,
      created_at: iso(this.createdAt),
      serving: endpoints.filter((e) => e.state === 'healthy').length,
      endpoints,
      requests: this.counters.requests,
      retries: this.counters.retries,
      retry_budget_left: this.budget.remaining(now),
      unavailable: this.counters.unavailable,
      timeouts: this.counters.timeouts,
    };
  }

  private endpointStatus(ep: Endpoint, now: number): EndpointStatus {
    return {
      id: ep.id,
      url: ep.url,
      lease_id: ep.leaseId,
      weight: ep.weight,
      state: ep.state(now),
      outstanding: ep.outstanding,
      requests: ep.requests,
      errors: ep.errors,
      ejections: ep.ejections,
      consecutive_failures: ep.consecutiveFailures,
      ejected_until: ep.ejectedUntil > now ? iso(ep.ejectedUntil) : null,
      last_probe_error: ep.lastProbeError,
      p50_ms: round3(ep.latency.quantile(0.5)),
      p99_ms: round3(ep.latency.quantile(0.99)),
    };
  }

  /**
   * Stops probing and closes every pool: requests in flight get `graceMs` to finish, then their
   * connections are cut (a stream may never end by itself).
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pools = this.set.list.map((ep) => ep.pool).filter((p): p is Dispatcher => p !== null);
    // Removed first, so a probe that ends while closing reports nothing.
    for (const ep of this.set.list) this.set.remove(ep.id);
    await this.health.stop();
    await Promise.all(
      pools.map(async (p) => {
        const t = setTimeout(() => void p.destroy().catch(() => {}), graceMs);
        t.unref();
        await p.close().catch(() => {});
        clearTimeout(t);
      }),
    );
  }
}
