import type { OfferInput } from '../providers/offer.js';
import type { Provider } from '../providers/provider.js';
import { type Clock, iso } from '../util/clock.js';
import type { Market } from './market.js';
import type { ProviderHealth } from './types.js';

export interface RefresherDeps {
  market: Market;
  providers: readonly Provider[];
  clock: Clock;
  /** Longest wait for one provider's listOffers; past it the call is aborted and counted a failure. */
  timeoutMs: number;
  /** Consecutive failures after which a provider with old offers is 'down' rather than 'degraded'. */
  downAfter?: number;
}

export interface Refresher {
  /** Refresh every provider at once (startup): waits for all, each bounded by the timeout. */
  refreshAll(): Promise<ProviderHealth[]>;
  /** Refresh one provider now. */
  refreshOne(name: string): Promise<ProviderHealth | null>;
  /** Adds a provider that joined at run time (a node agent); scheduled at once when started. */
  add(p: Provider): void;
  /** Per-provider timers on each provider's refresh_interval_s (unref'd: they never hold the process). */
  start(): void;
  stop(): void;
  health(): ProviderHealth[];
}

type Outcome = { ok: true; offers: OfferInput[] } | { ok: false; error: string };

/**
 * Keeps the market fed. Each provider refreshes on its own interval with a timeout; a slow or
 * failing one keeps its last good offers in the market and shows it in health(), and never holds
 * up the others. A batch of results becomes one snapshot swap.
 */
export function createRefresher(deps: RefresherDeps): Refresher {
  const downAfter = deps.downAfter ?? 3;
  const state = new Map<string, ProviderHealth>();
  const inflight = new Map<string, Promise<Outcome>>();
  const timers = new Map<string, NodeJS.Timeout>();
  let running = false;
  // The list grows when node agents join (add); the caller's array is not changed.
  const providers: Provider[] = [...deps.providers];
  const track = (p: Provider) =>
    state.set(p.info.name, {
      provider: p.info.name,
      status: 'pending',
      last_refresh_at: null,
      last_success_at: null,
      last_error: null,
      consecutive_failures: 0,
      offers: 0,
    });
  for (const p of providers) track(p);

  const fetchOne = (p: Provider): Promise<Outcome> => {
    const existing = inflight.get(p.info.name);
    if (existing) return existing;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => {
        ac.abort();
        resolve({ ok: false, error: `timed out after ${deps.timeoutMs} ms` });
      }, deps.timeoutMs);
      // Not unref'd: someone is awaiting this answer, so the process must stay up until it comes.
    });
    const call = Promise.resolve()
      .then(() => p.listOffers({ now: deps.clock.now(), signal: ac.signal }))
      .then(
        (offers): Outcome => ({ ok: true, offers }),
        (e: unknown): Outcome => ({ ok: false, error: e instanceof Error ? e.message : String(e) }),
      );
    const done = Promise.race([call, timeout]).finally(() => {
      clearTimeout(timer);
      inflight.delete(p.info.name);
    });
    inflight.set(p.info.name, done);
    return done;
  };

  const apply = (results: [Provider, Outcome][]) => {
    const now = deps.clock.now();
    const updates = new Map<string, OfferInput[]>();
    for (const [p, r] of results) if (r.ok) updates.set(p.info.name, r.offers);
    if (updates.size) deps.market.replaceOffers(updates);
    for (const [p, r] of results) {
      const h = state.get(p.info.name) as ProviderHealth;
      h.last_refresh_at = iso(now);
      if (r.ok) {
        h.status = 'ok';
        h.last_success_at = iso(now);
        h.last_error = null;
        h.consecutive_failures = 0;
      } else {
        h.consecutive_failures++;
        h.last_error = r.error;
        const hasOffers = deps.market.offerCount(p.info.name) > 0;
        h.status = hasOffers && h.consecutive_failures < downAfter ? 'degraded' : 'down';
      }
      h.offers = deps.market.offerCount(p.info.name);
    }
  };

  const snapshotHealth = () => [...state.values()].map((h) => ({ ...h }));

  const schedule = (p: Provider) => {
    if (!running) return;
    const t = setTimeout(async () => {
      apply([[p, await fetchOne(p)]]);
      schedule(p);
    }, Math.max(1, p.refresh_interval_s) * 1000);
    t.unref?.();
    timers.set(p.info.name, t);
  };

  return {
    async refreshAll() {
      const results = await Promise.all(
        providers.map(async (p) => [p, await fetchOne(p)] as [Provider, Outcome]),
      );
      apply(results);
      return snapshotHealth();
    },
    async refreshOne(name) {
      const p = providers.find((x) => x.info.name === name);
      if (!p) return null;
      apply([[p, await fetchOne(p)]]);
      return { ...(state.get(name) as ProviderHealth) };
    },
    start() {
      if (running) return;
      running = true;
      for (const p of providers) schedule(p);
    },
    add(p) {
      if (state.has(p.info.name)) throw new RangeError(`provider ${p.info.name} is already refreshed`);
      providers.push(p);
      track(p);
      schedule(p);
    },
    stop() {
      running = false;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
    health: snapshotHealth,
  };
}
