import type { LeaseState as LedgerLeaseState } from '../ledger/store.js';

/**
 * The lease state machine of the runtime (issue 6, part 6), in one place:
 *
 *   pending → provisioning → running → completed | failed | preempted | cancelled
 *
 * `pending` and `provisioning` may also end (`failed`, `cancelled`; `preempted` when interruptible
 * capacity is reclaimed before the work started). A running lease that is failed over is not moved
 * back: its attempt ends (`failed` or `preempted`) and the replacement is a new attempt.
 * Terminal states never change. Every transition names why it happened.
 */
export const LEASE_STATES = [
  'pending',
  'provisioning',
  'running',
  'completed',
  'failed',
  'preempted',
  'cancelled',
] as const;
export type RuntimeLeaseState = (typeof LEASE_STATES)[number];

const NEXT: Readonly<Record<RuntimeLeaseState, readonly RuntimeLeaseState[]>> = {
  pending: ['provisioning', 'failed', 'preempted', 'cancelled'],
  provisioning: ['running', 'failed', 'preempted', 'cancelled'],
  running: ['completed', 'failed', 'preempted', 'cancelled'],
  completed: [],
  failed: [],
  preempted: [],
  cancelled: [],
};

export const isTerminal = (s: RuntimeLeaseState) => NEXT[s].length === 0;

export interface Transition {
  from: RuntimeLeaseState;
  to: RuntimeLeaseState;
  /** Epoch ms. */
  at: number;
  /** Why, for people: "node stopped heartbeating", "exit code 3", "cancelled by the requester". */
  reason: string;
}

/** The transition, or why it is not allowed (a bug in the caller: states only move forward). */
export function transition(
  from: RuntimeLeaseState,
  to: RuntimeLeaseState,
  at: number,
  reason: string,
): { ok: true; transition: Transition } | { ok: false; detail: string } {
  if (!NEXT[from].includes(to))
    return {
      ok: false,
      detail: isTerminal(from)
        ? `a ${from} lease is final and cannot become ${to}`
        : `a ${from} lease can become ${NEXT[from].join(', ')}, not ${to}`,
    };
  if (reason.trim() === '') return { ok: false, detail: 'a transition needs a reason' };
  return { ok: true, transition: { from, to, at, reason } };
}

/**
 * The ledger's view of a runtime state (ledger/store.ts): capacity stays reserved while the lease
 * is pending, provisioning or running; a preempted lease is `stopped` there.
 */
export function ledgerState(s: RuntimeLeaseState): LedgerLeaseState {
  switch (s) {
    case 'pending':
    case 'provisioning':
      return 'pending';
    case 'preempted':
      return 'stopped';
    default:
      return s;
  }
}
