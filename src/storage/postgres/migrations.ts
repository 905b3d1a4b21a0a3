import { BOOK_FUNCTION } from '../../ledger/postgres/book-function.js';
import { LEDGER_SCHEMA } from '../../ledger/postgres/schema.js';
import { MigrationError } from '../errors.js';
import type { PgPool } from './driver.js';

/**
 * Schema migrations: an ordered, append-only list. The tables' migrations have the same names as
 * SQLite's (sqlite/migration-list.ts) and, up to 2, the same ids; id 3, a function, is PostgreSQL's
 * own, so from there PostgreSQL's id is SQLite's plus one ("identity" is 3 there, 4 here). Each is applied
 * in its own transaction together with its record, so a failed migration leaves neither a
 * half-built schema nor a record (PostgreSQL DDL is transactional). Never edit or renumber a
 * released migration; add a new one.
 */
export interface Migration {
  id: number;
  name: string;
  up: string;
}

/**
 * Text columns that are ids or cursors use `COLLATE "C"`: listing orders by id and pages with
 * `id < $before`, which must compare bytes as SQLite does, not by the database's locale. JSON is
 * `json`, not `jsonb`: `json` keeps the text as written, so object key order survives (the plans
 * contract requires it) and `\u0000` in a string is accepted (jsonb refuses it).
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'plans',
    up: `
      CREATE TABLE plans (
        id TEXT COLLATE "C" PRIMARY KEY,
        requester TEXT COLLATE "C",
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        request JSON NOT NULL,
        plan JSON NOT NULL
      );
      CREATE INDEX plans_requester_created ON plans (requester, created_at);
      CREATE INDEX plans_expires ON plans (expires_at);
    `,
  },
  { id: 2, name: 'ledger', up: LEDGER_SCHEMA },
  // PostgreSQL only (SQLite has no id 3): no tables, the one-round-trip createBooking function.
  { id: 3, name: 'book_function', up: BOOK_FUNCTION },
  {
    id: 4,
    name: 'identity',
    // Kept in step with SQLite's migration 3 "identity". The unique constraints keep PostgreSQL's
    // default names (principals_pkey, principals_did_key, tokens_pkey, tokens_lookup_key): the
    // repository (identity.ts) tells a duplicate id from a duplicate did or lookup by them.
    // Principals are never deleted (they are disabled), so tokens reference them with a plain
    // foreign key. A revocation names a CID, not a token: a UCAN signed elsewhere is revoked the
    // same way, so ucan_revocations has no reference.
    up: `
      CREATE TABLE principals (
        id TEXT COLLATE "C" PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('operator', 'requester', 'provider')),
        name TEXT NOT NULL,
        did TEXT COLLATE "C" UNIQUE,
        created_at BIGINT NOT NULL,
        disabled_at BIGINT
      );

      CREATE TABLE tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        principal TEXT COLLATE "C" NOT NULL REFERENCES principals (id),
        kind TEXT NOT NULL CHECK (kind IN ('api_key', 'ucan')),
        -- api_key: SHA-256 hex of the secret; ucan: its CID. What authentication looks up.
        lookup TEXT COLLATE "C" NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        revoked_at BIGINT,
        detail JSON NOT NULL CHECK (json_typeof(detail) = 'object')
      );
      -- One principal's tokens, newest first.
      CREATE INDEX tokens_principal ON tokens (principal, id);

      CREATE TABLE ucan_revocations (
        cid TEXT COLLATE "C" PRIMARY KEY,
        revoked_at BIGINT NOT NULL,
        by TEXT NOT NULL
      );
    `,
  },
  {
    id: 5,
    name: 'budget_accounts',
    // A delegated token's spending cap is an account of kind 'budget'. accounts_kind_check is the
    // name PostgreSQL gave the column CHECK in migration 2 (<table>_<column>_check). Unqualified:
    // the runner's connection has the store's schema first on its search_path. ADD CONSTRAINT
    // checks every existing row, which all pass (the new list only adds a kind).
    up: `
      ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
      ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
        CHECK (kind IN ('requester', 'provider', 'escrow', 'fees', 'external', 'budget'));
    `,
  },
  {
    id: 6,
    name: 'runtime',
    // Kept in step with SQLite's migration 5 "runtime". The unique constraints keep PostgreSQL's
    // default names (checkpoints_pkey, receipts_pkey, receipts_lease_id_key): the repository
    // (runtime.ts) tells a taken receipt id from a lease's second receipt by them. Appended, never
    // updated; no reference to leases (the caller checks the lease id).
    up: `
      CREATE TABLE checkpoints (
        lease_id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL CHECK (seq >= 0),
        jws TEXT NOT NULL,
        digest TEXT NOT NULL,
        at BIGINT NOT NULL,
        cpu_seconds DOUBLE PRECISION NOT NULL,
        peak_memory_bytes BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (lease_id, seq)
      );

      CREATE TABLE receipts (
        id TEXT COLLATE "C" PRIMARY KEY,
        lease_id TEXT COLLATE "C" NOT NULL UNIQUE,
        booking_id TEXT COLLATE "C" NOT NULL,
        node TEXT NOT NULL,
        jws TEXT NOT NULL,
        digest TEXT NOT NULL,
        received_at BIGINT NOT NULL
      );
    `,
  },
  {
    id: 7,
    name: 'lease_runtime',
    // Kept in step with SQLite's migration 6 "lease_runtime". The constraint names are PostgreSQL's
    // defaults (lease_runtime_pkey …): the repository (leases.ts) tells a taken lease id by it. No
    // reference to leases or bookings, as for checkpoints: the caller checks the ids. lease_logs'
    // primary key serves both the listing and the last seq that appendLogs numbers from.
    up: `
      CREATE TABLE lease_runtime (
        lease_id TEXT COLLATE "C" PRIMARY KEY,
        booking_id TEXT COLLATE "C" NOT NULL,
        requester TEXT COLLATE "C" NOT NULL,
        provider TEXT COLLATE "C" NOT NULL,
        offer_id TEXT COLLATE "C" NOT NULL,
        driver TEXT NOT NULL,
        state TEXT COLLATE "C" NOT NULL,
        simulated BOOLEAN NOT NULL,
        run_kind TEXT,
        attempt INTEGER NOT NULL,
        replaces TEXT COLLATE "C",
        replaced_by TEXT COLLATE "C",
        exit_code INTEGER,
        handle JSON NOT NULL CHECK (json_typeof(handle) = 'object'),
        history JSON NOT NULL CHECK (json_typeof(history) = 'array'),
        version INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      -- A requester's leases, newest first; a booking's leases; a provider's leases in some states.
      CREATE INDEX lease_runtime_requester ON lease_runtime (requester, lease_id);
      CREATE INDEX lease_runtime_booking ON lease_runtime (booking_id);
      CREATE INDEX lease_runtime_provider_state ON lease_runtime (provider, state);

      CREATE TABLE lease_logs (
        lease_id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL CHECK (seq >= 1),
        at BIGINT NOT NULL,
        stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
        line TEXT NOT NULL,
        PRIMARY KEY (lease_id, seq)
      );

      CREATE TABLE lease_outputs (
        lease_id TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        sha256 TEXT NOT NULL,
        bytes BIGINT NOT NULL CHECK (bytes = octet_length(data)),
        data BYTEA NOT NULL,
        stored_at BIGINT NOT NULL,
        PRIMARY KEY (lease_id, name)
      );
    `,
  },
  {
    id: 8,
    name: 'validations',
    // Kept in step with SQLite's migration 7 "validations". validation_leases maps every lease of a
    // validation (primary, replicas, referee) to it: its primary key is what makes a lease belong to
    // one validation at most, and what validationForLease reads. The repository (validations.ts)
    // writes both tables in one transaction and tells a taken id or lease by the constraints'
    // default names (validations_pkey, validations_lease_id_key, validation_leases_pkey).
    up: `
      CREATE TABLE validations (
        id TEXT COLLATE "C" PRIMARY KEY,
        requester TEXT COLLATE "C" NOT NULL,
        booking_id TEXT COLLATE "C" NOT NULL,
        lease_id TEXT COLLATE "C" NOT NULL UNIQUE,
        replicas_wanted INTEGER NOT NULL,
        runs JSON NOT NULL CHECK (json_typeof(runs) = 'array'),
        state TEXT COLLATE "C" NOT NULL,
        decision JSON CHECK (decision IS NULL OR json_typeof(decision) = 'object'),
        version INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      -- A requester's validations, newest first; a booking's; those in some states, newest first.
      CREATE INDEX validations_requester ON validations (requester, id);
      CREATE INDEX validations_booking ON validations (booking_id);
      CREATE INDEX validations_state ON validations (state, id);

      CREATE TABLE validation_leases (
        lease_id TEXT COLLATE "C" PRIMARY KEY,
        validation_id TEXT COLLATE "C" NOT NULL REFERENCES validations (id)
      );
    `,
  },
];

const BOOKKEEPING = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
  )`;

/** First key of the two-key advisory lock; the second is a hash of the schema name. */
const LOCK_CLASS = 0x636d_6d64; // 'cmmd'

