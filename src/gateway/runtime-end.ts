import type { LeaseProgress } from '../ledger/service.js';
import type { RuntimeLeaseState } from '../runtime/lease-states.js';
import type { LeaseRuntimeRecord } from '../storage/store.js';
import type { LeaseRuntime } from './runtime.js';

/** What the ledger hears when a runtime lease ends in `to`. */
export function progressFor(to: RuntimeLeaseState): LeaseProgress | null {
  switch (to) {
    case 'running':
    case 'completed':
    case 'failed':
    case 'cancelled':
    case 'preempted':
      return to;
    default:
      return null;
  }
}

/**
 * Ends a lease in the runtime and tells the ledger when its proven work ended: the last verified
 * checkpoint for work that runs on proof, now otherwise. The provider is paid up to that end.
 */
export async function endLease(
  rt: LeaseRuntime,
  r: LeaseRuntimeRecord,
  to: 'completed' | 'failed' | 'cancelled' | 'preempted',
  reason: string,
  opts: { at?: number; exit_code?: number | null } = {},
): Promise<LeaseRuntimeRecord | null> {
  const moved = await rt.move(
    r.lease_id,
    to,
    reason,
    opts.exit_code !== undefined ? { exit_code: opts.exit_code } : {},
  );
  if (!moved) return null;
  let at = opts.at;
  if (at === undefined) {
    const last = r.driver === 'agent' ? await rt.deps.repo.lastCheckpoint(r.lease_id) : null;
    at = last ? last.at * 1000 : rt.deps.clock.now();
  }
  const p = progressFor(to);
  if (p) await rt.deps.progress(r.lease_id, r.booking_id, p, at);
  return moved;
}
