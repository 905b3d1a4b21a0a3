import type { SqliteDb } from '../../storage/sqlite/driver.js';
import {
  checkAccountId,
  checkIdempotency,
  checkLimit,
  checkTransaction,
  escrowMove,
  safeInt,
} from '../checks.js';
import type {
  Account,
  AccountEntry,
  CreateBookingResult,
  DepositResult,
  LedgerStore,
  NewBooking,
} from '../store.js';
import { applyBookingUpdate, createBooking } from './bookings.js';
import { BOOKING_COLUMNS, readBooking, readBookings } from './rows.js';
import { atomically, liveIdempotency, postTransaction, statementCache, upsertIdempotency } from './sql.js';
import { verifyLedger } from './verify.js';

/**
 * The ledger on one SQLite connection (ledger/store.ts). Methods are async to fit the contract but
 * run synchronously, and every write is one BEGIN IMMEDIATE transaction, so concurrent calls in
 * this process are serialised and other processes wait on the busy timeout. (createBooking runs on
 * the next turn of the event loop, batched with the others asked for meanwhile: see `flush`.)
 */
export function createSqliteLedger(db: SqliteDb): LedgerStore {
  const q = statementCache(db);
  const listeners = new Set<(offerIds: string[]) => void>();

  /** After commit only. A listener that throws is reported, never allowed to fail the write. */
  const notify = (offers: string[]) => {
    if (offers.length === 0) return;
    const ids = [...new Set(offers)];
    for (const l of [...listeners]) {
      try {
        l([...ids]);
      } catch (err) {
        process.emitWarning(`a capacity listener threw: ${(err as Error)?.message ?? String(err)}`);
      }
    }
  };

  // Group commit: the bookings asked for in one turn of the event loop share one transaction, each
  // in its own savepoint (better-sqlite3 nests transactions as savepoints), so a sold-out or failed
  // one undoes only itself. Nothing resolves before the COMMIT; a failed COMMIT fails them all.
  // Most of a lone booking's cost is the COMMIT writing every touched page to the WAL; a batch
  // writes the pages it shares (accounts, indexes) once.
  type Waiter = { nb: NewBooking; resolve: (r: CreateBookingResult) => void; reject: (e: unknown) => void };
  let queue: Waiter[] = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    const outs: (
      | { ok: true; result: CreateBookingResult; offers: string[] }
      | { ok: false; err: unknown }
    )[] = [];
    try {
      atomically(db, () => {
        for (const w of batch) {
          try {
            outs.push({ ok: true, ...createBooking(db, q, w.nb) });
          } catch (err) {
            // An error that ended the whole transaction (I/O, busy) must not let the rest autocommit.
            if (!db.inTransaction) throw err;
            outs.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    const offers: string[] = [];
    batch.forEach((w, i) => {
      const o = outs[i] as (typeof outs)[number];
      if (o.ok) {
        offers.push(...o.offers);
        w.resolve(o.result);
      } else w.reject(o.err);
    });
    notify(offers);
  };

  const balanceOf = (id: string): number =>
    (q('SELECT balance FROM accounts WHERE id = ?').pluck().get(id) as number | undefined) ?? 0;

  return {
    kind: 'sqlite',

    async getAccount(id) {
      return (
        (q('SELECT id, kind, owner, balance, credit_limit FROM accounts WHERE id = ?').get(id) as
          | Account
          | undefined) ?? null
      );
    },

    async setCreditLimit(id, limit) {
      const { kind, owner } = checkAccountId(id);
      safeInt(limit, 'credit limit');
      if (limit < 0) throw new RangeError(`credit limit must be ≥ 0, got ${limit}`);
      atomically(db, () => {
        q('INSERT INTO accounts (id, kind, owner) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING').run(
          id,
          kind,
          owner,
        );
        // Lowering the limit under an existing debt would break the floor invariant at once.
        const ok = q(
          "UPDATE accounts SET credit_limit = ? WHERE id = ? AND (kind = 'external' OR balance >= -?)",
        ).run(limit, id, limit).changes;
        if (ok === 0)
          throw new RangeError(`${id} owes more than ${limit}; its credit limit cannot go below its debt`);
      });
    },

    async listEntries(account, opts) {
      checkLimit(opts.limit, 1000);
      if (opts.before !== undefined) safeInt(opts.before, 'before');
      if (opts.limit === 0) return [];
      return q(
        `SELECT p.seq, p.tx_id, t.kind, t.at, t.booking_id, t.memo, p.amount
         FROM postings p JOIN transactions t ON t.id = p.tx_id
         WHERE p.account = ? AND p.seq < ? ORDER BY p.seq DESC LIMIT ?`,
      ).all(account, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit) as AccountEntry[];
    },

    async deposit(tx, ref): Promise<DepositResult> {
      const net = checkTransaction(tx);
      escrowMove(net, null); // a deposit never touches escrow: holds move only with bookings
      checkAccountId(ref.credit_to);
      const result = atomically<DepositResult | { kind: 'insufficient_funds'; account: string }>(db, () => {
        const seen = q('SELECT id, credit_to FROM transactions WHERE rail = ? AND external_ref = ?').get(
          ref.rail,
          ref.external_ref,
        ) as { id: string; credit_to: string | null } | undefined;
        if (seen) {
          const before = q('SELECT coalesce(SUM(amount), 0) FROM postings WHERE tx_id = ? AND account = ?')
            .pluck()
            .get(seen.id, ref.credit_to) as number;
          const same = seen.credit_to === ref.credit_to && before === (net.get(ref.credit_to) ?? 0);
          return same
            ? { kind: 'replayed', tx_id: seen.id, balance: balanceOf(ref.credit_to) }
            : { kind: 'conflict', tx_id: seen.id };
        }
        postTransaction(q, tx, net, ref);
        return { kind: 'created', balance: balanceOf(ref.credit_to) };
      });
      // DepositResult has no "no funds" variant: money comes from external accounts, which have no floor.
      if (result.kind === 'insufficient_funds')
        throw new Error(
          `deposit ${tx.id}: ${result.account} cannot fund it (only external accounts have no floor)`,
        );
      return result;
    },

    createBooking(nb) {
      return new Promise((resolve, reject) => {
        if (queue.push({ nb, resolve, reject }) === 1) setImmediate(flush);
      });
    },

    async getBooking(id) {
      return readBooking(q, id);
    },

    async leaseBooking(leaseId) {
      return (
        (q('SELECT booking_id FROM leases WHERE id = ?').pluck().get(leaseId) as string | undefined) ?? null
      );
    },

    async listBookings(requester, opts) {
      checkLimit(opts.limit);
      if (opts.limit === 0) return [];
      return opts.before === undefined
        ? readBookings(
            q,
            `SELECT ${BOOKING_COLUMNS} FROM bookings WHERE requester = ? ORDER BY id DESC LIMIT ?`,
            requester,
            opts.limit,
          )
        : readBookings(
            q,
            `SELECT ${BOOKING_COLUMNS} FROM bookings WHERE requester = ? AND id < ? ORDER BY id DESC LIMIT ?`,
            requester,
            opts.before,
            opts.limit,
          );
    },

    async listOpenBookings(limit, after) {
      checkLimit(limit);
      if (limit === 0) return [];
      // The status term matches bookings_open's WHERE word for word, so SQLite can use that index.
      return readBookings(
        q,
        `SELECT ${BOOKING_COLUMNS} FROM bookings
         WHERE status IN ('pending', 'active') AND id > ? ORDER BY id LIMIT ?`,
        after ?? '',
        limit,
      );
    },

    async applyBookingUpdate(u) {
      const { result, offers } = applyBookingUpdate(db, q, u);
      notify(offers);
      return result;
    },

    async reserved(offerIds) {
      const rows = (
        offerIds === undefined
          ? q('SELECT offer_id, reserved FROM offer_capacity WHERE reserved > 0').all()
          : q(
              `SELECT offer_id, reserved FROM offer_capacity
               WHERE reserved > 0 AND offer_id IN (SELECT value FROM json_each(?))`,
            ).all(JSON.stringify(offerIds))
      ) as { offer_id: string; reserved: number }[];
      return new Map(rows.map((r) => [r.offer_id, r.reserved]));
    },

    onCapacityChange(listener) {
      // Wrapped so the same function registered twice is two subscriptions, each removable once.
      const entry = (ids: string[]) => listener(ids);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },

    async getIdempotency(principal, key, now) {
      return liveIdempotency(q, principal, key, now);
    },

    async putIdempotency(r) {
      checkIdempotency(r);
      return atomically(db, () => {
        upsertIdempotency(q, r);
        // Whichever record the upsert left (the new one, or the live one it kept), expired or not.
        const held = liveIdempotency(q, r.principal, r.key, Number.MIN_SAFE_INTEGER);
        if (!held)
          throw new Error(`idempotency record ${r.principal}/${r.key} vanished inside its own transaction`);
        return held;
      });
    },

    async purgeIdempotency(now) {
      safeInt(now, 'now');
      return q('DELETE FROM idempotency WHERE expires_at <= ?').run(now).changes;
    },

    async verify() {
      return verifyLedger(db, q);
    },

    // One process per SQLite file (a second process would not hear capacity events either).
    async tryLead() {
      return db.open;
    },
  };
}
