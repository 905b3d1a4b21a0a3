import type pg from 'pg';
import type { PgPool } from '../../storage/postgres/driver.js';
import {
  checkAccountId,
  checkIdempotency,
  checkLimit,
  checkTransaction,
  escrowMove,
  safeInt,
} from '../checks.js';
import type { Account, AccountEntry, DepositResult, IdempotencyRecord, LedgerStore } from '../store.js';
import { applyBookingUpdate, createBooking, idempotencyParams } from './bookings.js';
import { CAPACITY_CHANNEL, createCapacityListener } from './notify.js';
import { applyTransaction, ensureAccount } from './postings.js';
import { readBooking, readBookings } from './rows.js';
import { inTransaction, Rollback } from './tx.js';
import { verifyLedger } from './verify.js';

/**
 * The ledger on PostgreSQL (ledger/store.ts). Every method's writes are one transaction on one
 * pooled connection, so many calls in flight at once each use their own connection; invariants are
 * kept by conditional UPDATEs and row locks under READ COMMITTED (see bookings.ts, postings.ts).
 * Preconditions are checked by `sqlite/checks.ts` (backend-neutral despite its folder), so both
 * backends refuse exactly the same inputs with the same RangeErrors.
 */

export interface PostgresLedgerOptions {
  /** Opens the dedicated LISTEN connection (same settings as the pool). */
  listenClient: () => pg.Client;
  /**
   * The NOTIFY channel. Stores sharing tables (replicas) must share it; stores in other schemas
   * must not, or they would hear offers that are not theirs. Default `computemd_capacity`.
   */
  channel?: string;
  /** Throws once the owning store is closed, so calls after close reject. */
  guard?: () => void;
}

export interface PostgresLedger extends LedgerStore {
  /**
   * Resolves once the LISTEN connection is in place (at once with no subscriber). Until then
   * another replica's commit may go unheard; tests and startup code that must not miss one wait.
   */
  listening(): Promise<void>;
  /** Ends the LISTEN connection. The pool belongs to the caller. */
  close(): Promise<void>;
}

const MAX_ENTRIES = 1000;

