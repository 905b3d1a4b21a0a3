import type { Outcome } from '../ledger/bookings.js';
import type { SpendLimit } from '../ledger/budgets.js';
import type { BookingRecord } from '../ledger/store.js';
import { type RunSpec, runRequest } from '../runtime/run-spec.js';
import type { LeaseRuntimeRecord } from '../storage/store.js';
import { FAILOVER_KEY, type LeaseRuntime } from './runtime.js';

/**
 * Failover (issue 6, part 6): a lease whose node stopped heartbeating, or whose interruptible
 * capacity was reclaimed, is moved to the next offer: the plan's fallbacks first (in the plan's
 * order), then other offers that can run the work. The replacement is a booking of its own, made
 * for the same requester with the same run, manifest, payment and token caveats, under the key
 * `failover:<lease id>` — so a retry after a crash finds the replacement already made, never a
 * second one. The requester pays each attempt only for its verified work (the failed lease ends
 * at its last verified checkpoint); `GET /bookings/:id` lists every attempt and why each ended.
 */

export interface FailoverDeps {
  /** Books as the requester (LedgerService.book). */
  book(
    caller: { id: string; role: 'requester'; limits: SpendLimit[] },
    body: unknown,
    key: string,
  ): Promise<Outcome>;
  /** The plan's fallback offer ids, in the plan's order (empty when the booking had no plan). */
  fallbacks(planId: string): Promise<string[]>;
  /** Other offers able to run this work (same resource class), cheapest first. */
  alternatives(lease: {
    offer_id: string;
    provider: string;
    run_kind: string | null;
    resource_type: string | null;
  }): string[];
  /** The provider of a live offer, or null when the offer is gone. */
  providerOf(offerId: string): string | null;
  /** At most this many attempts per lease chain (default 4). */
  maxAttempts?: number;
  log?: (msg: string) => void;
}

/** The providers already tried in this lease's chain (it and every lease it replaces). */
async function triedProviders(rt: LeaseRuntime, r: LeaseRuntimeRecord): Promise<Set<string>> {
  const tried = new Set<string>([r.provider]);
  let at: LeaseRuntimeRecord | null = r;
  for (let i = 0; at?.replaces && i < 32; i++) {
    at = await rt.deps.repo.getLease(at.replaces);
    if (at) tried.add(at.provider);
  }
  return tried;
}

/**
 * Books the replacement of a lease that ended without finishing. Returns the new lease id, or
 * null when nothing could take it (the reasons are logged and kept in the lease's history).
 */
export async function failover(
  rt: LeaseRuntime,
  f: FailoverDeps,
  r: LeaseRuntimeRecord,
  b: BookingRecord,
): Promise<string | null> {
  if (r.replaced_by) return r.replaced_by;
  if (r.attempt >= (f.maxAttempts ?? 4)) {
    f.log?.(`lease ${r.lease_id}: ${r.attempt} attempts made; no further failover`);
    return null;
  }
  const lease = b.leases.find((l) => l.id === r.lease_id);
  if (!lease) return null;
  const s = b.summary as {
    run?: Record<string, unknown>;
    manifest?: { jws?: string };
    limits?: SpendLimit[];
  };
  const tried = await triedProviders(rt, r);
  const candidates = [
    ...(b.plan_id ? await f.fallbacks(b.plan_id) : []),
    ...f.alternatives({
      offer_id: r.offer_id,
      provider: r.provider,
      run_kind: r.run_kind,
      resource_type: typeof lease.detail.resource_type === 'string' ? lease.detail.resource_type : null,
    }),
  ];
  const seen = new Set<string>();
  const reasons: string[] = [];
  for (const offerId of candidates) {
    if (seen.has(offerId) || offerId === r.offer_id) continue;
    seen.add(offerId);
    const provider = f.providerOf(offerId);
    if (!provider || tried.has(provider)) continue;
    const body = {
      allocations: [{ offer_id: offerId, nodes: lease.nodes, hours: lease.hours }],
      payment: {
        method: b.payment.method,
        model: b.payment.model,
        stream: b.payment.stream,
        ...(b.payment.model === 'per_epoch' ? { epoch: b.payment.epoch_s >= 86_400 ? 'day' : 'hour' } : {}),
      },
      ...(s.run ? { run: runRequest(s.run as unknown as RunSpec) } : {}),
      ...(s.manifest?.jws ? { manifest: s.manifest.jws } : {}),
    };
    const out = await f.book(
      { id: b.requester, role: 'requester', limits: s.limits ?? [] },
      body,
      `${FAILOVER_KEY}${r.lease_id}`,
    );
    if (out.ok) {
      const nb = out.body as { allocations?: { lease_id?: string }[] };
      const next = nb.allocations?.[0]?.lease_id ?? null;
      if (next) await rt.patch(r.lease_id, { replaced_by: next });
      f.log?.(`lease ${r.lease_id} failed over to ${next} on ${provider}`);
      return next;
    }
    // Only a booking that is made stores its key: after a refusal the next candidate may use it.
    reasons.push(`${offerId}: ${out.problem.detail}`);
  }
  f.log?.(
    `lease ${r.lease_id}: no offer could take over${reasons.length ? ` (${reasons.slice(0, 3).join('; ')})` : ''}`,
  );
  return null;
}
