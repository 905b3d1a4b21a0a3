/**
 * The storage contract (STYLE.md 8): one interface, implemented by every backend (SQLite in
 * `sqlite/`, PostgreSQL with issue 4) and checked by one shared suite (`contract.ts`). Methods are
 * async so a networked backend fits the same shape; the SQLite backend runs synchronously inside them.
 *
 * Expected outcomes are values (an unknown id is `null`, nothing to delete is `0`); a broken
 * invariant is an exception (a duplicate id is a `DuplicateError`, see errors.ts).
 */

import type { LedgerStore } from '../ledger/store.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface Store {
  readonly kind: StoreKind;
  /**
   * Brings the schema up to date. Call it once before any repository method; it is idempotent and
   * safe to run from several processes on one database. Rejects with a `MigrationError` when the
   * database holds a migration this code does not know (a newer version wrote it).
   */
  migrate(): Promise<void>;
  plans: PlanRepository;
  /** Accounts, bookings, capacity and idempotency (ledger/store.ts), on the same database. */
  ledger: LedgerStore;
  /** Principals, API keys, recorded UCANs and revocations (issue 5), on the same database. */
  identity: IdentityRepository;
  /** Lease checkpoints and receipts from node agents (runtime/proof.ts), on the same database. */
  runtime: RuntimeRepository;
  /** Releases the connection. Idempotent; repository calls after it reject. */
  close(): Promise<void>;
}

/** A stored quote (issue 3, "Quotes"): the request and the plan answered to it, held until `expires_at`. */
export interface StoredPlan {
  /** A prefixed, time-sortable id such as `plan_01j…` (ids.ts). */
  id: string;
  /** The principal that asked; null until identity lands or for anonymous requests. */
  requester: string | null;
  /** Epoch milliseconds. */
  created_at: number;
  /** Epoch milliseconds; the quote's prices hold while `now < expires_at`. */
  expires_at: number;
  /**
   * Any JSON value; it round-trips as `JSON.parse(JSON.stringify(value))` (so `undefined` members
   * vanish and `-0` reads back as `0`). A value JSON cannot hold (undefined, a BigInt) is a TypeError.
   */
  request: unknown;
  /** Any JSON value, as `request`. */
  plan: unknown;
}

export interface PlanRepository {
  /** Stores a new plan. Rejects with `DuplicateError` when the id is taken (ids are random: a bug). */
  insert(p: StoredPlan): Promise<void>;
  /** The plan with this id, or null. */
  get(id: string): Promise<StoredPlan | null>;
  /**
   * The requester's plans, newest first (`created_at` descending, then `id` descending), at most
   * `limit` of them; `limit` 0 gives `[]`. A negative or fractional limit is a RangeError.
   */
  listByRequester(requester: string, limit: number): Promise<StoredPlan[]>;
  /**
   * Deletes every plan whose `expires_at <= before` (epoch ms: a quote expiring at `t` no longer
   * holds at `t`) and returns how many it deleted.
   */
  deleteExpired(before: number): Promise<number>;
}

// ---------------------------------------------------------------- identity (issue 5)

export type PrincipalRole = 'operator' | 'requester' | 'provider';

/** Who a request acts for. The operator is `pr_operator`; others are `pr_…` ids (ids.ts). */
export interface PrincipalRecord {
  id: string;
  role: PrincipalRole;
  /** Human label, 1–100 characters; not unique. */
  name: string;
  /** A DID the principal controls (it may sign root UCANs and manifests with it); unique when set. */
  did: string | null;
  created_at: number;
  /** Set when the operator disabled the principal: every token of it stops working. */
  disabled_at: number | null;
}

export type TokenKind = 'api_key' | 'ucan';

/**
 * A credential the gateway issued or recorded. API keys are stored as a SHA-256 hash of the secret,
 * never the secret; UCANs as their CID and decoded payload, never the signed JWT (a stored record
 * cannot be replayed as a bearer token).
 */
export interface TokenRecord {
  /** `tok_…` (ids.ts). */
  id: string;
  /** The principal whose authority the token carries. */
  principal: string;
  kind: TokenKind;
  /** api_key: SHA-256 hex of the secret; ucan: the token's CID. Unique across all tokens. */
  lookup: string;
  label: string;
  created_at: number;
  /** Epoch ms; null: never expires. */
  expires_at: number | null;
  revoked_at: number | null;
  /** api_key: `{prefix}` (the first characters, shown in lists); ucan: `{iss, aud, nbf, exp, cap, prf}`. JSON. */
  detail: Record<string, unknown>;
}

export interface IdentityRepository {
  /** Rejects with `DuplicateError` when the id, or a set `did`, is taken. */
  insertPrincipal(p: PrincipalRecord): Promise<void>;
  getPrincipal(id: string): Promise<PrincipalRecord | null>;
  principalByDid(did: string): Promise<PrincipalRecord | null>;
  /** Ordered by id ascending, ids `> after` when given; 1 ≤ limit ≤ 1000 (else RangeError). */
  listPrincipals(opts: { after?: string; limit: number }): Promise<PrincipalRecord[]>;
  /** Sets `disabled_at` if unset; returns the record as it now is, or null when unknown. */
  disablePrincipal(id: string, at: number): Promise<PrincipalRecord | null>;

