import type { SqliteDb } from '../../storage/sqlite/driver.js';
import type { Violation } from '../store.js';
import type { Query } from './sql.js';

/**
 * verify(): every invariant of ledger/store.ts as one set-based query each (GROUP BY and joins, no
 * per-row work in JS), so it stays fast at 100k rows. Run in one read transaction: a WAL snapshot,
 * so a concurrent writer cannot make a consistent ledger look broken halfway through.
 *
 * `reserved > capacity` is not checked: capacity is the market's figure and moves under existing
 * reservations. `reserved < 0` needs no query of its own: Σ nodes is never negative, so it is a
 * `capacity_mismatch`.
 */

/** At most this many violations per code: a broken ledger is reported, not dumped whole. */
const CAP = 1000;

interface Check {
  code: string;
  sql: string;
  describe: (r: Record<string, number | string>) => string;
}

const HELD_BY_REQUESTER = 'SELECT requester, SUM(held) AS held FROM bookings GROUP BY requester';
const RESERVING_NODES =
  "SELECT offer_id, SUM(nodes) AS nodes FROM leases WHERE state IN ('pending', 'running') GROUP BY offer_id";

const CHECKS: readonly Check[] = [
  {
    code: 'unbalanced_tx',
    sql: 'SELECT tx_id AS subject, SUM(amount) AS sum FROM postings GROUP BY tx_id HAVING SUM(amount) <> 0',
    describe: (r) => `postings sum to ${r.sum}, not 0`,
  },
  {
    code: 'balance_mismatch',
    sql: `SELECT a.id AS subject, a.balance, coalesce(p.sum, 0) AS sum FROM accounts a
          LEFT JOIN (SELECT account, SUM(amount) AS sum FROM postings GROUP BY account) p ON p.account = a.id
          WHERE a.balance <> coalesce(p.sum, 0)`,
    describe: (r) => `balance ${r.balance} but its postings sum to ${r.sum}`,
  },
  {
    code: 'negative_balance',
    sql: `SELECT id AS subject, balance, credit_limit FROM accounts
          WHERE kind <> 'external' AND balance < -credit_limit`,
    describe: (r) => `balance ${r.balance} is below -credit_limit (${r.credit_limit})`,
  },
  {
    // Both directions: an escrow account without bookings, and bookings holding money without one.
    code: 'hold_mismatch',
    sql: `SELECT e.id AS subject, e.balance, coalesce(h.held, 0) AS held FROM accounts e
          LEFT JOIN (${HELD_BY_REQUESTER}) h ON e.id = 'escrow:' || h.requester
          WHERE e.kind = 'escrow' AND e.balance <> coalesce(h.held, 0)
          UNION ALL
          SELECT 'escrow:' || h.requester, 0, h.held FROM (${HELD_BY_REQUESTER}) h
          WHERE h.held <> 0 AND NOT EXISTS (SELECT 1 FROM accounts e WHERE e.id = 'escrow:' || h.requester)`,
    describe: (r) => `escrow balance ${r.balance} but its bookings hold ${r.held}`,
  },
  {
    code: 'booking_held_negative',
    sql: 'SELECT id AS subject, held FROM bookings WHERE held < 0',
    describe: (r) => `held is ${r.held}`,
  },
  {
    code: 'booking_sum_mismatch',
    sql: `SELECT b.id AS subject, b.total_cost, b.settled, coalesce(l.cost, 0) AS cost, coalesce(l.settled, 0) AS lsettled
          FROM bookings b
          LEFT JOIN (SELECT booking_id, SUM(cost) AS cost, SUM(settled) AS settled FROM leases GROUP BY booking_id) l
            ON l.booking_id = b.id
          WHERE b.total_cost <> coalesce(l.cost, 0) OR b.settled <> coalesce(l.settled, 0)`,
    describe: (r) =>
      `total_cost ${r.total_cost} / settled ${r.settled} but its leases sum to ${r.cost} / ${r.lsettled}`,
  },
  {
    code: 'capacity_mismatch',
    sql: `SELECT c.offer_id AS subject, c.reserved, coalesce(l.nodes, 0) AS nodes FROM offer_capacity c
          LEFT JOIN (${RESERVING_NODES}) l ON l.offer_id = c.offer_id
          WHERE c.reserved <> coalesce(l.nodes, 0)
          UNION ALL
          SELECT l.offer_id, 0, l.nodes FROM (${RESERVING_NODES}) l
          WHERE NOT EXISTS (SELECT 1 FROM offer_capacity c WHERE c.offer_id = l.offer_id)`,
    describe: (r) => `reserved ${r.reserved} but pending and running leases take ${r.nodes} nodes`,
  },
];

export function verifyLedger(db: SqliteDb, q: Query): { ok: boolean; violations: Violation[] } {
  const violations = db.transaction(() => {
    const out: Violation[] = [];
    for (const c of CHECKS) {
      const rows = q(`SELECT * FROM (${c.sql}) LIMIT ${CAP}`).all() as Record<string, number | string>[];
      for (const r of rows) out.push({ code: c.code, subject: String(r.subject), detail: c.describe(r) });
    }
    return out;
  })();
  return { ok: violations.length === 0, violations };
}
