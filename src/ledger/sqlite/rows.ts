import type { BookingRecord, LeaseRecord } from '../store.js';
import type { Query } from './sql.js';

/** Bookings and leases between rows and records: JSON columns parsed, leases in `idx` order. */

interface BookingRow {
  id: string;
  requester: string;
  status: BookingRecord['status'];
  version: number;
  created_at: number;
  updated_at: number;
  plan_id: string | null;
  payment: string;
  total_cost: number;
  settled: number;
  held: number;
  summary: string;
}

interface LeaseRow extends Omit<LeaseRecord, 'detail'> {
  detail: string;
}

export const BOOKING_COLUMNS =
  'id, requester, status, version, created_at, updated_at, plan_id, payment, total_cost, settled, held, summary';

const LEASE_COLUMNS =
  'id, booking_id, idx, offer_id, provider, nodes, hours, gpus_per_node, price_per_node_hour, ' +
  'price_per_million_tokens, cost, settled, state, started_at, ended_at, detail';

const leaseFromRow = (r: LeaseRow): LeaseRecord => ({
  ...r,
  detail: JSON.parse(r.detail) as LeaseRecord['detail'],
});

/** Records for booking rows, with their leases fetched in one query (not one per booking). */
export function withLeases(q: Query, rows: readonly BookingRow[]): BookingRecord[] {
  if (rows.length === 0) return [];
  const leases = q(
    `SELECT ${LEASE_COLUMNS} FROM leases WHERE booking_id IN (SELECT value FROM json_each(?))
     ORDER BY booking_id, idx`,
  ).all(JSON.stringify(rows.map((r) => r.id))) as LeaseRow[];
  const by = new Map<string, LeaseRecord[]>();
  for (const l of leases) {
    const list = by.get(l.booking_id) ?? [];
    list.push(leaseFromRow(l));
    by.set(l.booking_id, list);
  }
  return rows.map((r) => ({
    ...r,
    payment: JSON.parse(r.payment) as BookingRecord['payment'],
    summary: JSON.parse(r.summary) as BookingRecord['summary'],
    leases: by.get(r.id) ?? [],
  }));
}

export function readBooking(q: Query, id: string): BookingRecord | null {
  const row = q(`SELECT ${BOOKING_COLUMNS} FROM bookings WHERE id = ?`).get(id) as BookingRow | undefined;
  return row ? (withLeases(q, [row])[0] ?? null) : null;
}

export function readBookings(q: Query, sql: string, ...params: unknown[]): BookingRecord[] {
  return withLeases(q, q(sql).all(...params) as BookingRow[]);
}

export function insertBookingRows(q: Query, b: BookingRecord): void {
  q(`INSERT INTO bookings (${BOOKING_COLUMNS}) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    b.id,
    b.requester,
    b.status,
    b.created_at,
    b.updated_at,
    b.plan_id,
    JSON.stringify(b.payment),
    b.total_cost,
    b.settled,
    b.held,
    JSON.stringify(b.summary),
  );
}

export function insertLeaseRow(q: Query, l: LeaseRecord): void {
  q(`INSERT INTO leases (${LEASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    l.id,
    l.booking_id,
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
    JSON.stringify(l.detail),
  );
}
