import type { BookingRecord, LedgerStore } from '../ledger/store.js';
import { isTerminal, type RuntimeLeaseState } from '../runtime/lease-states.js';
import { simulateLease } from '../runtime/simulated.js';
import type { LeaseRuntimeRecord } from '../storage/store.js';
import { type FailoverDeps, failover } from './failover.js';
import { endLease, type LeaseRuntime } from './runtime.js';
import { type ProviderDriverDeps, stepProviderLease } from './runtime-provider.js';
import { stepValidations, type ValidationDeps } from './validation.js';

/**
 * The runtime's periodic pass (one replica at a time leads it, like settlement). For each lease
 * still pending, provisioning or running:
 *
 * - its booking ended in the ledger (cancelled, funds ran out, booked hours over): the lease ends
 *   with that reason, and its node is told to stop;
 * - `agent`: a node that stopped heartbeating loses its leases, which fail over;
 * - `simulated`: the modelled timeline's transitions that are due are applied; a modelled
 *   preemption or failure fails over like a real one;
 * - `provider`: the provider's lease operations are polled (runtime-provider.ts).
 *
 * Reconciliation after a restart is the same pass: whatever happened while the gateway was away
 * is found by looking, not remembered.
 */

export interface TickDeps {
  failover: FailoverDeps;
  provider: ProviderDriverDeps;
  validation: ValidationDeps;
  /** Until then (epoch ms; the gateway's start plus one heartbeat timeout) an agent not yet
   * registered again keeps its leases. */
  agentGraceUntil: number;
  /** Seed of the simulated driver (the gateway's seed), so a timeline is reproducible. */
  seed: number;
  /** An offer's figures the simulated driver models from, or null when the offer is gone. */
  offerFacts(offerId: string): { provider_type: string; interruptible: boolean; reliability: number } | null;
  log: (msg: string, err?: unknown) => void;
}

const OPEN: RuntimeLeaseState[] = ['pending', 'provisioning', 'running'];

export async function runtimeTick(rt: LeaseRuntime, t: TickDeps): Promise<number> {
  const d = rt.deps;
  let moved = 0;
  await stepValidations(rt, t.validation).catch((err) =>
    t.log('runtime: result validation pass failed', err),
  );
  const open = await d.repo.listLeases({ states: OPEN, limit: 1000 });
  for (const r of open) {
    try {
      if (await step(rt, t, r)) moved++;
    } catch (err) {
      t.log(`runtime: lease ${r.lease_id} could not be advanced`, err);
    }
  }
  return moved;
}

async function step(rt: LeaseRuntime, t: TickDeps, r: LeaseRuntimeRecord): Promise<boolean> {
  const d = rt.deps;
  const b = await d.ledger.getBooking(r.booking_id);
  const l = b?.leases.find((x) => x.id === r.lease_id);
  if (!b || !l) return false;
  // The ledger ended it: follow.
  if (l.state !== 'pending' && l.state !== 'running') {
    const why =
      b.status === 'cancelled'
        ? 'the booking was cancelled'
        : b.status === 'overdrawn' || l.state === 'stopped'
          ? "the booking's funds ran out"
          : 'the booked hours ran out';
    if (r.driver === 'provider') await t.provider.terminate(rt, r).catch((e) => t.log('terminate failed', e));
    return (await rt.move(r.lease_id, 'cancelled', why)) !== null;
  }
  rejoin(rt, r, b);
  switch (r.driver) {
    case 'agent':
      return stepAgent(rt, t, r, b);
    case 'simulated':
      return stepSimulated(rt, t, r, b);
    case 'provider':
      return stepProviderLease(rt, t.provider, r, b, l);
    default:
      return false;
  }
}

/**
 * A serving lease whose balancer forgot it (the gateway restarted: balancers live in the process)
 * is put back: the balancer is made again for the booking's owner, and the endpoint re-added.
 */
function rejoin(rt: LeaseRuntime, r: LeaseRuntimeRecord, b: BookingRecord): void {
  const lb = rt.deps.lb;
  const id = r.handle.lb;
  const url = r.handle.endpoint;
  if (!lb || typeof id !== 'string' || typeof url !== 'string' || r.state !== 'running') return;
  const serve = (b.summary as { run?: { serve?: { health_check: string } } }).run?.serve;
  const balancer =
    lb.get(id) ??
    lb.create({
      id,
      owner: b.requester,
      endpoints: [],
      ...(serve ? { health_check: serve.health_check } : {}),
    });
  if (!balancer.status().endpoints.some((e: { id: string }) => e.id === r.lease_id))
    balancer.add({ id: r.lease_id, url, lease_id: r.lease_id });
}

async function stepAgent(rt: LeaseRuntime, t: TickDeps, r: LeaseRuntimeRecord, b: BookingRecord) {
  const agent = rt.deps.agents.list(null).find((a) => a.name === r.provider);
  if (agent && rt.deps.agents.isUp(agent)) return false;
  // After a restart the registry is empty until agents re-register: give them one timeout.
  if (!agent && rt.deps.clock.now() < t.agentGraceUntil) return false;
  // Its work is done (a receipt is in, the lease waits on result validation): nothing to lose.
  if (await rt.deps.repo.receiptForLease(r.lease_id)) return false;
  const ended = await endLease(rt, r, 'failed', `node ${r.provider} stopped heartbeating`);
  if (!ended) return false;
  await failover(rt, t.failover, ended, b);
  return true;
}

async function stepSimulated(rt: LeaseRuntime, t: TickDeps, r: LeaseRuntimeRecord, b: BookingRecord) {
  const facts = t.offerFacts(r.offer_id) ?? {
    provider_type: 'p2p_marketplace',
    interruptible: false,
    reliability: 0.99,
  };
  const l = b.leases.find((x) => x.id === r.lease_id);
  if (!l) return false;
  const run = (b.summary as { run?: { timeout_s?: number } }).run;
  const timeline = simulateLease({
    lease_id: r.lease_id,
    offer: { provider: r.provider, ...facts },
    hours: l.hours,
    run_seconds: typeof run?.timeout_s === 'number' ? run.timeout_s : null,
    started_at: r.created_at,
    seed: t.seed,
  });
  const now = rt.deps.clock.now();
  let changed = false;
  let cur = r;
  for (const tr of timeline.transitions) {
    if (tr.at > now || tr.from !== cur.state) continue;
    const end = isTerminal(tr.to);
    const next = end
      ? await endLease(rt, cur, tr.to as 'completed' | 'failed' | 'preempted', tr.reason, { at: tr.at })
      : await rt.move(cur.lease_id, tr.to, tr.reason);
    if (!next) break;
    changed = true;
    cur = next;
    if (tr.to === 'preempted' || tr.to === 'failed') await failover(rt, t.failover, cur, b);
  }
  return changed;
}

/**
 * Creates the runtime records of open bookings that have none (a crash between a booking's commit
 * and its runtime records). Returns how many bookings were repaired.
 */
export async function reconcileBookings(rt: LeaseRuntime, ledger: LedgerStore): Promise<number> {
  let repaired = 0;
  for (let after: string | undefined; ; ) {
    const page = await ledger.listOpenBookings(200, after);
    for (const b of page) {
      let missing = false;
      for (const l of b.leases) if (!(await rt.deps.repo.getLease(l.id))) missing = true;
      if (missing) {
        await rt.onBooked(b, null);
        repaired++;
      }
    }
    if (page.length < 200) return repaired;
    after = page.at(-1)?.id;
  }
}
