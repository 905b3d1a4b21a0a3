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

/** Inserts a booking and its leases (the caller has checked them and maps duplicates to errors). */
export async function insertBookingRows(c: PgClient, b: BookingRecord): Promise<void> {
  await c.query(
    `INSERT INTO bookings (${BOOKING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      b.id,
      b.requester,
      b.status,
      b.version,
      b.created_at,
      b.updated_at,
      b.plan_id,
      // JSON text, not the object: pg would send a JS array as a PostgreSQL array literal.
      JSON.stringify(b.payment),
      b.total_cost,
      b.settled,
      b.held,
      JSON.stringify(b.summary ?? {}),
    ],
  );
  if (b.leases.length === 0) return;
  const values: unknown[] = [];
  const tuples = b.leases.map((l) => {
    const row = [
      l.id,
      b.id,
      l.idx,
      l.offer_id,
      l.provider,
      l.nodes,
      l.hours,
      l.gpus_per_node,
      l.price_per_node_hour,
      l.price_per_million_tokens,
      l.cost,
      l.settled,
      l.state,
      l.started_at,
      l.ended_at,
      JSON.stringify(l.detail ?? {}),
    ];
    const first = values.length;
    values.push(...row);
    return `(${row.map((_, i) => `$${first + i + 1}`).join(', ')})`;
  });
  await c.query(`INSERT INTO leases (${LEASE_COLUMNS}) VALUES ${tuples.join(', ')}`, values);
}
