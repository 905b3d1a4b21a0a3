import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { type Clock, systemClock } from '../util/clock.js';
import { hash32, mulberry32, type Rng } from '../util/random.js';
import { Balancer, type BalancerDeps } from './balancer.js';
import type { EndpointListener } from './endpoints.js';
import { registerLbMetrics } from './metrics.js';
import { type LbSpec, LbSpecError } from './types.js';

export type { Balancer, BalancerStatus, EndpointStatus } from './balancer.js';
export type { EndpointEvent, EndpointSpec, LbSpec, Policy } from './types.js';
export { LbSpecError } from './types.js';

export interface LbRegistryDeps {
  /**
   * Back-offs and the retry budget read this; health intervals and deadlines are real timers. The
   * gateway passes the system clock even when its own is a test's manual one: a balancer works in
   * network time.
   */
  clock?: Clock;
  /** A balancer's random source (two-choices picks); default seeded by its id. */
  rng?: (lbId: string) => Rng;
  newRequestId?: () => string;
  makePool?: BalancerDeps['makePool'];
  prober?: BalancerDeps['prober'];
}

/**
 * The gateway's load balancers by id (the `/lb/:id` URLs). The runtime creates one per serving
 * booking, adds and removes endpoints as leases come and go, and listens for endpoints going down
 * to book replacements; `onEndpointDown` here hears every balancer's, present and future.
 */
export class LbRegistry {
  private readonly balancers = new Map<string, Balancer>();
  private readonly down = new Set<EndpointListener>();
  private readonly up = new Set<EndpointListener>();
  private readonly deps: BalancerDeps;
  private readonly rng: (lbId: string) => Rng;

  constructor(deps: LbRegistryDeps = {}) {
    this.deps = {
      clock: deps.clock ?? systemClock,
      rng: mulberry32(0),
      newRequestId: deps.newRequestId ?? randomUUID,
      ...(deps.makePool ? { makePool: deps.makePool } : {}),
      ...(deps.prober ? { prober: deps.prober } : {}),
    };
    this.rng = deps.rng ?? ((id) => mulberry32(hash32(id)));
  }

  /** Builds and starts a balancer; throws LbSpecError for a bad spec or an id in use. */
  create(spec: LbSpec): Balancer {
    if (this.balancers.has(spec.id))
      throw new LbSpecError('id', `${spec.id} is already a load balancer. To fix: delete it first.`);
    const b = new Balancer(spec, { ...this.deps, rng: this.rng(spec.id) });
    b.onEndpointDown((e) => {
      for (const l of this.down) l(e);
    });
    b.onEndpointUp((e) => {
      for (const l of this.up) l(e);
    });
    this.balancers.set(spec.id, b);
    return b;
  }

  get(id: string): Balancer | undefined {
    return this.balancers.get(id);
  }

  list(): Balancer[] {
    return [...this.balancers.values()];
  }

  /** Removes the balancer at once (its URL answers 404) and closes it in the background. */
  delete(id: string): boolean {
    const b = this.balancers.get(id);
    if (!b) return false;
    this.balancers.delete(id);
    void b.close();
    return true;
  }

  onEndpointDown(listener: EndpointListener): () => void {
    this.down.add(listener);
    return () => this.down.delete(listener);
  }

  onEndpointUp(listener: EndpointListener): () => void {
    this.up.add(listener);
    return () => this.up.delete(listener);
  }

  /** Puts every balancer's per-endpoint figures on a prom-client registry (the gateway's /metrics). */
  registerMetrics(registry: Registry): void {
    if (registry.getSingleMetric('computemd_lb_requests_total')) return;
    registerLbMetrics(registry, () => this.balancers.values());
  }

  async closeAll(graceMs = 5000): Promise<void> {
    const all = [...this.balancers.values()];
    this.balancers.clear();
    await Promise.all(all.map((b) => b.close(graceMs)));
  }
}