  /** Rejects with `DuplicateError` when the id or the lookup is taken. */
  insertToken(t: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | null>;
  tokenByLookup(lookup: string): Promise<TokenRecord | null>;
  /** Newest first (id descending), ids `< before` when given; one principal's when `principal` is set. */
  listTokens(opts: { principal?: string; before?: string; limit: number }): Promise<TokenRecord[]>;
  /** Sets `revoked_at` if unset (a second call keeps the first time); null when unknown. */
  revokeToken(id: string, at: number): Promise<TokenRecord | null>;

  /**
   * Records a UCAN revocation by CID (any CID: a UCAN signed elsewhere is revoked the same way).
   * Returns false when the CID was already revoked (the first record stays).
   */
  revokeUcan(r: { cid: string; at: number; by: string }): Promise<boolean>;
  /** The first of `cids` that is revoked, in the order given, or null. */
  firstRevoked(cids: readonly string[]): Promise<string | null>;
}

// ---------------------------------------------------------------- runtime proofs (issue 6)

/** One verified checkpoint of a lease (runtime/proof.ts), as the gateway stores it: the node's compact JWS and the figures read from it. */
export interface CheckpointRecord {
  lease_id: string;
  seq: number;
  jws: string;
  /** sha256 hex of jws */
  digest: string;
  /** epoch s, the checkpoint's own */
  at: number;
  cpu_seconds: number;
  peak_memory_bytes: number;
  /** epoch ms, when the gateway accepted it */
  received_at: number;
}

/** A lease's verified receipt. */
export interface ReceiptRecord {
  /** `rc_…` */
  id: string;
  lease_id: string;
  booking_id: string;
  /** the node's DID */
  node: string;
  jws: string;
  digest: string;
  received_at: number;
}

/**
 * Append-only: nothing here is updated or deleted. Lease ids are not checked against `leases`
 * (no foreign key); the caller checks them.
 */
export interface RuntimeRepository {
  /** Appends a checkpoint. DuplicateError when (lease_id, seq) is taken: a checkpoint is never replaced. */
  appendCheckpoint(c: CheckpointRecord): Promise<void>;
  /** The highest-seq checkpoint of the lease, or null. */
  lastCheckpoint(leaseId: string): Promise<CheckpointRecord | null>;
  /** In seq order, seq > after when given; 1 ≤ limit ≤ 1000 (else RangeError). */
  listCheckpoints(leaseId: string, opts: { after?: number; limit: number }): Promise<CheckpointRecord[]>;
  /** DuplicateError when the id is taken or the lease already has a receipt. */
  putReceipt(r: ReceiptRecord): Promise<void>;
  getReceipt(id: string): Promise<ReceiptRecord | null>;
  receiptForLease(leaseId: string): Promise<ReceiptRecord | null>;

  // ------------------------------------------------------------ lease runtime (issue 6, part 6)

  /** Stores a new lease's runtime record. DuplicateError ('lease', lease_id) when it exists. */
  insertLease(r: LeaseRuntimeRecord): Promise<void>;
  getLease(leaseId: string): Promise<LeaseRuntimeRecord | null>;
  /**
   * Replaces the record if and only if it is still at `expected_version` (then stored with version
   * + 1 and returned); `stale` with the current version otherwise; `not_found` when absent.
   */
  updateLease(
    r: LeaseRuntimeRecord,
    expected_version: number,
  ): Promise<
    | { kind: 'updated'; lease: LeaseRuntimeRecord }
    | { kind: 'stale'; version: number }
    | { kind: 'not_found' }
  >;
  /**
   * Newest first (lease_id descending), ids `< before` when given; filtered by any of requester,
   * booking, provider, and states (any of them; an empty `states` is no filter). Filters combine
   * with AND. 1 ≤ limit ≤ 1000 (else RangeError).
   */
  listLeases(q: {
    requester?: string;
    booking_id?: string;
    provider?: string;
    states?: readonly string[];
    before?: string;
    limit: number;
  }): Promise<LeaseRuntimeRecord[]>;
  /**
   * Appends log lines, numbering them from the lease's last seq + 1 (atomically: concurrent appends
   * never share a seq); returns the stored lines. At most 1000 lines per call (else RangeError).
   */
  appendLogs(leaseId: string, lines: readonly NewLogLine[]): Promise<LogLine[]>;
  /** In seq order, seq > after when given; 1 ≤ limit ≤ 1000 (else RangeError). */
  listLogs(leaseId: string, opts: { after?: number; limit: number }): Promise<LogLine[]>;
  /** Stores (or replaces: a later upload of a resumable output wins) one named output's bytes. */
  putOutput(o: OutputRecord): Promise<void>;
  getOutput(leaseId: string, name: string): Promise<OutputRecord | null>;
  /** The lease's outputs without their bytes, by name. */
  listOutputs(leaseId: string): Promise<Omit<OutputRecord, 'data'>[]>;

