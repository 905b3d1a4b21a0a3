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
import { createBookingBatcher, turnBatched } from './batch.js';
import { applyBookingUpdate, createBooking, idempotencyParams } from './bookings.js';
import { createLeader } from './leader.js';
import { CAPACITY_CHANNEL, createCapacityListener, createCapacityPublisher } from './notify.js';
import { applyTransaction, ensureAccount } from './postings.js';
import { readBooking, readBookings } from './rows.js';
import { inTransaction, Rollback } from './tx.js';
import { verifyLedger } from './verify.js';

/**
 * The ledger on PostgreSQL (ledger/store.ts). Every method's writes are one transaction on one
 * pooled connection, so many calls in flight at once each use their own connection; invariants are
 * kept by conditional UPDATEs and row locks under READ COMMITTED (see bookings.ts, postings.ts).
 * The exception is the hot path of `POST /book`: createBooking is one server-side function call
 * (book-function.ts), and the bookings and idempotency lookups asked for in one turn of the event
 * loop share one call and one commit (batch.ts).
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
  /**
   * How long a capacity change waits to share one NOTIFY with others (default 20 ms): listeners,
   * this store's own included, hear of a commit up to this much later.
   */
  notifyDelayMs?: number;
  /** Throws once the owning store is closed, so calls after close reject. */
  guard?: () => void;
}

export interface PostgresLedger extends LedgerStore {
  /**
   * Resolves once the LISTEN connection is in place (at once with no subscriber). Until then
   * another replica's commit may go unheard; tests and startup code that must not miss one wait.
   */
  listening(): Promise<void>;
  /** Sends pending capacity events, then ends the LISTEN connection. The pool belongs to the caller. */
  close(): Promise<void>;
}

const MAX_ENTRIES = 1000;

const IDEMPOTENCY_COLUMNS = 'principal, key, scope, request_hash, status, response, created_at, expires_at';

interface IdempotencyLookup {
  principal: string;
  key: string;
  now: number;
}

export function createPostgresLedger(pool: PgPool, opts: PostgresLedgerOptions): PostgresLedger {
  const channel = opts.channel ?? CAPACITY_CHANNEL;
  const guard = opts.guard ?? (() => {});
  const capacity = createCapacityListener(opts.listenClient, channel);
  const batcher = createBookingBatcher(pool);
  const publisher = createCapacityPublisher(pool, channel, { delayMs: opts.notifyDelayMs ?? 20 });
  // Leads are scoped like the channel: replicas on one schema compete, other schemas do not.
  const leader = createLeader(opts.listenClient, channel);

  // Every booking asks this first: the lookups of one turn share a query.
  const lookupOne = async ({ principal, key, now }: IdempotencyLookup) => {
    const { rows } = await pool.query<IdempotencyRecord>({
      name: 'computemd_get_idempotency',
      text: `SELECT ${IDEMPOTENCY_COLUMNS} FROM idempotency WHERE principal = $1 AND key = $2 AND expires_at > $3`,
      values: [principal, key, now],
    });
    return rows[0] ?? null;
  };
  const lookupIdempotency = turnBatched<IdempotencyLookup, IdempotencyRecord | null>(
    lookupOne,
    async (lookups) => {
      const { rows } = await pool.query<IdempotencyRecord & { n: number }>({
        name: 'computemd_get_idempotencies',
        text: `SELECT q.n, i.principal, i.key, i.scope, i.request_hash, i.status, i.response, i.created_at,
                       i.expires_at
                 FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS q(principal, key, now, n)
                 JOIN idempotency i ON i.principal = q.principal AND i.key = q.key AND i.expires_at > q.now`,
        values: [lookups.map((l) => l.principal), lookups.map((l) => l.key), lookups.map((l) => l.now)],
      });
      const found: (IdempotencyRecord | null)[] = lookups.map(() => null);
      for (const { n, ...r } of rows) found[n - 1] = r;
      return found;
    },
  );

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
      return createBooking(batcher, publisher, b);
    },

    async getBooking(id) {
      guard();
      return readBooking(pool, id);
    },

    async leaseBooking(leaseId) {
      guard();
      const { rows } = await pool.query<{ booking_id: string }>(
        'SELECT booking_id FROM leases WHERE id = $1',
        [leaseId],
      );
      return rows[0]?.booking_id ?? null;
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
      return applyBookingUpdate(pool, publisher, u);
    },

    async reserved(offerIds) {
      guard();
      const { rows } =
        offerIds === undefined
          ? await pool.query<{ offer_id: string; reserved: number }>(
              'SELECT offer_id, reserved FROM offer_capacity WHERE reserved <> 0 ORDER BY offer_id',
            )
          : await pool.query<{ offer_id: string; reserved: number }>({
              // Named: every capacity event of every replica asks this.
              name: 'computemd_reserved',
              text: 'SELECT offer_id, reserved FROM offer_capacity WHERE reserved <> 0 AND offer_id = ANY($1::text[]) ORDER BY offer_id',
              values: [[...offerIds]],
            });
      return new Map(rows.map((r) => [r.offer_id, r.reserved]));
    },

    onCapacityChange(listener) {
      guard();
      return capacity.subscribe(listener);
    },

    async getIdempotency(principal, key, now) {
      guard();
      return lookupIdempotency({ principal, key, now });
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

    tryLead: (name) => {
      guard();
      return leader.tryLead(name);
    },

    listening: () => capacity.ready(),
    async close() {
      await leader.close();
      // Bookings already asked for are answered, and pending capacity events go out, on the pool,
      // which the caller ends after this.
      await batcher.idle();
      await publisher.close();
      await capacity.close();
    },
  };
}

async function balanceOf(c: pg.ClientBase | PgPool, id: string): Promise<number> {
  const { rows } = await c.query<{ balance: number }>('SELECT balance FROM accounts WHERE id = $1', [id]);
  return rows[0]?.balance ?? 0;
}
