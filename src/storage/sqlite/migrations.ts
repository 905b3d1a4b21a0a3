import { MigrationError } from '../errors.js';
import type { SqliteDb } from './driver.js';

/**
 * Schema migrations: an ordered, append-only list. Each is applied in its own transaction together
 * with its row in `schema_migrations`, so a failed migration leaves neither a half-built schema nor a
 * record. Never edit or renumber a released migration; add a new one.
 */
export interface Migration {
  id: number;
  name: string;
  up: string;
  /**
   * Runs with foreign keys off, for a migration that rebuilds a table other tables reference
   * (https://www.sqlite.org/lang_altertable.html#otheralter): the runner turns them off before its
   * transaction (the pragma is a no-op inside one), runs `PRAGMA foreign_key_check` before the
   * commit, rolling back on any violation, and restores the connection's setting afterwards.
   */
  foreignKeysOff?: true;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'plans',
    up: `
      CREATE TABLE plans (
        id TEXT PRIMARY KEY NOT NULL,
        requester TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        request TEXT NOT NULL CHECK (json_valid(request)),
        plan TEXT NOT NULL CHECK (json_valid(plan))
      ) STRICT;
      CREATE INDEX plans_requester_created ON plans (requester, created_at);
      CREATE INDEX plans_expires ON plans (expires_at);
    `,
  },
  {
    id: 2,
    name: 'ledger',
    // Kept in step with ledger/postgres/schema.ts (same tables and columns, so the shared suite's
    // corrupting SQL runs on both). No CHECK guards a balance floor, \`held\` or \`reserved\`: the
    // store's conditional updates keep those, and verify() must be able to see a row that breaks them.
    up: `
      CREATE TABLE accounts (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('requester', 'provider', 'escrow', 'fees', 'external')),
        owner TEXT NOT NULL,
        balance INTEGER NOT NULL DEFAULT 0,
        credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0)
      ) STRICT;

      CREATE TABLE transactions (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('deposit', 'hold', 'settle', 'release', 'topup', 'adjust')),
        at INTEGER NOT NULL,
        booking_id TEXT,
        memo TEXT NOT NULL,
        -- Set for deposits: (rail, external_ref) makes a rail's callback idempotent.
        rail TEXT,
        external_ref TEXT,
        credit_to TEXT,
        CHECK ((rail IS NULL) = (external_ref IS NULL))
      ) STRICT;
      CREATE UNIQUE INDEX transactions_external_ref ON transactions (rail, external_ref)
        WHERE external_ref IS NOT NULL;
      CREATE INDEX transactions_booking ON transactions (booking_id) WHERE booking_id IS NOT NULL;

      -- seq is the rowid: postings are never deleted, so it only grows (the entries cursor).
      CREATE TABLE postings (
        seq INTEGER PRIMARY KEY,
        tx_id TEXT NOT NULL REFERENCES transactions (id),
        account TEXT NOT NULL REFERENCES accounts (id),
        amount INTEGER NOT NULL CHECK (amount <> 0)
      ) STRICT;
      CREATE INDEX postings_account_seq ON postings (account, seq);
      CREATE INDEX postings_tx ON postings (tx_id);

      CREATE TABLE bookings (
        id TEXT PRIMARY KEY NOT NULL,
        requester TEXT NOT NULL,
        status TEXT NOT NULL
          CHECK (status IN ('pending', 'active', 'completed', 'cancelled', 'overdrawn', 'failed')),
        version INTEGER NOT NULL CHECK (version >= 1),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        plan_id TEXT,
        payment TEXT NOT NULL CHECK (json_valid(payment)),
        total_cost INTEGER NOT NULL,
        settled INTEGER NOT NULL,
        held INTEGER NOT NULL,
        summary TEXT NOT NULL CHECK (json_valid(summary))
      ) STRICT;
      CREATE INDEX bookings_requester ON bookings (requester, id);
      -- What settlement walks: small, since bookings leave it when they close.
      CREATE INDEX bookings_open ON bookings (id) WHERE status IN ('pending', 'active');

      CREATE TABLE leases (
        id TEXT PRIMARY KEY NOT NULL,
        booking_id TEXT NOT NULL REFERENCES bookings (id),
        idx INTEGER NOT NULL CHECK (idx >= 0),
        offer_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        nodes INTEGER NOT NULL CHECK (nodes > 0),
        hours REAL NOT NULL,
        gpus_per_node REAL NOT NULL,
        price_per_node_hour INTEGER NOT NULL,
        price_per_million_tokens INTEGER,
        cost INTEGER NOT NULL,
        settled INTEGER NOT NULL,
        state TEXT NOT NULL
          CHECK (state IN ('pending', 'running', 'completed', 'cancelled', 'stopped', 'failed')),
        started_at INTEGER,
        ended_at INTEGER,
        detail TEXT NOT NULL CHECK (json_valid(detail)),
        UNIQUE (booking_id, idx)
      ) STRICT;
      CREATE INDEX leases_reserving ON leases (offer_id) WHERE state IN ('pending', 'running');

      CREATE TABLE offer_capacity (
        offer_id TEXT PRIMARY KEY NOT NULL,
        capacity INTEGER NOT NULL,
        reserved INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE idempotency (
        principal TEXT NOT NULL,
        key TEXT NOT NULL,
        scope TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status INTEGER NOT NULL,
        response TEXT NOT NULL CHECK (json_valid(response)),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (principal, key)
      ) STRICT;
      CREATE INDEX idempotency_expires ON idempotency (expires_at);
    `,
  },
  {
    id: 3,
    name: 'identity',
    // Kept in step with PostgreSQL's migration 4 "identity". Principals are never deleted (they are
    // disabled), so tokens reference them with a plain foreign key. A revocation names a CID, not a
    // token: a UCAN signed elsewhere is revoked the same way, so ucan_revocations has no reference.
    up: `
      CREATE TABLE principals (
        id TEXT PRIMARY KEY NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('operator', 'requester', 'provider')),
        name TEXT NOT NULL,
        did TEXT UNIQUE,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER
      ) STRICT;

      CREATE TABLE tokens (
        id TEXT PRIMARY KEY NOT NULL,
        principal TEXT NOT NULL REFERENCES principals (id),
        kind TEXT NOT NULL CHECK (kind IN ('api_key', 'ucan')),
        -- api_key: SHA-256 hex of the secret; ucan: its CID. What authentication looks up.
        lookup TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER,
        detail TEXT NOT NULL CHECK (json_valid(detail) AND json_type(detail) = 'object')
      ) STRICT;
      -- One principal's tokens, newest first.
      CREATE INDEX tokens_principal ON tokens (principal, id);

      CREATE TABLE ucan_revocations (
        cid TEXT PRIMARY KEY NOT NULL,
        revoked_at INTEGER NOT NULL,
        by TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    id: 4,
    name: 'budget_accounts',
    // A delegated token's spending cap is an account of kind 'budget'. SQLite cannot alter a CHECK,
    // so accounts is rebuilt by the documented procedure (lang_altertable.html#otheralter): new
    // table, copy, drop, rename. postings references accounts by name, so once the new table
    // carries the name the reference holds again; the runner checks that (foreignKeysOff). accounts
    // has no indexes, triggers or views of its own to recreate.
    foreignKeysOff: true,
    up: `
      CREATE TABLE accounts_new (
        id TEXT PRIMARY KEY NOT NULL,
        kind TEXT NOT NULL
          CHECK (kind IN ('requester', 'provider', 'escrow', 'fees', 'external', 'budget')),
        owner TEXT NOT NULL,
        balance INTEGER NOT NULL DEFAULT 0,
        credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0)
      ) STRICT;
      INSERT INTO accounts_new (id, kind, owner, balance, credit_limit)
        SELECT id, kind, owner, balance, credit_limit FROM accounts;
      DROP TABLE accounts;
      ALTER TABLE accounts_new RENAME TO accounts;
    `,
  },
  {
    id: 5,
    name: 'runtime',
    // Kept in step with PostgreSQL's migration 6 "runtime". Checkpoints and receipts are appended,
    // never updated. No reference to leases: the caller checks the lease id, and a proof stays
    // readable whatever happens to the ledger's rows. The primary key (lease_id, seq) serves both
    // the listing and the last checkpoint.
    up: `
      CREATE TABLE checkpoints (
        lease_id TEXT NOT NULL,
        seq INTEGER NOT NULL CHECK (seq >= 0),
        jws TEXT NOT NULL,
        digest TEXT NOT NULL,
        at INTEGER NOT NULL,
        cpu_seconds REAL NOT NULL,
        peak_memory_bytes INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (lease_id, seq)
      ) STRICT;

      CREATE TABLE receipts (
        id TEXT PRIMARY KEY NOT NULL,
        lease_id TEXT NOT NULL UNIQUE,
        booking_id TEXT NOT NULL,
        node TEXT NOT NULL,
        jws TEXT NOT NULL,
        digest TEXT NOT NULL,
        received_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

const LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`;

export interface MigrationResult {
  /** Ids this call applied, in order; empty when the schema was already current. */
  applied: number[];
}

/**
 * Applies the migrations `db` lacks. Safe to run again and from several processes at once: each
 * transaction takes the write lock first (BEGIN IMMEDIATE) and re-checks whether its migration is
 * still missing. Throws `MigrationError`, before changing anything, when the database records a
 * migration id that `migrations` does not contain: a newer version wrote it, and this code would
 * misread its schema. `now` (epoch ms) is recorded as `applied_at`.
 */
export function applyMigrations(
  db: SqliteDb,
  migrations: readonly Migration[],
  now: number,
  where = 'the database',
): MigrationResult {
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1] as Migration;
    if ((migrations[i] as Migration).id <= prev.id)
      throw new MigrationError(
        `migration ids must increase; ${(migrations[i] as Migration).id} follows ${prev.id}`,
      );
  }
  db.exec(LEDGER);
  const known = new Set(migrations.map((m) => m.id));
  const recorded = db.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all() as {
    id: number;
    name: string;
  }[];
  const unknown = recorded.filter((r) => !known.has(r.id));
  if (unknown.length > 0) {
    const list = unknown.map((r) => `${r.id} ("${r.name}")`).join(', ');
    throw new MigrationError(
      `${where} has migration${unknown.length > 1 ? 's' : ''} ${list} that this version does not know: ` +
        'a newer version of computemd wrote it. To fix: run that newer version, or give this one a ' +
        'different data directory.',
      unknown.map((r) => r.id),
    );
  }
  const has = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    const run = db.transaction(() => {
      if (has.get(m.id) !== undefined) return false;
      db.exec(m.up);
      if (m.foreignKeysOff) assertForeignKeysHold(db);
      record.run(m.id, m.name, now);
      return true;
    });
    // Toggle the pragma only while the migration is missing; the transaction re-checks under the lock.
    const fkOff = m.foreignKeysOff === true && has.get(m.id) === undefined;
    const fkWas = fkOff ? foreignKeysOff(db, m) : false;
    try {
      if (run.immediate()) applied.push(m.id);
    } catch (err) {
      throw new MigrationError(
        `migration ${m.id} ("${m.name}") failed on ${where} and was rolled back: ${(err as Error).message}`,
        [],
        { cause: err },
      );
    } finally {
      if (fkOff) db.pragma(`foreign_keys = ${fkWas ? 'ON' : 'OFF'}`);
    }
  }
  return { applied };
}

/** Turns foreign keys off for `m` and returns whether they were on. */
function foreignKeysOff(db: SqliteDb, m: Migration): boolean {
  // Inside a transaction the pragma silently does nothing, and the rebuild would cascade or fail.
  if (db.inTransaction)
    throw new MigrationError(
      `migration ${m.id} ("${m.name}") must turn foreign keys off, which SQLite cannot do inside a ` +
        'transaction. To fix: call applyMigrations outside any transaction.',
    );
  const was = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  return was;
}

/** Throws (so the transaction rolls back) when any row references a missing parent. */
function assertForeignKeysHold(db: SqliteDb): void {
  const bad = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
  if (bad.length === 0) return;
  const some = bad.slice(0, 5).map((r) => `${r.table} row ${r.rowid} → ${r.parent}`);
  throw new Error(
    `foreign key check found ${bad.length} broken reference${bad.length > 1 ? 's' : ''}: ${some.join(', ')}`,
  );
}
