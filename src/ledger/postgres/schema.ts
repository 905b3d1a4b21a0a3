/**
 * The ledger's tables (migration 2, "ledger", in storage/postgres/migrations.ts). Kept beside the
 * code that queries them; the migration list imports it, so it is released, and frozen, with it.
 *
 * - Money, times and node counts are BIGINT (the pool parses int8 to a safe JS number).
 * - Ids use `COLLATE "C"`: lists order by id and page with `id < $before`, which must compare bytes
 *   whatever the database's locale.
 * - JSON is `json`, not `jsonb`: it keeps the text as written, so a stored reply replays byte for
 *   byte (key order included) and a `\u0000` in a string is accepted (jsonb refuses it).
 * - No CHECK guards balances, `held` or `reserved`: the store's conditional updates keep those, and
 *   `verify()` must be able to see (not be prevented from seeing) a row that breaks them.
 */
export const LEDGER_SCHEMA = `
  CREATE TABLE accounts (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('requester', 'provider', 'escrow', 'fees', 'external')),
    owner TEXT NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0,
    credit_limit BIGINT NOT NULL DEFAULT 0 CHECK (credit_limit >= 0)
  );

  CREATE TABLE transactions (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('deposit', 'hold', 'settle', 'release', 'topup', 'adjust')),
    at BIGINT NOT NULL,
    booking_id TEXT COLLATE "C",
    memo TEXT NOT NULL,
    -- Set for deposits: (rail, external_ref) makes a rail's callback idempotent.
    rail TEXT,
    external_ref TEXT,
    credit_to TEXT,
    CONSTRAINT transactions_external_ref UNIQUE (rail, external_ref)
  );
  CREATE INDEX transactions_booking ON transactions (booking_id) WHERE booking_id IS NOT NULL;

  CREATE TABLE postings (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id TEXT COLLATE "C" NOT NULL REFERENCES transactions (id),
    account TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
    amount BIGINT NOT NULL CHECK (amount <> 0)
  );
  CREATE INDEX postings_account_seq ON postings (account, seq);
  CREATE INDEX postings_tx ON postings (tx_id);

  CREATE TABLE bookings (
    id TEXT COLLATE "C" PRIMARY KEY,
    requester TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL
      CHECK (status IN ('pending', 'active', 'completed', 'cancelled', 'overdrawn', 'failed')),
    version INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    plan_id TEXT,
    payment JSON NOT NULL,
    total_cost BIGINT NOT NULL,
    settled BIGINT NOT NULL,
    held BIGINT NOT NULL,
    summary JSON NOT NULL
  );
  CREATE INDEX bookings_requester ON bookings (requester, id);
  -- What settlement walks: small, since bookings leave it when they close.
  CREATE INDEX bookings_open ON bookings (id) WHERE status IN ('pending', 'active');

  CREATE TABLE leases (
    id TEXT COLLATE "C" PRIMARY KEY,
    booking_id TEXT COLLATE "C" NOT NULL REFERENCES bookings (id),
    idx INTEGER NOT NULL,
    offer_id TEXT COLLATE "C" NOT NULL,
    provider TEXT NOT NULL,
    nodes BIGINT NOT NULL,
    hours DOUBLE PRECISION NOT NULL,
    gpus_per_node DOUBLE PRECISION NOT NULL,
    price_per_node_hour BIGINT NOT NULL,
    price_per_million_tokens BIGINT,
    cost BIGINT NOT NULL,
    settled BIGINT NOT NULL,
    state TEXT NOT NULL
      CHECK (state IN ('pending', 'running', 'completed', 'cancelled', 'stopped', 'failed')),
    started_at BIGINT,
    ended_at BIGINT,
    detail JSON NOT NULL,
    CONSTRAINT leases_booking_idx UNIQUE (booking_id, idx)
  );
  CREATE INDEX leases_reserving ON leases (offer_id) WHERE state IN ('pending', 'running');

  CREATE TABLE offer_capacity (
    offer_id TEXT COLLATE "C" PRIMARY KEY,
    capacity BIGINT NOT NULL,
    reserved BIGINT NOT NULL DEFAULT 0
  );

  CREATE TABLE idempotency (
    principal TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    scope TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response JSON NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
  );
  CREATE INDEX idempotency_expires ON idempotency (expires_at);
`;
