import type { PgClient } from '../../storage/postgres/driver.js';
import type { Violation } from '../store.js';

/**
 * `verify()`: every invariant of store.ts as one set-based query per invariant, run in a single
 * REPEATABLE READ snapshot so a booking committing halfway through the check cannot look like a
 * violation. Each query returns (subject, detail) rows; the order is fixed so reports diff cleanly.
 *
 * As on SQLite, `reserved > capacity` is not reported: capacity is the market's figure and may
 * shrink under existing reservations. `reserved < 0` shows up as a `capacity_mismatch`.
 */

/** At most this many violations per code: a broken ledger is reported, not dumped whole. */
const CAP = 1000;

const CHECKS: readonly { code: string; sql: string }[] = [
  {
    code: 'unbalanced_tx',
    sql: `SELECT tx_id AS subject, 'postings sum to ' || SUM(amount) AS detail
            FROM postings GROUP BY tx_id HAVING SUM(amount) <> 0 ORDER BY tx_id`,
  },
  {
    code: 'balance_mismatch',
    sql: `SELECT a.id AS subject,
                 'balance ' || a.balance || ' but postings sum to ' || COALESCE(p.total, 0) AS detail
            FROM accounts a
            LEFT JOIN (SELECT account, SUM(amount) AS total FROM postings GROUP BY account) p ON p.account = a.id
           WHERE a.balance <> COALESCE(p.total, 0)
           ORDER BY a.id`,
  },
  {
    code: 'negative_balance',
    sql: `SELECT id AS subject, 'balance ' || balance || ' is below -' || credit_limit AS detail
            FROM accounts WHERE kind <> 'external' AND balance < -credit_limit ORDER BY id`,
  },
  {
    // A principal with bookings but no escrow account yet (nothing held) reads as balance 0.
    code: 'hold_mismatch',
    sql: `SELECT COALESCE(e.id, 'escrow:' || h.requester) AS subject,
                 'escrow balance ' || COALESCE(e.balance, 0) || ' but bookings hold ' || COALESCE(h.held, 0) AS detail
            FROM (SELECT id, owner, balance FROM accounts WHERE kind = 'escrow') e
            FULL JOIN (SELECT requester, SUM(held) AS held FROM bookings GROUP BY requester) h
              ON h.requester = e.owner
           WHERE COALESCE(e.balance, 0) <> COALESCE(h.held, 0)
           ORDER BY 1`,
  },
  {
    code: 'booking_held_negative',
    sql: `SELECT id AS subject, 'held ' || held AS detail FROM bookings WHERE held < 0 ORDER BY id`,
  },
  {
    code: 'booking_sum_mismatch',
    sql: `SELECT b.id AS subject,
                 'total_cost ' || b.total_cost || ', settled ' || b.settled || ' but leases sum to ' ||
                 COALESCE(l.cost, 0) || ', ' || COALESCE(l.settled, 0) AS detail
            FROM bookings b
            LEFT JOIN (SELECT booking_id, SUM(cost) AS cost, SUM(settled) AS settled FROM leases GROUP BY booking_id) l
              ON l.booking_id = b.id
           WHERE b.total_cost <> COALESCE(l.cost, 0) OR b.settled <> COALESCE(l.settled, 0)
           ORDER BY b.id`,
  },
  {
    // Offers with reserving leases but no capacity row count as reserved 0, and the reverse.
    code: 'capacity_mismatch',
    sql: `SELECT COALESCE(o.offer_id, l.offer_id) AS subject,
                 'reserved ' || COALESCE(o.reserved, 0) || ' but pending/running leases take ' ||
                 COALESCE(l.nodes, 0) AS detail
            FROM offer_capacity o
            FULL JOIN (SELECT offer_id, SUM(nodes) AS nodes FROM leases
                        WHERE state IN ('pending', 'running') GROUP BY offer_id) l
              ON l.offer_id = o.offer_id
           WHERE COALESCE(o.reserved, 0) <> COALESCE(l.nodes, 0)
           ORDER BY 1`,
  },
];

/** The body of verify's transaction (run through `inTransaction`, which begins and ends it). */
export async function verifyLedger(c: PgClient): Promise<{ ok: boolean; violations: Violation[] }> {
  // Must be the transaction's first statement; READ ONLY documents (and enforces) that verify writes nothing.
  await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
  const violations: Violation[] = [];
  for (const check of CHECKS) {
    const { rows } = await c.query<{ subject: string; detail: string }>(`${check.sql} LIMIT ${CAP}`);
    for (const r of rows) violations.push({ code: check.code, subject: r.subject, detail: r.detail });
  }
  return { ok: violations.length === 0, violations };
}
