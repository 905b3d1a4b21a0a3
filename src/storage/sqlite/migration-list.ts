/**
 * SQLite's schema as its history: an ordered, append-only list of migrations, which migrations.ts
 * applies. Never edit or renumber a released migration; add a new one. PostgreSQL's list
 * (postgres/migrations.ts) builds the same tables under the same names.
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
  {
    id: 6,
    name: 'lease_runtime',
    // Kept in step with PostgreSQL's migration 7 "lease_runtime". No reference to leases or
    // bookings, as for checkpoints: the caller checks the ids. lease_logs' primary key serves both
    // the listing and the last seq that appendLogs numbers from.
    up: `
      CREATE TABLE lease_runtime (
        lease_id TEXT PRIMARY KEY NOT NULL,
        booking_id TEXT NOT NULL,
        requester TEXT NOT NULL,
        provider TEXT NOT NULL,
        offer_id TEXT NOT NULL,
        driver TEXT NOT NULL,
        state TEXT NOT NULL,
        simulated INTEGER NOT NULL CHECK (simulated IN (0, 1)),
        run_kind TEXT,
        attempt INTEGER NOT NULL,
        replaces TEXT,
        replaced_by TEXT,
        exit_code INTEGER,
        handle TEXT NOT NULL CHECK (json_valid(handle) AND json_type(handle) = 'object'),
        history TEXT NOT NULL CHECK (json_valid(history) AND json_type(history) = 'array'),
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      -- A requester's leases, newest first; a booking's leases; a provider's leases in some states.
      CREATE INDEX lease_runtime_requester ON lease_runtime (requester, lease_id);
      CREATE INDEX lease_runtime_booking ON lease_runtime (booking_id);
      CREATE INDEX lease_runtime_provider_state ON lease_runtime (provider, state);

      CREATE TABLE lease_logs (
        lease_id TEXT NOT NULL,
        seq INTEGER NOT NULL CHECK (seq >= 1),
        at INTEGER NOT NULL,
        stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr', 'system')),
        line TEXT NOT NULL,
        PRIMARY KEY (lease_id, seq)
      ) STRICT;

      CREATE TABLE lease_outputs (
        lease_id TEXT NOT NULL,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        bytes INTEGER NOT NULL CHECK (bytes = length(data)),
        data BLOB NOT NULL,
        stored_at INTEGER NOT NULL,
        PRIMARY KEY (lease_id, name)
      ) STRICT;
    `,
  },
  {
    id: 7,
    name: 'validations',
    // Kept in step with PostgreSQL's migration 8 "validations". validation_leases maps every lease
    // of a validation (primary, replicas, referee) to it: its primary key is what makes a lease
    // belong to one validation at most, and what validationForLease reads. The repository
    // (validations.ts) writes both tables in one transaction. No reference to leases or bookings,
    // as for the lease runtime: the caller checks the ids.
    up: `
      CREATE TABLE validations (
        id TEXT PRIMARY KEY NOT NULL,
        requester TEXT NOT NULL,
        booking_id TEXT NOT NULL,
        lease_id TEXT NOT NULL UNIQUE,
        replicas_wanted INTEGER NOT NULL,
        runs TEXT NOT NULL CHECK (json_valid(runs) AND json_type(runs) = 'array'),
        state TEXT NOT NULL,
        decision TEXT CHECK (decision IS NULL OR (json_valid(decision) AND json_type(decision) = 'object')),
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      -- A requester's validations, newest first; a booking's; those in some states, newest first.
      CREATE INDEX validations_requester ON validations (requester, id);
      CREATE INDEX validations_booking ON validations (booking_id);
      CREATE INDEX validations_state ON validations (state, id);

      CREATE TABLE validation_leases (
        lease_id TEXT PRIMARY KEY NOT NULL,
        validation_id TEXT NOT NULL REFERENCES validations (id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
];
