import { DuplicateError } from '../../storage/errors.js';
import {
  type PgClient,
  type PgPool,
  pgCode,
  pgConstraint,
  UNIQUE_VIOLATION,
} from '../../storage/postgres/driver.js';
import { checkNewBooking, checkUpdate, escrowMove } from '../checks.js';
import { isReservingLease } from '../states.js';
import type {
  BookingStatus,
  BookingUpdate,
  BookingUpdateResult,
  CreateBookingResult,
  IdempotencyRecord,
  LeaseState,
  NewBooking,
} from '../store.js';
import { publishCapacity } from './notify.js';
import { applyTransaction, byCodeUnit } from './postings.js';
import { insertBookingRows, readBooking } from './rows.js';
import { inTransaction, Rollback } from './tx.js';

/**
 * createBooking and applyBookingUpdate: each is one transaction, and takes row locks in one global
 * order (the booking row, then offer_capacity rows by offer id, then accounts by id), so two of
 * them can wait for each other but not deadlock. (The one exception, a create and an update sharing
 * one idempotency key, lock that key at opposite ends; a deadlock there is retried by
 * inTransaction.) A negative outcome rolls everything back.
 */

/** A same-key request that committed first makes our idempotency insert fail: retry, then replay. */
const RETRY_ON = { retryOnUnique: ['idempotency_pkey'] } as const;

export async function createBooking(
  pool: PgPool,
  channel: string,
  nb: NewBooking,
): Promise<CreateBookingResult> {
  const net = checkNewBooking(nb); // RangeError before anything is written
  const b = nb.booking;
  return inTransaction<CreateBookingResult>(
    pool,
    async (c) => {
      if (nb.idempotency) {
        const prior = await lockIdempotency(c, nb.idempotency);
        // A record is live while expires_at > the new request's time; an expired one is replaced.
        if (prior && prior.expires_at > b.created_at) {
          if (prior.scope === nb.idempotency.scope && prior.request_hash === nb.idempotency.request_hash)
            return new Rollback({ kind: 'replay', status: prior.status, response: prior.response });
          return new Rollback({ kind: 'idempotency_mismatch', scope: prior.scope });
        }
        if (prior)
          await c.query('DELETE FROM idempotency WHERE principal = $1 AND key = $2', [
            nb.idempotency.principal,
            nb.idempotency.key,
          ]);
      }
      const reservations = [...nb.reservations].sort((x, y) => byCodeUnit(x.offer_id, y.offer_id));
      for (const r of reservations) {
        // One conditional UPDATE: under READ COMMITTED a concurrent booking's UPDATE waits for our
        // row lock and then re-evaluates the WHERE against the committed row, so two bookings can
        // never both take the last nodes. The provider's current figure replaces the stored one.
        const take = () =>
          c.query(
            `UPDATE offer_capacity SET capacity = $1::bigint, reserved = reserved + $2::bigint
              WHERE offer_id = $3 AND $1::bigint - reserved >= $2::bigint`,
            [r.capacity, r.nodes, r.offer_id],
          );
        let took = await take();
        // Nothing taken: the offer may have no row yet (its first booking, or another booking's
        // insert committed since). Make sure it has one, then try again; still nothing is sold out.
        if (took.rowCount === 0) {
          await c.query(
            'INSERT INTO offer_capacity (offer_id, capacity, reserved) VALUES ($1, $2, 0) ON CONFLICT (offer_id) DO NOTHING',
            [r.offer_id, r.capacity],
          );
          took = await take();
        }
        if (took.rowCount === 0) {
          const { rows } = await c.query<{ reserved: number }>(
            'SELECT reserved FROM offer_capacity WHERE offer_id = $1',
            [r.offer_id],
          );
          const reserved = rows[0]?.reserved ?? 0;
          return new Rollback({
            kind: 'sold_out',
            offer_id: r.offer_id,
            requested: r.nodes,
            available: Math.max(0, r.capacity - reserved),
          });
        }
      }
      try {
        await insertBookingRows(c, b);
      } catch (err) {
        throw duplicate(err, b.id) ?? err;
      }
      if (nb.idempotency) await insertIdempotency(c, nb.idempotency, false);
      if (reservations.length > 0)
        await publishCapacity(
          c,
          channel,
          reservations.map((r) => r.offer_id),
        );
      // Re-read inside the transaction: the caller gets exactly what was committed.
      const booking = await readBooking(c, b.id);
      // The hold last: the requester's and escrow rows are every booking's hottest locks, held from
      // here to COMMIT, so as few round trips as possible come after them.
      if (nb.hold && net) {
        const short = await applyTransaction(c, nb.hold, net);
        if (short) return new Rollback(short);
      }
      return { kind: 'created', booking: booking! };
    },
    RETRY_ON,
  );
}