  // ------------------------------------------------------------ result validation (issue 6, part 7)

  /**
   * DuplicateError ('validation', id) when the id is taken, or ('validation lease', lease_id) when
   * the lease (the primary or any run's) already belongs to a validation.
   */
  insertValidation(v: ValidationRecord): Promise<void>;
  getValidation(id: string): Promise<ValidationRecord | null>;
  /**
   * The validation whose primary lease is `leaseId`, or whose runs include it (replicas, referee).
   * A lease stays with its validation once it joined, even when a later update drops it from `runs`.
   */
  validationForLease(leaseId: string): Promise<ValidationRecord | null>;
  /**
   * Compare-and-set on version, like updateLease. Leases new to `runs` join the validation;
   * DuplicateError ('validation lease', lease_id) when one belongs to another, and nothing changes.
   */
  updateValidation(
    v: ValidationRecord,
    expected_version: number,
  ): Promise<
    | { kind: 'updated'; validation: ValidationRecord }
    | { kind: 'stale'; version: number }
    | { kind: 'not_found' }
  >;
  /**
   * Newest first (id descending), ids `< before` when given; filters AND-ed: requester, booking_id,
   * states (any of them; an empty `states` is no filter). 1 ≤ limit ≤ 1000 (else RangeError).
   */
  listValidations(q: {
    requester?: string;
    booking_id?: string;
    states?: readonly string[];
    before?: string;
    limit: number;
  }): Promise<ValidationRecord[]>;
}

/**
 * What the runtime knows of one lease (runtime/lease-states.ts): its state, how it got there, who
 * drives it. The ledger's row (ledger/store.ts LeaseRecord) keeps the money; this keeps the work.
 */
export interface LeaseRuntimeRecord {
  lease_id: string;
  booking_id: string;
  /** The booking's requester (principal id), for listing and visibility. */
  requester: string;
  provider: string;
  offer_id: string;
  /** 'agent' | 'slurm' | 'simulated' | 'none' (runtime/drivers). */
  driver: string;
  /** A RuntimeLeaseState. */
  state: string;
  simulated: boolean;
  /** 'command' | 'wasm' | 'image', or null when the booking carries no run. */
  run_kind: string | null;
  /** 1 for the first attempt; a failover's replacement counts on. */
  attempt: number;
  /** The lease this one replaces (failover), or null. */
  replaces: string | null;
  /** The lease that replaced this one, once there is one. */
  replaced_by: string | null;
  exit_code: number | null;
  /** Driver-specific handle (a Slurm job id, the agent's name), JSON. */
  handle: Record<string, unknown>;
  /** Transitions in order: {from, to, at (epoch ms), reason}. */
  history: { from: string; to: string; at: number; reason: string }[];
  /** Bumped by every update (optimistic concurrency). */
  version: number;
  /** epoch ms */
  created_at: number;
  updated_at: number;
}

export interface NewLogLine {
  /** epoch ms */
  at: number;
  stream: 'stdout' | 'stderr' | 'system';
  /** One line, without its newline; at most 8 KiB (longer is cut by the caller). */
  line: string;
}
export interface LogLine extends NewLogLine {
  lease_id: string;
  seq: number;
}

export interface OutputRecord {
  lease_id: string;
  /** A relative path as the run spec names it (run-spec.ts safeRelativePath). */
  name: string;
  /** sha256 hex of data */
  sha256: string;
  bytes: number;
  data: Buffer;
  /** epoch ms */
  stored_at: number;
}

/** A group of runs of the same work on distinct providers whose results are compared (issue 6, part 7). */
export interface ValidationRecord {
  /** `vd_…` */
  id: string;
  requester: string;
  booking_id: string;
  /** The lease the requester booked; replicas and the referee run the same work. */
  lease_id: string;
  replicas_wanted: number;
  /**
   * Every run, the primary first: its provider and, once its receipt arrived, its output digests.
   * A lease appears at most once (else RangeError).
   */
  runs: {
    lease_id: string;
    provider: string;
    role: 'primary' | 'replica' | 'referee';
    outputs: { name: string; sha256: string }[] | null;
    exit_code: number | null;
  }[];
  /** 'running' | 'agreed' | 'refereeing' | 'resolved' | 'unresolved' */
  state: string;
  /** Set once decided: the digest set accepted (a hash of its outputs), the providers that disagreed (not paid), why. */
  decision: { accepted: string | null; losers: string[]; detail: string } | null;
  /** Bumped by every update (optimistic concurrency). */
  version: number;
  /** epoch ms */
  created_at: number;
  updated_at: number;
}
