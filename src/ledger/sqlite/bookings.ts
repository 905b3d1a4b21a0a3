import type { SqliteDb } from '../../storage/sqlite/driver.js';
import { checkNewBooking, checkUpdate, escrowMove } from '../checks.js';
import { isReservingLease } from '../states.js';
import type {
  BookingUpdate,
  BookingUpdateResult,
  CreateBookingResult,
  LeaseState,
  NewBooking,
} from '../store.js';
import { insertBookingRows, insertLeaseRow, readBooking } from './rows.js';
import {
  atomically,
  insertOrDuplicate,
  liveIdempotency,
  postTransaction,
  type Query,
  rollback,
  upsertIdempotency,
} from './sql.js';

/**
 * The two booking writes. Each is one IMMEDIATE transaction; an expected failure (sold out, no
 * funds, stale) rolls all of it back and comes out as a result value. `offers` lists the offers
 * whose reservations changed, for the capacity listeners once the transaction has committed.
 */

export function createBooking(
  db: SqliteDb,
  q: Query,
  nb: NewBooking,
): { result: CreateBookingResult; offers: string[] } {
  const b = nb.booking;
  const holdNet = checkNewBooking(nb);
  const result = atomically<CreateBookingResult>(db, () => {
    const idem = nb.idempotency;
    if (idem) {
      // Liveness is judged at the booking's own time, which is the request's time.
      const live = liveIdempotency(q, idem.principal, idem.key, b.created_at);
      if (live)
        return live.scope === idem.scope && live.request_hash === idem.request_hash
          ? { kind: 'replay', status: live.status, response: live.response }
          : { kind: 'idempotency_mismatch', scope: live.scope };
    }
    for (const r of nb.reservations) {
      q(
        'INSERT INTO offer_capacity (offer_id, capacity, reserved) VALUES (?, ?, 0) ON CONFLICT (offer_id) DO NOTHING',
      ).run(r.offer_id, r.capacity);
      // One conditional statement: it takes the nodes only if the caller's capacity figure (which
      // also refreshes the stored one) still leaves room beside everything already reserved.
      const took = q(
        'UPDATE offer_capacity SET capacity = ?, reserved = reserved + ? WHERE offer_id = ? AND ? - reserved >= ?',
      ).run(r.capacity, r.nodes, r.offer_id, r.capacity, r.nodes).changes;
      if (took === 0) {
        const reserved = q('SELECT reserved FROM offer_capacity WHERE offer_id = ?')
          .pluck()
          .get(r.offer_id) as number;
        rollback({
          kind: 'sold_out',
          offer_id: r.offer_id,
          requested: r.nodes,
          available: Math.max(0, r.capacity - reserved),
        });
      }
    }
    insertOrDuplicate('booking', b.id, () => insertBookingRows(q, b));
    for (const l of b.leases) insertOrDuplicate('lease', l.id, () => insertLeaseRow(q, l));
    if (nb.hold && holdNet) postTransaction(q, nb.hold, holdNet);
    if (idem) upsertIdempotency(q, idem);
    const booking = readBooking(q, b.id);
    if (!booking) throw new Error(`booking ${b.id} vanished inside its own transaction`);
    return { kind: 'created', booking };
  });
  return { result, offers: result.kind === 'created' ? nb.reservations.map((r) => r.offer_id) : [] };
}

interface LeaseRow {
  state: LeaseState;
  nodes: number;
  offer_id: string;
}

export function applyBookingUpdate(
  db: SqliteDb,
  q: Query,
  u: BookingUpdate,
): { result: BookingUpdateResult; offers: string[] } {
  const txNet = checkUpdate(u);
  const released = new Set<string>();
  const result = atomically<BookingUpdateResult>(db, () => {
    const row = q('SELECT requester, version, held, settled FROM bookings WHERE id = ?').get(u.booking_id) as
      | { requester: string; version: number; held: number; settled: number }
      | undefined;
    if (!row) return { kind: 'not_found' };
    if (row.version !== u.expected_version) return { kind: 'stale', version: row.version };
    const heldDelta = u.held_delta ?? 0;
    // held is the requester's share of escrow; the postings must move escrow by the same amount.
    const moved = escrowMove(txNet, row.requester);
    if (moved !== heldDelta)
      throw new RangeError(
        `booking ${u.booking_id}: held_delta ${heldDelta} but the postings move escrow by ${moved}`,
      );
    if (row.held + heldDelta < 0)
      throw new RangeError(`booking ${u.booking_id}: held ${row.held} + ${heldDelta} would be negative`);

    let settledDelta = 0;
    for (const ch of u.leases ?? []) {
      const l = q('SELECT state, nodes, offer_id FROM leases WHERE id = ? AND booking_id = ?').get(
        ch.id,
        u.booking_id,
      ) as LeaseRow | undefined;
      if (!l) throw new RangeError(`lease ${ch.id} is not part of booking ${u.booking_id}`);
      const next = ch.state ?? l.state;
      if (next !== l.state) {
        // A terminal lease released its nodes when it ended; moving it again would release them
        // twice (or, back to a reserving state, take them without a capacity check).
        if (!isReservingLease(l.state))
          throw new RangeError(`lease ${ch.id} is ${l.state} (terminal) and cannot move to ${next}`);
        if (!isReservingLease(next)) {
          q('UPDATE offer_capacity SET reserved = reserved - ? WHERE offer_id = ?').run(l.nodes, l.offer_id);
          released.add(l.offer_id);
        }
      }
      q(
        `UPDATE leases SET state = ?, settled = settled + ?, started_at = coalesce(?, started_at),
           ended_at = coalesce(?, ended_at)
         WHERE id = ?`,
      ).run(next, ch.settled_delta ?? 0, ch.started_at ?? null, ch.ended_at ?? null, ch.id);
      settledDelta += ch.settled_delta ?? 0;
    }
    if (!Number.isSafeInteger(row.settled + settledDelta))
      throw new RangeError(`booking ${u.booking_id}: settled would leave the safe integer range`);

    const changed = q(
      `UPDATE bookings SET version = version + 1, updated_at = ?, status = coalesce(?, status),
         held = held + ?, settled = settled + ?
       WHERE id = ? AND version = ?`,
    ).run(u.at, u.status ?? null, heldDelta, settledDelta, u.booking_id, u.expected_version).changes;
    if (changed !== 1) throw new Error(`booking ${u.booking_id} changed under the write lock`);
    if (u.transaction && txNet) postTransaction(q, u.transaction, txNet);
    if (u.idempotency) upsertIdempotency(q, u.idempotency);
    const booking = readBooking(q, u.booking_id);
    if (!booking) throw new Error(`booking ${u.booking_id} vanished inside its own transaction`);
    return { kind: 'updated', booking };
  });
  return { result, offers: result.kind === 'updated' ? [...released] : [] };
}
