import { escrowAccount, parseAccountId } from './accounts.js';
import { BOOKING_STATUSES, isReservingLease, LEASE_STATES } from './states.js';
import type { BookingUpdate, IdempotencyRecord, NewBooking, NewTransaction, TxKind } from './store.js';

/**
 * Preconditions of the ledger contract, checked in JS before a store method writes anything: a
 * broken one is a bug in the caller, so it is a RangeError and the database is never touched.
 * Nothing here is SQLite-specific.
 */

const TX_KINDS: readonly TxKind[] = ['deposit', 'hold', 'settle', 'release', 'topup', 'adjust'];

export function safeInt(n: unknown, what: string): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n))
    throw new RangeError(`${what} must be a safe integer, got ${String(n)}`);
}

function nonNegInt(n: unknown, what: string): asserts n is number {
  safeInt(n, what);
  if (n < 0) throw new RangeError(`${what} must be ≥ 0, got ${n}`);
}

function finiteNonNeg(n: unknown, what: string): void {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw new RangeError(`${what} must be a finite number ≥ 0, got ${String(n)}`);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): void {
  if (!allowed.includes(v as T))
    throw new RangeError(`${what} must be one of ${allowed.join(', ')}, got ${String(v)}`);
}

export function checkAccountId(id: string): { kind: string; owner: string } {
  const parsed = typeof id === 'string' ? parseAccountId(id) : null;
  if (!parsed)
    throw new RangeError(
      `${String(id)} is not an account id (req:, escrow:, prov:, ext:, budget:, fees, budgets)`,
    );
  return parsed;
}

export function checkLimit(limit: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(limit) || limit < 0 || limit > max)
    throw new RangeError(`limit must be an integer from 0 to ${max}, got ${limit}`);
}

/**
 * Checks a transaction and returns the net amount per account, in first-seen order. Balances move
 * by the net, so an account named twice in one transaction is checked against its floor once.
 */
export function checkTransaction(tx: NewTransaction): Map<string, number> {
  if (typeof tx.id !== 'string' || tx.id === '')
    throw new RangeError('transaction id must be a non-empty string');
  oneOf(tx.kind, TX_KINDS, `transaction ${tx.id} kind`);
  safeInt(tx.at, `transaction ${tx.id} at`);
  if (!Array.isArray(tx.postings) || tx.postings.length < 2)
    throw new RangeError(`transaction ${tx.id} needs at least two postings`);
  let sum = 0n;
  const net = new Map<string, number>();
  for (const p of tx.postings) {
    checkAccountId(p.account);
    safeInt(p.amount, `posting to ${p.account} in ${tx.id}`);
    if (p.amount === 0) throw new RangeError(`posting to ${p.account} in ${tx.id} is 0`);
    sum += BigInt(p.amount); // BigInt: a sum of safe integers can leave the safe range
    net.set(p.account, (net.get(p.account) ?? 0) + p.amount);
  }
  if (sum !== 0n) throw new RangeError(`postings of ${tx.id} sum to ${sum}, not 0`);
  for (const [account, amount] of net) safeInt(amount, `net posting to ${account} in ${tx.id}`);
  return net;
}

/**
 * What a transaction moves into `escrow:<requester>`. Touching another principal's escrow would
 * break that principal's hold invariant, so it is refused.
 */
export function escrowMove(net: Map<string, number> | null, requester: string | null): number {
  const own = requester === null ? null : escrowAccount(requester);
  let moved = 0;
  for (const [account, amount] of net ?? []) {
    if (parseAccountId(account)?.kind !== 'escrow') continue;
    if (account !== own)
      throw new RangeError(
        requester === null
          ? `${account}: escrow moves only with a booking's held amount, not in a deposit`
          : `${account} is not the escrow of requester ${requester}`,
      );
    moved += amount;
  }
  return moved;
}

export function checkIdempotency(r: IdempotencyRecord): void {
  for (const f of ['principal', 'key', 'scope', 'request_hash'] as const)
    if (typeof r[f] !== 'string') throw new RangeError(`idempotency ${f} must be a string`);
  safeInt(r.status, 'idempotency status');
  safeInt(r.created_at, 'idempotency created_at');
  safeInt(r.expires_at, 'idempotency expires_at');
}

/**
 * A new booking: its sums agree with its leases, its reservations are exactly the nodes its
 * reserving leases take per offer, and its hold moves exactly `held` into the requester's escrow.
 * Returns the hold's net postings (null without a hold).
 */
