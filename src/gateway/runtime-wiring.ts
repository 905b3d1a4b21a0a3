import type { DidSigner } from '../identity/jws.js';
import type { LbRegistry } from '../lb/registry.js';
import type { Market } from '../market/index.js';
import type { Provider } from '../providers/provider.js';
import type { IdSource, Store } from '../storage/index.js';
import type { Clock } from '../util/clock.js';
import type { AgentRegistry } from './agents.js';
import type { FailoverDeps } from './failover.js';
import type { LedgerWiring } from './ledger.js';
import { createLeaseRuntime, type LeaseRuntime } from './runtime.js';
import { providerTerminate } from './runtime-provider.js';
import { reconcileBookings, runtimeTick, type TickDeps } from './runtime-tick.js';

/**
 * Builds the lease runtime and its periodic pass from the gateway's parts (the composition root
 * calls this; nothing else constructs the runtime).
 */
export interface RuntimeWiringDeps {
  store: Store;
  ledger: LedgerWiring;
  agents: AgentRegistry;
  providers: readonly Provider[];
  market: Market;
  clock: Clock;
  ids: IdSource;
  gateway: DidSigner;
  seed: number;
  heartbeatTimeoutMs: number;
  lb: LbRegistry;
  log: (msg: string, err?: unknown) => void;
}

export interface RuntimeWiring {
  runtime: LeaseRuntime;
  tick: TickDeps;
  /** One pass now (tests drive it by hand); resolves to the number of leases moved. */
  step(): Promise<number>;
  /** Starts the periodic pass; returns the stop function. */
  start(intervalMs: number): () => void;
}

export function wireRuntime(d: RuntimeWiringDeps): RuntimeWiring {
  const runtime = createLeaseRuntime({
    repo: d.store.runtime,
    ledger: d.store.ledger,
    agents: d.agents,
    providers: d.providers,
    clock: d.clock,
    progress: (lease, booking, to, at) => d.ledger.service.leaseProgress(lease, booking, to, at),
    lb: d.lb,
  });
  const executes = (provider: string, kind: string | null) =>
    kind === null ||
    (d.providers.find((p) => p.info.name === provider)?.features.run_kinds ?? []).includes(kind as 'command');
  const failover: FailoverDeps = {
    book: (c, body, key) => d.ledger.service.book(c, body, key),
    async fallbacks(planId) {
      const p = await d.store.plans.get(planId);
      const fb = (p?.plan as { fallbacks?: { offer_id?: unknown }[] } | undefined)?.fallbacks ?? [];
      return fb.map((f) => f.offer_id).filter((x): x is string => typeof x === 'string');
    },
    alternatives(lease) {
      // Work that runs needs a live runner that executes its kind of run: a node agent that is
      // up and not draining, or a provider with its own lease operations.
      const up = d.agents
        .list(null)
        .filter((a) => d.agents.isUp(a) && !a.draining)
        .map((a) => a.name);
      const withOps = d.providers.filter((p) => p.leases).map((p) => p.info.name);
      const names = new Set([...up, ...withOps].filter((n) => executes(n, lease.run_kind)));
      if (lease.run_kind !== null && names.size === 0) return [];
      return d.market
        .query({
          sort: 'price_asc',
          limit: 200,
          min_available: 1,
          // Capacity that only rents (no run) may move to any provider of the same class.
          ...(lease.run_kind !== null ? { providers: names } : {}),
          ...(lease.resource_type ? { classes: new Set([lease.resource_type]) } : {}),
        })
        .offers.map((x) => x.id);
    },
    providerOf: (id) => d.market.get(id)?.provider ?? null,
    log: (m) => d.log(m),
  };
  const tick: TickDeps = {
    failover,
    validation: {
      failover,
      // Replicas and referees run on node agents: their receipts are what is compared.
      runners: () =>
        d.agents
          .list(null)
          .filter((a) => d.agents.isUp(a) && !a.draining)
          .map((a) => a.name),
      penalize: (name) => d.agents.penalize(name),
    },
    provider: {
      providers: d.providers,
      offerOf(id) {
        const o = d.market.get(id);
        return o ? { sku: o.sku, region: o.region, interruptible: o.interruptible } : null;
      },
      gateway: d.gateway,
      ids: d.ids,
      terminate: providerTerminate(d.providers),
    },
    seed: d.seed,
    agentGraceUntil: d.clock.now() + d.heartbeatTimeoutMs,
    offerFacts(id) {
      const o = d.market.get(id);
      return o
        ? { provider_type: o.provider_type, interruptible: o.interruptible, reliability: o.reliability }
        : null;
    },
    log: d.log,
  };
  let lastReconcile = 0;
  const step = async () => {
    if (!(await d.store.ledger.tryLead('runtime'))) return 0;
    if (d.clock.now() - lastReconcile > 30_000) {
      lastReconcile = d.clock.now();
      await reconcileBookings(runtime, d.store.ledger);
    }
    return runtimeTick(runtime, tick);
  };
  return {
    runtime,
    tick,
    step,
    start(intervalMs) {
      let running = false;
      const t = setInterval(() => {
        if (running) return;
        running = true;
        step()
          .catch((err) => d.log('runtime pass failed', err))
          .finally(() => {
            running = false;
          });
      }, intervalMs);
      t.unref();
      return () => clearInterval(t);
    },
  };
}
