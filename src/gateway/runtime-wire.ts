import { microsToUsd } from '../ledger/money.js';
import type { LeaseRecord } from '../ledger/store.js';
import type { LeaseRuntimeRecord } from '../storage/store.js';
import { iso } from '../util/clock.js';

/** How many outputs, checkpoints and the receipt a lease has: read beside its record. */
export interface LeaseExtras {
  checkpoints: number;
  last_checkpoint_at: number | null;
  receipt_id: string | null;
  outputs: { name: string; sha256: string; bytes: number }[];
}

/**
 * A lease as `GET /leases/:id` shows it: the runtime's state and history beside the ledger's
 * money. `simulated: true` marks a lease whose timeline is modelled (runtime/simulated.ts).
 */
export function leaseToWire(r: LeaseRuntimeRecord, l: LeaseRecord | null, x: LeaseExtras) {
  return {
    id: r.lease_id,
    booking_id: r.booking_id,
    provider: r.provider,
    offer_id: r.offer_id,
    state: r.state,
    simulated: r.simulated,
    driver: r.driver,
    run_kind: r.run_kind,
    attempt: r.attempt,
    replaces: r.replaces,
    replaced_by: r.replaced_by,
    nodes: l?.nodes ?? null,
    hours: l?.hours ?? null,
    cost_usd: l ? microsToUsd(l.cost) : null,
    settled_usd: l ? microsToUsd(l.settled) : null,
    payment_condition: (l?.detail.payment_condition as string | undefined) ?? 'none',
    started_at: l?.started_at != null ? iso(l.started_at) : null,
    ended_at: l?.ended_at != null ? iso(l.ended_at) : null,
    checkpoints: x.checkpoints,
    last_checkpoint_at: x.last_checkpoint_at === null ? null : iso(x.last_checkpoint_at * 1000),
    receipt_id: x.receipt_id,
    exit_code: r.exit_code,
    endpoint: typeof r.handle.endpoint === 'string' ? r.handle.endpoint : null,
    load_balancer: typeof r.handle.lb === 'string' ? `/lb/${r.handle.lb}` : null,
    outputs: x.outputs,
    history: r.history.map((h) => ({ from: h.from, to: h.to, at: iso(h.at), reason: h.reason })),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export type LeaseWire = ReturnType<typeof leaseToWire>;