export interface MigrationResult {
  /** Ids this call applied, in order; empty when the schema was already current. */
  applied: number[];
}

export interface ApplyOptions {
  /** Epoch ms recorded as `applied_at`. */
  now: number;
  /** The schema to create and migrate (null: the connection's default, usually `public`). */
  schema: string | null;
  /** Names the database in error messages (never the URL: it may carry a password). */
  where: string;
}

/**
 * Applies the migrations the database lacks. Safe from several processes at once: every step runs
 * under `pg_advisory_xact_lock` on this schema, so one process migrates while the others wait, then
 * find the work done. Throws `MigrationError`, before changing anything, when the database records
 * a migration id that `migrations` does not contain: a newer version wrote it.
 */
export async function applyMigrations(
  pool: PgPool,
  migrations: readonly Migration[],
  opts: ApplyOptions,
): Promise<MigrationResult> {
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1] as Migration;
    const cur = migrations[i] as Migration;
    if (cur.id <= prev.id)
      throw new MigrationError(`migration ids must increase; ${cur.id} follows ${prev.id}`);
  }
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CLASS, opts.schema ?? '']);
        const out = await fn();
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => {
          broken = e;
        });
        throw err;
      }
    };
    const recorded = await locked(async () => {
      // Under the lock: CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE.
      if (opts.schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
      await client.query(BOOKKEEPING);
      return (
        await client.query<{ id: number; name: string }>('SELECT id, name FROM schema_migrations ORDER BY id')
      ).rows;
    });
    const known = new Set(migrations.map((m) => m.id));
    const unknown = recorded.filter((r) => !known.has(r.id));
    if (unknown.length > 0) {
      const list = unknown.map((r) => `${r.id} ("${r.name}")`).join(', ');
      throw new MigrationError(
        `${opts.where} has migration${unknown.length > 1 ? 's' : ''} ${list} that this version does not know: ` +
          'a newer version of computemd wrote it. To fix: run that newer version, or point this one at a ' +
          'different database or schema.',
        unknown.map((r) => r.id),
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      try {
        const ran = await locked(async () => {
          // Re-checked under the lock: another process may have applied it since the read above.
          const has = await client.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
          if (has.rowCount) return false;
          await client.query(m.up);
          await client.query('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [
            m.id,
            m.name,
            opts.now,
          ]);
          return true;
        });
        if (ran) applied.push(m.id);
      } catch (err) {
        throw new MigrationError(
          `migration ${m.id} ("${m.name}") failed on ${opts.where} and was rolled back: ${(err as Error).message}`,
          [],
          { cause: err },
        );
      }
    }
    return { applied };
  } finally {
    // A connection whose ROLLBACK failed is in an unknown state: destroy it rather than pool it.
    client.release(broken);
  }
}
