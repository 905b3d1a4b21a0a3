import type { PgClient, PgPool } from '../../storage/postgres/driver.js';
import type { BookingRecord, LeaseRecord } from '../store.js';

/**
 * Bookings and their leases, read back as records. Column names equal the record's field names,
 * BIGINT arrives as a safe number (driver.ts) and `json` columns are parsed by pg, so rows need
 * little mapping.
 */

type Db = PgPool | PgClient;

const BOOKING_COLUMNS =
  'id, requester, status, version, created_at, updated_at, plan_id, payment, total_cost, settled, held, summary';
const LEASE_COLUMNS =
  'id, booking_id, idx, offer_id, provider, nodes, hours, gpus_per_node, price_per_node_hour, ' +
  'price_per_million_tokens, cost, settled, state, started_at, ended_at, detail';

/**
 * Bookings matching `where` (SQL over the bookings table, with `params`), in `order`, at most
 * `limit`, each with its leases in `idx` order. Two statements, not one per booking.
 */
export async function readBookings(
  db: Db,
  where: string,
  params: unknown[],
  order = 'id',
  limit: number | null = null,
): Promise<BookingRecord[]> {
  const lim = limit === null ? '' : ` LIMIT $${params.length + 1}`;
  const { rows } = await db.query<Omit<BookingRecord, 'leases'>>(
    `SELECT ${BOOKING_COLUMNS} FROM bookings WHERE ${where} ORDER BY ${order}${lim}`,
    limit === null ? params : [...params, limit],
  );
  if (rows.length === 0) return [];
  const leases = await db.query<LeaseRecord>(
    `SELECT ${LEASE_COLUMNS} FROM leases WHERE booking_id = ANY($1::text[]) ORDER BY booking_id, idx`,
    [rows.map((r) => r.id)],
  );
  const byBooking = new Map<string, LeaseRecord[]>();
  for (const l of leases.rows) {
    const list = byBooking.get(l.booking_id);
    if (list) list.push(l);
    else byBooking.set(l.booking_id, [l]);
  }
  return rows.map((r) => ({ ...r, leases: byBooking.get(r.id) ?? [] }));
}

export async function readBooking(db: Db, id: string): Promise<BookingRecord | null> {
  return (await readBookings(db, 'id = $1', [id]))[0] ?? null;
}

/**
 * The booking and its leases as the rows `computemd_create_booking` inserts (book-function.ts):
 * one key per column, in column order, leases nested. JSON text of it, parsed back, is exactly what
 * `readBooking` would return once it is committed (json columns keep the text as written, BIGINT
 * and DOUBLE PRECISION read back as the same numbers), so the created booking is not re-read.
 */
export function bookingRow(b: BookingRecord): BookingRecord {
  return {
    id: b.id,
    requester: b.requester,
    status: b.status,
    version: b.version,
    created_at: b.created_at,
    updated_at: b.updated_at,
    plan_id: b.plan_id ?? null,
    payment: b.payment,
    total_cost: b.total_cost,
    settled: b.settled,
    held: b.held,
    summary: b.summary ?? {},
    leases: b.leases.map((l) => ({
      id: l.id,
      booking_id: b.id,
      idx: l.idx,
      offer_id: l.offer_id,
      provider: l.provider,
      nodes: l.nodes,
      hours: l.hours,
      gpus_per_node: l.gpus_per_node,
      price_per_node_hour: l.price_per_node_hour,
      price_per_million_tokens: l.price_per_million_tokens ?? null,
      cost: l.cost,
      settled: l.settled,
      state: l.state,
      started_at: l.started_at ?? null,
      ended_at: l.ended_at ?? null,
      detail: l.detail ?? {},
    })),
  };
}
