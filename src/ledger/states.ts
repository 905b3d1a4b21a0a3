import type { BookingStatus, LeaseState } from './store.js';

/**
 * Booking and lease states are closed unions (STYLE.md 7); every allowed move is listed here and
 * nowhere else. The ledger records lease states; the runtime (issue 6) decides when leases move.
 */

export const BOOKING_STATUSES: readonly BookingStatus[] = [
  'pending',
  'active',
  'completed',
  'cancelled',
  'overdrawn',
  'failed',
];

export const LEASE_STATES: readonly LeaseState[] = [
  'pending',
  'running',
  'completed',
  'cancelled',
  'stopped',
  'failed',
];

export function assertNever(x: never): never {
  throw new Error(`unexpected state ${String(x)}`);
}

/** Open bookings still run and settle; the rest are final. */
export function isOpenBooking(s: BookingStatus): boolean {
  switch (s) {
    case 'pending':
    case 'active':
      return true;
    case 'completed':
    case 'cancelled':
    case 'overdrawn':
    case 'failed':
      return false;
    default:
      return assertNever(s);
  }
}

/** Leases in these states hold capacity (`offer_capacity.reserved`). */
export function isReservingLease(s: LeaseState): boolean {
  switch (s) {
    case 'pending':
    case 'running':
      return true;
    case 'completed':
    case 'cancelled':
    case 'stopped':
    case 'failed':
      return false;
    default:
      return assertNever(s);
  }
}

const BOOKING_MOVES: Record<BookingStatus, readonly BookingStatus[]> = {
  pending: ['active', 'completed', 'cancelled', 'overdrawn', 'failed'],
  active: ['completed', 'cancelled', 'overdrawn', 'failed'],
  completed: [],
  cancelled: [],
  overdrawn: [],
  failed: [],
};

const LEASE_MOVES: Record<LeaseState, readonly LeaseState[]> = {
  pending: ['running', 'completed', 'cancelled', 'stopped', 'failed'],
  running: ['completed', 'cancelled', 'stopped', 'failed'],
  completed: [],
  cancelled: [],
  stopped: [],
  failed: [],
};

export function canMoveBooking(from: BookingStatus, to: BookingStatus): boolean {
  return from === to || BOOKING_MOVES[from].includes(to);
}

export function canMoveLease(from: LeaseState, to: LeaseState): boolean {
  return from === to || LEASE_MOVES[from].includes(to);
}