export function checkNewBooking(nb: NewBooking): Map<string, number> | null {
  const b = nb.booking;
  if (typeof b.id !== 'string' || b.id === '') throw new RangeError('booking id must be a non-empty string');
  if (typeof b.requester !== 'string') throw new RangeError(`booking ${b.id} requester must be a string`);
  oneOf(b.status, BOOKING_STATUSES, `booking ${b.id} status`);
  safeInt(b.created_at, `booking ${b.id} created_at`);
  safeInt(b.updated_at, `booking ${b.id} updated_at`);
  safeInt(b.total_cost, `booking ${b.id} total_cost`);
  safeInt(b.settled, `booking ${b.id} settled`);
  nonNegInt(b.held, `booking ${b.id} held`);
  let cost = 0;
  let settled = 0;
  const idxs = new Set<number>();
  const wants = new Map<string, number>();
  for (const l of b.leases) {
    const what = `lease ${l.id} of ${b.id}`;
    if (l.booking_id !== b.id) throw new RangeError(`${what} names booking ${l.booking_id}`);
    nonNegInt(l.idx, `${what} idx`);
    if (idxs.has(l.idx)) throw new RangeError(`${what}: idx ${l.idx} is used twice`);
    idxs.add(l.idx);
    safeInt(l.nodes, `${what} nodes`);
    if (l.nodes <= 0) throw new RangeError(`${what} nodes must be > 0`);
    finiteNonNeg(l.hours, `${what} hours`);
    finiteNonNeg(l.gpus_per_node, `${what} gpus_per_node`);
    safeInt(l.price_per_node_hour, `${what} price_per_node_hour`);
    if (l.price_per_million_tokens !== null)
      safeInt(l.price_per_million_tokens, `${what} price_per_million_tokens`);
    safeInt(l.cost, `${what} cost`);
    safeInt(l.settled, `${what} settled`);
    oneOf(l.state, LEASE_STATES, `${what} state`);
    if (l.started_at !== null) safeInt(l.started_at, `${what} started_at`);
    if (l.ended_at !== null) safeInt(l.ended_at, `${what} ended_at`);
    cost += l.cost;
    settled += l.settled;
    if (isReservingLease(l.state)) wants.set(l.offer_id, (wants.get(l.offer_id) ?? 0) + l.nodes);
  }
  if (cost !== b.total_cost)
    throw new RangeError(`booking ${b.id} total_cost ${b.total_cost} ≠ Σ lease cost ${cost}`);
  if (settled !== b.settled)
    throw new RangeError(`booking ${b.id} settled ${b.settled} ≠ Σ lease settled ${settled}`);
  const seen = new Set<string>();
  for (const r of nb.reservations) {
    if (seen.has(r.offer_id)) throw new RangeError(`booking ${b.id} reserves offer ${r.offer_id} twice`);
    seen.add(r.offer_id);
    nonNegInt(r.capacity, `capacity of ${r.offer_id}`);
    if (r.nodes !== wants.get(r.offer_id))
      throw new RangeError(
        `booking ${b.id} reserves ${r.nodes} nodes of ${r.offer_id}; its leases take ${wants.get(r.offer_id) ?? 0}`,
      );
  }
  for (const offer of wants.keys())
    if (!seen.has(offer)) throw new RangeError(`booking ${b.id} has leases on ${offer} but no reservation`);
  const net = nb.hold ? checkTransaction(nb.hold) : null;
  const moved = escrowMove(net, b.requester);
  if (moved !== b.held)
    throw new RangeError(`booking ${b.id} holds ${b.held} but its hold moves ${moved} into escrow`);
  if (nb.idempotency) checkIdempotency(nb.idempotency);
  return net;
}

/** An update's own fields; what depends on the stored booking is checked in its transaction. */
export function checkUpdate(u: BookingUpdate): Map<string, number> | null {
  safeInt(u.expected_version, 'expected_version');
  safeInt(u.at, 'update at');
  if (u.status !== undefined) oneOf(u.status, BOOKING_STATUSES, 'update status');
  if (u.held_delta !== undefined) safeInt(u.held_delta, 'held_delta');
  for (const l of u.leases ?? []) {
    if (l.state !== undefined) oneOf(l.state, LEASE_STATES, `lease ${l.id} state`);
    if (l.settled_delta !== undefined) safeInt(l.settled_delta, `lease ${l.id} settled_delta`);
    if (l.started_at !== undefined) safeInt(l.started_at, `lease ${l.id} started_at`);
    if (l.ended_at !== undefined) safeInt(l.ended_at, `lease ${l.id} ended_at`);
  }
  if (u.idempotency) checkIdempotency(u.idempotency);
  return u.transaction ? checkTransaction(u.transaction) : null;
}
