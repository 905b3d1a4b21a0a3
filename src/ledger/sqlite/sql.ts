import type Database from 'better-sqlite3';
import { DuplicateError } from '../../storage/errors.js';
import { type SqliteDb, sqliteCode } from '../../storage/sqlite/driver.js';
import { toJson } from '../../storage/sqlite/plans.js';
import { checkAccountId } from '../checks.js';
import type { IdempotencyRecord, Micros, NewTransaction } from '../store.js';

/**
 * What every ledger write shares: prepared statements, the one-transaction runner, guarded postings
 * and idempotency upserts. All synchronous: better-sqlite3 runs on the caller's thread.
 */

/** Prepares each SQL text once per connection, on first use (before migrate() the tables are absent). */
export type Query = (sql: string) => Database.Statement;

export function statementCache(db: SqliteDb): Query {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
}

/** Thrown inside a transaction to roll it back and hand `result` (an expected outcome) to the caller. */
class Rollback extends Error {
  constructor(readonly result: unknown) {
    super('rolled back');
  }
}

export function rollback(result: unknown): never {
  throw new Rollback(result);
}

/**
 * Runs `fn` in one BEGIN IMMEDIATE transaction: the write lock is taken first, so what `fn` reads
 * cannot change before it writes. `rollback(r)` undoes everything and returns `r`.
 */
export function atomically<T>(db: SqliteDb, fn: () => T): T {
  try {
    return db.transaction(fn).immediate();
  } catch (err) {
    if (err instanceof Rollback) return err.result as T;
    throw err;
  }
}

export interface Insufficient {
  kind: 'insufficient_funds';
  account: string;
  needed: Micros;
  balance: Micros;
  credit_limit: Micros;
}

export function insertOrDuplicate(entity: string, id: string, run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY')
      throw new DuplicateError(entity, id, { cause: err });
    throw err;
  }
}

/**
 * Writes a checked transaction (`net` from checkTransaction). Each account's balance moves by its
 * net with one conditional UPDATE that refuses to cross the floor; a refusal rolls the whole
 * enclosing transaction back with `insufficient_funds`.
 */
export function postTransaction(
  q: Query,
  tx: NewTransaction,
  net: Map<string, number>,
  ref: { rail: string; external_ref: string; credit_to: string } | null = null,
): void {
  insertOrDuplicate('transaction', tx.id, () =>
    q(
      `INSERT INTO transactions (id, kind, at, booking_id, memo, rail, external_ref, credit_to)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      tx.id,
      tx.kind,
      tx.at,
      tx.booking_id,
      tx.memo,
      ref?.rail ?? null,
      ref?.external_ref ?? null,
      ref?.credit_to ?? null,
    ),
  );
  for (const [account, amount] of net) {
    const { kind, owner } = checkAccountId(account);
    q('INSERT INTO accounts (id, kind, owner) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING').run(
      account,
      kind,
      owner,
    );
    if (amount === 0) continue;
    const row = q(
      `UPDATE accounts SET balance = balance + ?
       WHERE id = ? AND (kind = 'external' OR balance + ? >= -credit_limit) RETURNING balance`,
    ).get(amount, account, amount) as { balance: number } | undefined;
    if (!row) {
      const a = q('SELECT balance, credit_limit FROM accounts WHERE id = ?').get(account) as {
        balance: number;
        credit_limit: number;
      };
      rollback({
        kind: 'insufficient_funds',
        account,
        needed: -amount,
        balance: a.balance,
        credit_limit: a.credit_limit,
      });
    }
    // Each posting is a safe integer, but a balance summing many can leave the safe range.
    if (!Number.isSafeInteger(row.balance))
      throw new RangeError(`${account}'s balance would leave the safe integer range`);
  }
  const post = q('INSERT INTO postings (tx_id, account, amount) VALUES (?, ?, ?)');
  for (const p of tx.postings) post.run(tx.id, p.account, p.amount);
}

interface IdempotencyRow {
  principal: string;
  key: string;
  scope: string;
  request_hash: string;
  status: number;
  response: string;
  created_at: number;
  expires_at: number;
}

const IDEM_COLUMNS = 'principal, key, scope, request_hash, status, response, created_at, expires_at';

export const idempotencyFromRow = (r: IdempotencyRow): IdempotencyRecord => ({
  ...r,
  response: JSON.parse(r.response) as unknown,
});

/** The record for (principal, key) that is still live at `now` (expires_at > now), if any. */
export function liveIdempotency(
  q: Query,
  principal: string,
  key: string,
  now: number,
): IdempotencyRecord | null {
  const row = q(
    `SELECT ${IDEM_COLUMNS} FROM idempotency WHERE principal = ? AND key = ? AND expires_at > ?`,
  ).get(principal, key, now) as IdempotencyRow | undefined;
  return row ? idempotencyFromRow(row) : null;
}

/** Inserts `r`, or overwrites a record that expired by `r.created_at`; a live record is kept. */
export function upsertIdempotency(q: Query, r: IdempotencyRecord): void {
  q(
    `INSERT INTO idempotency (${IDEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (principal, key) DO UPDATE SET scope = excluded.scope, request_hash = excluded.request_hash,
       status = excluded.status, response = excluded.response, created_at = excluded.created_at,
       expires_at = excluded.expires_at
     WHERE idempotency.expires_at <= excluded.created_at`,
  ).run(
    r.principal,
    r.key,
    r.scope,
    r.request_hash,
    r.status,
    toJson(r.response, 'idempotency response'),
    r.created_at,
    r.expires_at,
  );
}
