import { escrowAccount, FEES_ACCOUNT, providerAccount, requesterAccount } from './accounts.js';
import { mulDiv } from './money.js';
import { isReservingLease } from './states.js';
import type { BookingRecord, BookingUpdate, LeaseRecord, LeaseState, Micros, Posting } from './store.js';

/**
 * Settlement as pure arithmetic (issue 4, part 4): given a booking, the time and the usage of its
 * leases, what moves where. The store applies the result atomically; nothing here touches it.
 *
 * - `per_second`: a node-second costs price/3600; accrued = nodes × price × seconds / 3600.
 * - `per_epoch`: each STARTED epoch (hour or day) is paid in full, as clouds bill by the hour.
 * - `per_token`: tokens × price per million / 1e6 (usage from the load balancer, issue 8).
 * Time-based accruals never exceed the lease's `cost`, and a lease that ran all its hours accrues
 * exactly `cost`, so a completed booking costs exactly what it quoted.
 *
 * Streaming (`payment.stream`): accrued usage is posted from escrow to the provider at each epoch
 * boundary, and the hold is kept topped up from the requester's balance to cover the next
 * `window_s` seconds. When the requester cannot fund what is due, everything the hold covers is
 * paid, the leases stop and the booking is `overdrawn` (Akash's escrow behaviour): work never
 * continues unpaid. Without streaming the whole cost is held at booking and paid at the end.
 */

/** Usage of one lease: seconds run (per node) and tokens served. */
export interface LeaseUsage {
  seconds: number;
  tokens: number;
}

/** Where usage comes from. Until the runtime (issue 6) reports it, a lease's usage is its elapsed time. */
export interface UsageSource {
  usage(lease: LeaseRecord, now: number): LeaseUsage;
}

/** Token counts fed by whatever serves requests (the load balancer, issue 8; tests). */
export class TokenMeter {
  private readonly counts = new Map<string, number>();
  add(leaseId: string, tokens: number): void {
    if (!Number.isSafeInteger(tokens) || tokens < 0)
      throw new RangeError(`tokens must be a non-negative integer, got ${tokens}`);
    this.counts.set(leaseId, (this.counts.get(leaseId) ?? 0) + tokens);
  }
  get(leaseId: string): number {
    return this.counts.get(leaseId) ?? 0;
  }
}

export function elapsedUsage(meter: TokenMeter = new TokenMeter()): UsageSource {
  return {
    usage(lease, now) {
      const start = lease.started_at;
      const end = lease.ended_at ?? now;
      const seconds =
        start === null ? 0 : Math.max(0, Math.min(lease.hours * 3600, Math.floor((end - start) / 1000)));
      return { seconds, tokens: meter.get(lease.id) };
    },
  };
}

/** What a lease has cost by now, in micros, under the booking's payment model. */
export function accrued(b: BookingRecord, l: LeaseRecord, u: LeaseUsage): Micros {
  const model = b.payment.model;
  switch (model) {
    case 'per_second':
      return Math.min(l.cost, mulDiv(l.nodes * l.price_per_node_hour, Math.floor(u.seconds), 3600));
    case 'per_epoch': {
      const e = b.payment.epoch_s;
      const paidSeconds = Math.min(Math.ceil(u.seconds / e) * e, Math.ceil(l.hours * 3600));
      return Math.min(l.cost, mulDiv(l.nodes * l.price_per_node_hour, paidSeconds, 3600));
    }
    case 'per_token':
      return mulDiv(u.tokens, l.price_per_million_tokens ?? 0, 1_000_000);
    default: {
      const never: never = model;
      throw new Error(`unknown payment model ${String(never)}`);
    }
  }
}

/** The booking's spend rate while all its open leases run, micros per hour. */
export function ratePerHour(b: BookingRecord): Micros {
  let r = 0;
  for (const l of b.leases) if (isReservingLease(l.state)) r += l.nodes * l.price_per_node_hour;
  return r;
}

export interface SettleOptions {
  now: number;
  usage: UsageSource;
  /** Operator fee in basis points of what a provider is paid (100 = 1%). */
  feeBps: number;
  /** What the requester can still spend: balance + credit limit (micros, may be 0). */
  available: Micros;
  /** How far ahead a streaming hold is kept funded (seconds). */
  windowS: number;
  /** `tx_…` id for the transaction, if one is needed. */
  txId: string;
  /** Why this settles: a tick, or a cancel (leases end now, unused hold returns). */
  reason: 'tick' | 'cancel';
}

/**
 * The update a tick (or a cancel) makes to an open booking, or null when nothing changes. The
 * caller applies it with `expected_version = b.version`; on `stale` it re-reads and calls again.
 */
