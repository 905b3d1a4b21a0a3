import type { Dispatcher } from 'undici';
import { LatencyHistogram } from './histogram.js';
import { type EndpointEvent, type EndpointSpec, type EndpointState, LbSpecError } from './types.js';

/**
 * One upstream of a balancer: where it is, its connection pool, what the health checker and the
 * outlier detector decided about it, and its counters. Plain mutable state, read on every request,
 * so a pick costs a few field reads.
 */
export class Endpoint {
  readonly id: string;
  readonly url: string;
  /** `http://host:port`, what the pool connects to. */
  readonly origin: string;
  /** The URL's path without its trailing slash ('' for none), put before every upstream path. */
  readonly basePath: string;
  readonly weight: number;
  readonly leaseId: string | null;
  /** The spec's extra headers as a flat [name, value, …] list. */
  readonly extraHeaders: readonly string[];
  /** Set by the endpoint set; null in unit tests of the pickers. */
  pool: Dispatcher | null = null;

  outstanding = 0;
  requests = 0;
  errors = 0;
  ejections = 0;
  readonly latency = new LatencyHistogram();

  /** Passive detection (outlier.ts). */
  consecutiveFailures = 0;
  /** Epoch ms the current ejection ends; 0 when not ejected. */
  ejectedUntil = 0;
  /** How many back-off doublings the next ejection gets; decays while the endpoint behaves. */
  ejectionLevel = 0;
  /** Epoch ms the endpoint last came back (or was added). */
  servingSince = 0;

  /** Active detection (health.ts): unhealthy only after `unhealthy_threshold` failed probes. */
  unhealthy = false;
  probePasses = 0;
  probeFailures = 0;
  probing = false;
  /** Epoch ms the last probe ended. */
  lastProbeAt = 0;
  lastProbeError: string | null = null;

  /** Removed from its balancer: never picked again; its pool closes once idle. */
  removed = false;
  /** Scratch state of the picker that owns this endpoint (smooth weighted round robin). */
  pickScore = 0;

  constructor(spec: EndpointSpec, now = 0) {
    if (typeof spec.id !== 'string' || spec.id === '' || spec.id.length > 200)
      throw new LbSpecError('endpoints[].id', 'must be a non-empty string of at most 200 characters.');
    let u: URL;
    try {
      u = new URL(spec.url);
    } catch {
      throw new LbSpecError(`endpoints[${spec.id}].url`, `${JSON.stringify(spec.url)} is not a URL.`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new LbSpecError(`endpoints[${spec.id}].url`, 'must be http:// or https://.');
    if (u.search || u.hash || u.username)
      throw new LbSpecError(`endpoints[${spec.id}].url`, 'takes no query, fragment or credentials.');
    const w = spec.weight ?? 1;
    if (!(typeof w === 'number' && Number.isFinite(w) && w > 0))
      throw new LbSpecError(`endpoints[${spec.id}].weight`, 'must be a positive number.');
    this.id = spec.id;
    this.url = spec.url;
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.weight = w;
    this.leaseId = spec.lease_id ?? null;
    this.extraHeaders = Object.entries(spec.headers ?? {}).flat();
    this.servingSince = now;
  }

  /** Whether a request may go here now. */
  serving(now: number): boolean {
    return !this.removed && !this.unhealthy && this.ejectedUntil <= now;
  }

  state(now: number): EndpointState {
    if (this.ejectedUntil > now) return 'ejected';
    return this.unhealthy ? 'unhealthy' : 'healthy';
  }
}

export type EndpointListener = (e: EndpointEvent) => void;

/**
 * The endpoints of one balancer. The list is replaced, never mutated, on add and remove, so a
 * request that is iterating it is never disturbed. Transitions between serving and not serving are
 * reported to listeners once each (the runtime books a replacement on `down`).
 */
export class EndpointSet {
  list: readonly Endpoint[] = [];
  private readonly byId = new Map<string, Endpoint>();
  private readonly down = new Set<EndpointListener>();
  private readonly up = new Set<EndpointListener>();
  /** Endpoints last reported down, so each transition is reported once. */
  private readonly reportedDown = new Set<Endpoint>();

  constructor(
    readonly lbId: string,
    private readonly makePool: ((ep: Endpoint) => Dispatcher) | null,
  ) {}

  add(spec: EndpointSpec, now: number): Endpoint {
    if (this.byId.has(spec.id))
      throw new LbSpecError('endpoints[].id', `${spec.id} is already an endpoint of ${this.lbId}.`);
    const ep = new Endpoint(spec, now);
    if (this.makePool) ep.pool = this.makePool(ep);
    this.byId.set(ep.id, ep);
    this.list = [...this.list, ep];
    return ep;
  }

  /** Takes the endpoint out of rotation; requests already on it finish. Null when unknown. */
  remove(id: string): Endpoint | null {
    const ep = this.byId.get(id);
    if (!ep) return null;
    ep.removed = true;
    this.byId.delete(id);
    this.reportedDown.delete(ep);
    this.list = this.list.filter((e) => e !== ep);
    return ep;
  }

  get(id: string): Endpoint | undefined {
    return this.byId.get(id);
  }

  onDown(l: EndpointListener): () => void {
    this.down.add(l);
    return () => this.down.delete(l);
  }

  onUp(l: EndpointListener): () => void {
    this.up.add(l);
    return () => this.up.delete(l);
  }

  /** Call after anything that may have stopped an endpoint serving (an ejection, a failed probe). */
  noteDown(ep: Endpoint, reason: 'ejected' | 'unhealthy', now: number): void {
    if (ep.removed || this.reportedDown.has(ep)) return;
    this.reportedDown.add(ep);
    this.emit(this.down, ep, reason, now);
  }

  /**
   * Reports endpoints that serve again (an ejection ran out, a probe passed). Called by the
   * periodic sweep and after every passed probe; cheap when nothing changed.
   */
  sweep(now: number): void {
    if (this.reportedDown.size === 0) return;
    for (const ep of [...this.reportedDown]) {
      if (!ep.serving(now)) continue;
      this.reportedDown.delete(ep);
      ep.servingSince = now;
      this.emit(this.up, ep, 'recovered', now);
    }
  }

  private emit(to: Set<EndpointListener>, ep: Endpoint, reason: EndpointEvent['reason'], at: number) {
    const e: EndpointEvent = { lb: this.lbId, endpoint: ep.id, lease_id: ep.leaseId, reason, at };
    for (const l of to) {
      try {
        l(e);
      } catch {
        // A listener's failure is its own; the balancer keeps serving.
      }
    }
  }
}