export function createPostgresLedger(pool: PgPool, opts: PostgresLedgerOptions): PostgresLedger {
  const channel = opts.channel ?? CAPACITY_CHANNEL;
  const guard = opts.guard ?? (() => {});
  const capacity = createCapacityListener(opts.listenClient, channel);

  return {
    kind: 'postgres',

    async getAccount(id) {
      guard();
      const { rows } = await pool.query<Account>(
        'SELECT id, kind, owner, balance, credit_limit FROM accounts WHERE id = $1',
        [id],
      );
      return rows[0] ?? null;
    },

    async setCreditLimit(id, limit) {
      guard();
      const parsed = checkAccountId(id);
      safeInt(limit, 'credit limit');
      if (limit < 0) throw new RangeError(`credit limit must be ≥ 0, got ${limit}`);
      // One statement: create the account, or change its limit unless that would put the floor
      // above the balance (a debt larger than the new limit would break the invariant at once).
      const set = await pool.query(
        `INSERT INTO accounts (id, kind, owner, credit_limit) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET credit_limit = EXCLUDED.credit_limit
         WHERE accounts.kind = 'external' OR accounts.balance >= -EXCLUDED.credit_limit`,
        [id, parsed.kind, parsed.owner, limit],
      );
      if (set.rowCount === 0)
        throw new RangeError(
          `${id} owes ${-(await balanceOf(pool, id))}; its credit limit cannot drop below that to ${limit}`,
        );
    },

    async listEntries(account, o) {
      guard();
      checkLimit(o.limit, MAX_ENTRIES);
      if (o.before !== undefined) safeInt(o.before, 'before');
      if (o.limit === 0) return [];
      const { rows } = await pool.query<AccountEntry>(
        `SELECT p.seq, p.tx_id, t.kind, t.at, t.booking_id, t.memo, p.amount
           FROM postings p JOIN transactions t ON t.id = p.tx_id
          WHERE p.account = $1 AND ($2::bigint IS NULL OR p.seq < $2::bigint)
          ORDER BY p.seq DESC LIMIT $3`,
        [account, o.before ?? null, o.limit],
      );
      return rows;
    },

    async deposit(tx, ref) {
      guard();
      const net = checkTransaction(tx); // RangeError before anything is written
      checkAccountId(ref.credit_to);
      escrowMove(net, null); // a deposit never moves escrow: that would break escrow = Σ held
      const credited = net.get(ref.credit_to) ?? 0;
      return inTransaction<DepositResult>(
        pool,
        async (c) => {
          const prior = await c.query<{ id: string; credit_to: string | null; credited: number }>(
            `SELECT t.id, t.credit_to,
                    (SELECT COALESCE(SUM(amount), 0) FROM postings p
                      WHERE p.tx_id = t.id AND p.account = t.credit_to)::bigint AS credited
               FROM transactions t WHERE t.rail = $1 AND t.external_ref = $2`,
            [ref.rail, ref.external_ref],
          );
          const first = prior.rows[0];
          if (first) {
            if (first.credit_to !== ref.credit_to || first.credited !== credited)
              return new Rollback({ kind: 'conflict', tx_id: first.id });
            return new Rollback({
              kind: 'replayed',
              tx_id: first.id,
              balance: await balanceOf(c, ref.credit_to),
            });
          }
          const short = await applyTransaction(c, tx, net, ref);
          if (short)
            // DepositResult has no "no funds" outcome: a deposit or adjustment that overdraws an
            // account was computed wrongly by the caller, so it is a broken precondition.
            throw new RangeError(
              `transaction ${tx.id} would take ${short.account} to ${short.balance - short.needed}, below -${short.credit_limit}`,
            );
          await ensureAccount(c, ref.credit_to);
          return { kind: 'created', balance: await balanceOf(c, ref.credit_to) };
        },
        // Two deliveries of one rail reference at once: the loser retries and replays.
        { retryOnUnique: ['transactions_external_ref'] },
      );
    },

    async createBooking(b) {
      guard();
      return createBooking(pool, channel, b);
    },

    async getBooking(id) {
      guard();
      return readBooking(pool, id);
    },

    async listBookings(requester, o) {
      guard();
      checkLimit(o.limit);
      if (o.limit === 0) return [];
      return o.before === undefined
        ? readBookings(pool, 'requester = $1', [requester], 'id DESC', o.limit)
        : readBookings(pool, 'requester = $1 AND id < $2', [requester, o.before], 'id DESC', o.limit);
    },

    async listOpenBookings(limit, after) {
      guard();
      checkLimit(limit);
      if (limit === 0) return [];
      const open = "status IN ('pending', 'active')";
      return after === undefined
        ? readBookings(pool, open, [], 'id', limit)
        : readBookings(pool, `${open} AND id > $1`, [after], 'id', limit);
    },

    async applyBookingUpdate(u) {
      guard();
      return applyBookingUpdate(pool, channel, u);
    },

    async reserved(offerIds) {
      guard();
      const { rows } =
        offerIds === undefined
          ? await pool.query<{ offer_id: string; reserved: number }>(
              'SELECT offer_id, reserved FROM offer_capacity WHERE reserved <> 0 ORDER BY offer_id',
            )
          : await pool.query<{ offer_id: string; reserved: number }>(
              'SELECT offer_id, reserved FROM offer_capacity WHERE reserved <> 0 AND offer_id = ANY($1::text[]) ORDER BY offer_id',
              [[...offerIds]],
            );
      return new Map(rows.map((r) => [r.offer_id, r.reserved]));
    },

    onCapacityChange(listener) {
      guard();
      return capacity.subscribe(listener);
    },

    async getIdempotency(principal, key, now) {
      guard();
      const { rows } = await pool.query<IdempotencyRecord>(
        `SELECT principal, key, scope, request_hash, status, response, created_at, expires_at
           FROM idempotency WHERE principal = $1 AND key = $2 AND expires_at > $3`,
        [principal, key, now],
      );
      return rows[0] ?? null;
    },

    async putIdempotency(r) {
      guard();
      checkIdempotency(r);
      const params = idempotencyParams(r);
      return inTransaction(pool, async (c) => {
        // Inserts, or replaces a record that has expired by r.created_at; a live one is kept (and
        // locked, so the read below sees it as it holds).
        const put = await c.query<IdempotencyRecord>(
          `INSERT INTO idempotency (principal, key, scope, request_hash, status, response, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (principal, key) DO UPDATE SET scope = EXCLUDED.scope, request_hash = EXCLUDED.request_hash,
             status = EXCLUDED.status, response = EXCLUDED.response, created_at = EXCLUDED.created_at,
             expires_at = EXCLUDED.expires_at
           WHERE idempotency.expires_at <= EXCLUDED.created_at
           RETURNING principal, key, scope, request_hash, status, response, created_at, expires_at`,
          params,
        );
        if (put.rows[0]) return put.rows[0];
        const { rows } = await c.query<IdempotencyRecord>(
          `SELECT principal, key, scope, request_hash, status, response, created_at, expires_at
             FROM idempotency WHERE principal = $1 AND key = $2`,
          [r.principal, r.key],
        );
        return rows[0]!;
      });
    },

    async purgeIdempotency(now) {
      guard();
      safeInt(now, 'now');
      const res = await pool.query('DELETE FROM idempotency WHERE expires_at <= $1', [now]);
      return res.rowCount ?? 0;
    },

    async verify() {
      guard();
      return inTransaction(pool, verifyLedger);
    },

    listening: () => capacity.ready(),
    close: () => capacity.close(),
  };
}

async function balanceOf(c: pg.ClientBase | PgPool, id: string): Promise<number> {
  const { rows } = await c.query<{ balance: number }>('SELECT balance FROM accounts WHERE id = $1', [id]);
  return rows[0]?.balance ?? 0;
}