export function settleBooking(b: BookingRecord, o: SettleOptions): BookingUpdate | null {
  const cancelling = o.reason === 'cancel';
  const leaseChanges: NonNullable<BookingUpdate['leases']> = [];
  const dues: { lease: LeaseRecord; due: Micros }[] = [];
  let allDone = true;
  let anyRunning = false;
  for (const l of b.leases) {
    if (!isReservingLease(l.state)) continue;
    const u = o.usage.usage(l, o.now);
    // The runtime reported the lease's end (a verified receipt, issue 6): it is paid for the time
    // it ran, up to that end, and completes now.
    const endedEarly = l.ended_at !== null;
    const finished = endedEarly || u.seconds >= l.hours * 3600;
    // A time-billed lease that ran every hour costs exactly what it quoted (no rounding drift).
    const acc = finished && !endedEarly && b.payment.model !== 'per_token' ? l.cost : accrued(b, l, u);
    // Paid on proof (a lease that runs work): nothing is posted before its end is known.
    const withhold = l.detail.payment_condition === 'attestation_receipt' && !finished && !cancelling;
    const due = withhold ? 0 : Math.max(0, acc - l.settled);
    // A lease whose work has not started yet (no verified checkpoint) stays pending.
    const next: LeaseState = finished
      ? 'completed'
      : cancelling
        ? 'cancelled'
        : l.started_at === null
          ? 'pending'
          : 'running';
    if (next === 'running' || next === 'pending') allDone = false;
    if (next === 'running') anyRunning = true;
    const ch: NonNullable<BookingUpdate['leases']>[number] = { id: l.id };
    if (next !== l.state) ch.state = next;
    if ((next === 'completed' || next === 'cancelled') && !endedEarly) ch.ended_at = o.now;
    if (next !== l.state || due > 0) leaseChanges.push(ch);
    dues.push({ lease: l, due });
  }
  if (dues.length === 0 && b.status !== 'pending' && b.status !== 'active') return null;

  // Streaming posts at epoch boundaries; otherwise everything is posted when the booking ends.
  const ending = allDone || cancelling;
  const epochMs = b.payment.epoch_s * 1000;
  const epochPassed = Math.floor(o.now / epochMs) > Math.floor(b.updated_at / epochMs);
  const post = ending || (b.payment.stream && epochPassed);
  const totalDue = post ? dues.reduce((s, d) => s + d.due, 0) : 0;

  // Top-up keeps a streaming hold covering what is due now plus the next window.
  let topup = 0;
  if (b.payment.stream && !ending) {
    const remaining = Math.max(0, b.total_cost - b.settled - totalDue);
    const window = Math.min(remaining, mulDiv(ratePerHour(b), o.windowS, 3600));
    topup = Math.max(0, Math.min(totalDue + window - b.held, Math.max(0, o.available)));
  } else if (totalDue > b.held) {
    topup = Math.min(totalDue - b.held, Math.max(0, o.available));
  }
  const fundable = b.held + topup;
  const overdrawn = totalDue > fundable;
  const paid = overdrawn ? fundable : totalDue;

  // Pay leases in order until the money runs out.
  const postings: Posting[] = [];
  const perProvider = new Map<string, Micros>();
  let left = paid;
  for (const d of dues) {
    const pay = Math.min(d.due, left);
    left -= pay;
    if (pay > 0) {
      perProvider.set(d.lease.provider, (perProvider.get(d.lease.provider) ?? 0) + pay);
      const ch = leaseChanges.find((c) => c.id === d.lease.id);
      if (ch) ch.settled_delta = pay;
    }
  }
  for (const ch of leaseChanges) {
    if (!post && ch.settled_delta) delete ch.settled_delta;
    if (overdrawn && (ch.state === undefined || ch.state === 'running')) {
      ch.state = 'stopped';
      ch.ended_at = o.now;
    }
  }
  if (overdrawn) {
    for (const d of dues)
      if (!leaseChanges.some((c) => c.id === d.lease.id))
        leaseChanges.push({ id: d.lease.id, state: 'stopped', ended_at: o.now });
  }
  const esc = escrowAccount(b.requester);
  if (topup > 0) postings.push({ account: requesterAccount(b.requester), amount: -topup });
  let fees = 0;
  for (const [provider, amount] of perProvider) {
    const fee = mulDiv(amount, o.feeBps, 10_000);
    fees += fee;
    if (amount - fee > 0) postings.push({ account: providerAccount(provider), amount: amount - fee });
  }
  if (fees > 0) postings.push({ account: FEES_ACCOUNT, amount: fees });
  // Whatever the hold keeps after a booking ends goes back to the requester.
  const finalHeld = ending || overdrawn ? 0 : fundable - paid;
  const release = fundable - paid - finalHeld;
  if (release > 0) postings.push({ account: requesterAccount(b.requester), amount: release });
  const escrowDelta = topup - paid - release;
  if (escrowDelta !== 0) postings.push({ account: esc, amount: escrowDelta });
  // Net the requester's two postings (a top-up and a release cannot both be non-zero, but be safe).
  const merged = mergePostings(postings);

  const status = overdrawn
    ? 'overdrawn'
    : cancelling
      ? 'cancelled'
      : allDone
        ? 'completed'
        : anyRunning
          ? 'active'
          : b.status;
  const changed = merged.length > 0 || status !== b.status || leaseChanges.some((c) => c.state !== undefined);
  if (!changed) return null;
  return {
    booking_id: b.id,
    expected_version: b.version,
    at: o.now,
    ...(status !== b.status ? { status } : {}),
    ...(escrowDelta !== 0 ? { held_delta: escrowDelta } : {}),
    leases: leaseChanges.filter((c) => c.state !== undefined || c.settled_delta),
    transaction:
      merged.length >= 2
        ? {
            id: o.txId,
            kind: overdrawn || ending ? 'settle' : paid > 0 ? 'settle' : 'topup',
            at: o.now,
            booking_id: b.id,
            memo: overdrawn
              ? 'settled what the hold covered; funds ran out, leases stopped'
              : cancelling
                ? 'cancel: used time paid, unused hold released'
                : ending
                  ? 'final settlement; unused hold released'
                  : paid > 0
                    ? 'streaming settlement'
                    : 'hold top-up',
            postings: merged,
          }
        : null,
  };
}

function mergePostings(ps: Posting[]): Posting[] {
  const m = new Map<string, number>();
  for (const p of ps) m.set(p.account, (m.get(p.account) ?? 0) + p.amount);
  return [...m].filter(([, a]) => a !== 0).map(([account, amount]) => ({ account, amount }));
}