interface LockedBooking {
  requester: string;
  status: BookingStatus;
  version: number;
  held: number;
}

interface LeaseRow {
  id: string;
  offer_id: string;
  nodes: number;
  state: LeaseState;
  settled: number;
}

export async function applyBookingUpdate(
  pool: PgPool,
  channel: string,
  u: BookingUpdate,
): Promise<BookingUpdateResult> {
  const net = checkUpdate(u); // RangeError before anything is written
  return inTransaction<BookingUpdateResult>(
    pool,
    async (c) => {
      // The booking's row lock serializes every update to it and to its leases.
      const { rows } = await c.query<LockedBooking>(
        'SELECT requester, status, version, held FROM bookings WHERE id = $1 FOR UPDATE',
        [u.booking_id],
      );
      const bk = rows[0];
      if (!bk) return new Rollback({ kind: 'not_found' });
      if (bk.version !== u.expected_version) return new Rollback({ kind: 'stale', version: bk.version });
      const held = bk.held + (u.held_delta ?? 0);
      if (held < 0) throw new RangeError(`booking ${u.booking_id} held would be ${held}, below 0`);
      // The requester's escrow must move by exactly held_delta, so escrow = Σ held stays true.
      const moved = escrowMove(net, bk.requester);
      if (moved !== (u.held_delta ?? 0))
        throw new RangeError(
          `booking ${u.booking_id}: held changes by ${u.held_delta ?? 0} but escrow moves by ${moved}`,
        );

      const released = await applyLeaseChanges(c, u);
      for (const [offer, nodes] of [...released].sort(([x], [y]) => byCodeUnit(x, y)))
        await c.query('UPDATE offer_capacity SET reserved = reserved - $1::bigint WHERE offer_id = $2', [
          nodes,
          offer,
        ]);

      await c.query(
        `UPDATE bookings SET status = $2, held = $3, version = version + 1, updated_at = $4,
                settled = (SELECT COALESCE(SUM(settled), 0) FROM leases WHERE booking_id = $1)::bigint
          WHERE id = $1`,
        [u.booking_id, u.status ?? bk.status, held, u.at],
      );
      if (u.transaction && net) {
        const short = await applyTransaction(c, u.transaction, net);
        if (short) return new Rollback(short);
      }
      if (u.idempotency) await insertIdempotency(c, u.idempotency, true);
      if (released.size > 0) await publishCapacity(c, channel, [...released.keys()]);
      const booking = await readBooking(c, u.booking_id);
      return { kind: 'updated', booking: booking! };
    },
    RETRY_ON,
  );
}

/**
 * Writes the update's lease changes and returns the nodes to release per offer: a lease leaving a
 * reserving state (pending, running) for a terminal one releases once, since a terminal lease can
 * never move again. Such a move is a RangeError, rolling back the whole update.
 */
