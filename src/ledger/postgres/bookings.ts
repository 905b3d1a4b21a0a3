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
  BookingRecord,
  BookingStatus,
  BookingUpdate,
  BookingUpdateResult,
  CreateBookingResult,
  IdempotencyRecord,
  LeaseRecord,
  LeaseState,
  NewBooking,
} from '../store.js';
import type { BookingBatcher } from './batch.js';
import { bookingCall } from './book-function.js';
import type { CapacityPublisher } from './notify.js';
import { applyTransaction, byCodeUnit } from './postings.js';
import { readBooking } from './rows.js';
import { inTransaction, Rollback } from './tx.js';

/**
 * createBooking and applyBookingUpdate: each is one transaction (or, for creates, one sub-block of
 * a batch's transaction), and takes row locks in one global order (the booking row, then
 * offer_capacity rows by offer id, then accounts by id), so two of them can wait for each other but
 * not deadlock. (The one exception, a create and an update sharing one idempotency key, lock that
 * key at opposite ends; a deadlock there is retried.) A negative outcome rolls back everything it
 * wrote. Capacity changes are announced after the commit (notify.ts).
 */

/** A same-key request that committed first makes our idempotency insert fail: retry, then replay. */
const RETRY_ON = { retryOnUnique: ['idempotency_pkey'] } as const;

/** The function's SQLSTATE for a balance that would leave the safe integer range (book-function.ts). */
const UNSAFE_BALANCE = 'CMRNG';

/**
 * One statement, one round trip: `computemd_create_booking` (book-function.ts) does in the database
 * what this file's transaction did before, statement for statement, and answers with the outcome;
 * bookings asked for in the same turn share one call and one commit (batch.ts). Preconditions are
 * checked here first (RangeError before anything is written). The created booking is built from
 * what was inserted (`bookingRow`), not re-read.
 */
export async function createBooking(
  batcher: BookingBatcher,
  capacity: CapacityPublisher,
  nb: NewBooking,
): Promise<CreateBookingResult> {
  const net = checkNewBooking(nb);
  const b = nb.booking;
  const { call, booking, leases } = bookingCall(nb, net);
  let out: CreateOutcome;
  try {
    out = (await batcher.submit(call)) as CreateOutcome;
  } catch (err) {
    throw duplicate(err, b.id, nb.hold?.id) ?? unsafe(err) ?? err;
  }
  if (out.kind !== 'created') return out;
  if (call.offers.length > 0) capacity.add(call.offers.map((o) => o.id));
  const created = JSON.parse(booking) as BookingRecord;
  created.leases = JSON.parse(leases) as LeaseRecord[];
  return { kind: 'created', booking: created };
}

/** What the function answers: the result, less the booking of a created one. */
type CreateOutcome = Exclude<CreateBookingResult, { kind: 'created' }> | { kind: 'created' };

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
  capacity: CapacityPublisher,
  u: BookingUpdate,
): Promise<BookingUpdateResult> {
  const net = checkUpdate(u); // RangeError before anything is written
  let released: string[] = [];
  const result = await inTransaction<BookingUpdateResult>(
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

      const freed = await applyLeaseChanges(c, u);
      for (const [offer, nodes] of [...freed].sort(([x], [y]) => byCodeUnit(x, y)))
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
      if (u.idempotency) await insertIdempotency(c, u.idempotency);
      const booking = await readBooking(c, u.booking_id);
      released = [...freed.keys()];
      return { kind: 'updated', booking: booking! };
    },
    RETRY_ON,
  );
  // Announced once committed (a rolled-back attempt's offers were overwritten by the retry).
  if (result.kind === 'updated' && released.length > 0) capacity.add(released);
  return result;
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

/**
 * Stores an update's idempotency record in the caller's transaction: a live record is kept and an
 * expired one replaced. (createBooking's record is written by its function.)
 */
async function insertIdempotency(c: PgClient, r: IdempotencyRecord): Promise<void> {
  const upsert = `INSERT INTO idempotency (principal, key, scope, request_hash, status, response, created_at, expires_at)
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (principal, key) DO UPDATE SET scope = EXCLUDED.scope,
        request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
      WHERE idempotency.expires_at <= EXCLUDED.created_at`;
  await c.query(upsert, idempotencyParams(r));
}

export function idempotencyParams(r: IdempotencyRecord): unknown[] {
  const response = JSON.stringify(r.response);
  if (response === undefined) throw new TypeError('idempotency response is not a JSON value');
  return [r.principal, r.key, r.scope, r.request_hash, r.status, response, r.created_at, r.expires_at];
}

/** A duplicate booking, lease or hold transaction id as a DuplicateError; null for any other error. */
function duplicate(err: unknown, bookingId: string, txId: string | undefined): DuplicateError | null {
  if (pgCode(err) !== UNIQUE_VIOLATION) return null;
  const constraint = pgConstraint(err);
  if (constraint === 'bookings_pkey') return new DuplicateError('booking', bookingId, { cause: err });
  if (constraint === 'leases_pkey') {
    const id = /\(id\)=\((.*)\)/.exec((err as { detail?: string }).detail ?? '')?.[1] ?? '?';
    return new DuplicateError('lease', id, { cause: err });
  }
  if (constraint === 'transactions_pkey' && txId !== undefined)
    return new DuplicateError('transaction', txId, { cause: err });
  return null;
}

/** The function's unsafe-balance error as the RangeError the other writers throw; null otherwise. */
function unsafe(err: unknown): RangeError | null {
  return pgCode(err) === UNSAFE_BALANCE ? new RangeError((err as Error).message, { cause: err }) : null;
}