async function applyLeaseChanges(c: PgClient, u: BookingUpdate): Promise<Map<string, number>> {
  const released = new Map<string, number>();
  if (!u.leases || u.leases.length === 0) return released;
  const { rows } = await c.query<LeaseRow>(
    'SELECT id, offer_id, nodes, state, settled FROM leases WHERE booking_id = $1',
    [u.booking_id],
  );
  const current = new Map(rows.map((r) => [r.id, r]));
  for (const ch of u.leases) {
    const l = current.get(ch.id);
    if (!l) throw new RangeError(`lease ${ch.id} is not part of booking ${u.booking_id}`);
    const to = ch.state ?? l.state;
    // A terminal lease released its nodes when it ended; moving it again would release them twice
    // (or, back to a reserving state, take them without a capacity check). Which moves between
    // live states are sensible is the runtime's business (states.ts), not the store's.
    if (to !== l.state && !isReservingLease(l.state))
      throw new RangeError(`lease ${ch.id} is ${l.state} (terminal) and cannot move to ${to}`);
    const settled = l.settled + (ch.settled_delta ?? 0);
    if (!Number.isSafeInteger(settled))
      throw new RangeError(`lease ${ch.id} settled would leave the safe range`);
    if (isReservingLease(l.state) && !isReservingLease(to))
      released.set(l.offer_id, (released.get(l.offer_id) ?? 0) + l.nodes);
    // Later changes to the same lease in this update see this one.
    current.set(ch.id, { ...l, state: to, settled });
    await c.query(
      `UPDATE leases SET state = $2, settled = $3, started_at = COALESCE($4, started_at),
              ended_at = COALESCE($5, ended_at)
        WHERE id = $1`,
      [ch.id, to, settled, ch.started_at ?? null, ch.ended_at ?? null],
    );
  }
  return released;
}

interface IdempotencyRow {
  scope: string;
  request_hash: string;
  status: number;
  response: unknown;
  expires_at: number;
}

async function lockIdempotency(c: PgClient, r: IdempotencyRecord): Promise<IdempotencyRow | null> {
  const { rows } = await c.query<IdempotencyRow>(
    `SELECT scope, request_hash, status, response, expires_at FROM idempotency
      WHERE principal = $1 AND key = $2 FOR UPDATE`,
    [r.principal, r.key],
  );
  return rows[0] ?? null;
}

/**
 * Stores an idempotency record in the caller's transaction. In createBooking the key was checked
 * (and an expired record deleted) first, so a conflict means a concurrent same-key request
 * committed: the unique violation propagates and the transaction is retried once, then replays.
 * With `keepLive` (an update's record) a live record is kept and an expired one replaced.
 */
async function insertIdempotency(c: PgClient, r: IdempotencyRecord, keepLive: boolean): Promise<void> {
  const insert = `INSERT INTO idempotency (principal, key, scope, request_hash, status, response, created_at, expires_at)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;
  const upsert = `${insert} ON CONFLICT (principal, key) DO UPDATE SET scope = EXCLUDED.scope,
        request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
      WHERE idempotency.expires_at <= EXCLUDED.created_at`;
  await c.query(keepLive ? upsert : insert, idempotencyParams(r));
}

export function idempotencyParams(r: IdempotencyRecord): unknown[] {
  const response = JSON.stringify(r.response);
  if (response === undefined) throw new TypeError('idempotency response is not a JSON value');
  return [r.principal, r.key, r.scope, r.request_hash, r.status, response, r.created_at, r.expires_at];
}

/** A duplicate booking or lease id as a DuplicateError; null for any other error. */
function duplicate(err: unknown, bookingId: string): DuplicateError | null {
  if (pgCode(err) !== UNIQUE_VIOLATION) return null;
  const constraint = pgConstraint(err);
  if (constraint === 'bookings_pkey') return new DuplicateError('booking', bookingId, { cause: err });
  if (constraint === 'leases_pkey') {
    const id = /\(id\)=\((.*)\)/.exec((err as { detail?: string }).detail ?? '')?.[1] ?? '?';
    return new DuplicateError('lease', id, { cause: err });
  }
  return null;
}
