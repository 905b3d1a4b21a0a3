/**
 * The ledger's storage contract (STYLE.md 8): accounts, double-entry transactions, bookings and their
 * leases, offer capacity and idempotency records. Implemented by `ledger/sqlite/` and
 * `ledger/postgres/`, checked by the one suite in `ledger/contract.ts`.
 *
 * The store is a thin, atomic applier. The arithmetic (what a booking costs, what a tick settles)
 * is pure code in `ledger/` that produces the changes; each store method applies one set of changes
 * in ONE database transaction with guards that keep the invariants whatever the caller computed:
 *
 * - every transaction's postings sum to zero;
 * - an account's balance is the sum of its postings, and never goes below `-credit_limit`
 *   (external accounts, the world money comes from, have no floor);
 * - a requester's escrow balance is the sum of `held` over its bookings;
 * - `offer_capacity.reserved` is the sum of `nodes` over leases in a reserving state (pending,
 *   running), and a reservation never takes an offer past its capacity.
 *
 * Money is integer micro-units (1 USD = 1,000,000; `money.ts`), always a safe integer. Times are
 * epoch milliseconds. Expected outcomes (sold out, no funds, stale version, replayed key) are result
 * values; a broken precondition (unbalanced postings, an unsafe integer) is an exception.
 */

import type { StoreKind } from '../storage/store.js';

export type Micros = number;

// ---------------------------------------------------------------- accounts

export type AccountKind = 'requester' | 'provider' | 'escrow' | 'fees' | 'external' | 'budget';

/**
 * Account ids are derived, never random, so any code can name an account without a lookup:
 * `req:<principal>`, `escrow:<principal>`, `prov:<provider>`, `fees`, `ext:<rail>` (accounts.ts).
 * A posting to an account that does not exist yet creates it (kind and owner from the id, credit
 * limit 0), in the same transaction.
 */
export interface Account {
  id: string;
  kind: AccountKind;
  /** Principal id for requester/escrow, provider name for provider, rail for external, '' for fees. */
  owner: string;
  balance: Micros;
  /** How far below zero the balance may go (0: not at all). Ignored for external accounts. */
  credit_limit: Micros;
}

export interface Posting {
  account: string;
  /** Added to the account's balance; negative takes from it. Never 0. */
  amount: Micros;
}

export type TxKind = 'deposit' | 'hold' | 'settle' | 'release' | 'topup' | 'adjust';

export interface NewTransaction {
  /** `tx_…` (ids.ts). */
  id: string;
  kind: TxKind;
  at: number;
  booking_id: string | null;
  memo: string;
  /** At least two postings summing to exactly zero; otherwise the method throws a RangeError. */
  postings: Posting[];
}

/** One account's side of a transaction, as `GET /accounts/me/transactions` lists it. */
export interface AccountEntry {
  /** Monotonic per store; the pagination cursor. */
  seq: number;
  tx_id: string;
  kind: TxKind;
  at: number;
  booking_id: string | null;
  memo: string;
  amount: Micros;
}

// ---------------------------------------------------------------- bookings

/** A closed set (STYLE.md 7); transitions live in `states.ts`. */
export type BookingStatus = 'pending' | 'active' | 'completed' | 'cancelled' | 'overdrawn' | 'failed';

/**
 * Lease states known to the ledger. `pending` and `running` reserve capacity; the others are
 * terminal and release it. The runtime (issue 6) owns the transitions; the ledger only records them.
 */
export type LeaseState = 'pending' | 'running' | 'completed' | 'cancelled' | 'stopped' | 'failed';

export type PaymentModel = 'per_second' | 'per_token' | 'per_epoch';

export interface LeaseRecord {
  /** `ls_…`. */
  id: string;
  booking_id: string;
  /** 0-based position in the booking's allocations. */
  idx: number;
  offer_id: string;
  provider: string;
  nodes: number;
  /** Booked hours per node (may be fractional). */
  hours: number;
  /** GPUs per node (0 for CPU offers; may be fractional for GPU slices). */
  gpus_per_node: number;
  /** Price of one node-hour at booking, micros. */
  price_per_node_hour: Micros;
  /** Price of one million tokens for per_token bookings, micros; null otherwise. */
  price_per_million_tokens: Micros | null;
  /** What the whole lease costs if it runs all its hours: nodes × hours × price, rounded once. */
  cost: Micros;
  /** Cost accrued and settled to the provider so far. Never exceeds `cost` for time-based models. */
  settled: Micros;
  state: LeaseState;
  /** When usage started counting (epoch ms); null while not started. */
  started_at: number | null;
  ended_at: number | null;
  /** Anything else the booking carried for this allocation (resource_type, region, …), JSON. */
  detail: Record<string, unknown>;
}

export interface BookingRecord {
  /** `bk_…`. */
  id: string;
  requester: string;
  status: BookingStatus;
  /** Bumped by every update; `applyBookingUpdate` compares it (optimistic concurrency). */
  version: number;
  created_at: number;
  updated_at: number;
  plan_id: string | null;
  /** The payment as asked: spec method name, model, stream flag, epoch, rail that settles it. */
  payment: {
    method: string;
    model: PaymentModel;
    stream: boolean;
    /** Seconds per settlement epoch: 1 for per_second, 3600 (hour) or 86400 (day) for per_epoch. */
    epoch_s: number;
    rail: string;
    /**
     * Budget accounts (`budget:<token cid>`) of the delegated token that booked and of every token
     * above it with a `max_spend_usd`: each moves with the requester's account (budgets.ts).
     */
    budgets?: string[];
  };
  /** Sum of the leases' `cost`. */
  total_cost: Micros;
  /** Sum of the leases' `settled`. */
  settled: Micros;
  /** What escrow holds for this booking now. */
  held: Micros;
  /** The wire response fields that are fixed at booking (savings, baseline, GPU-hours…), JSON. */
  summary: Record<string, unknown>;
  leases: LeaseRecord[];
}

/** Nodes of one offer to reserve. `capacity` is the provider's figure now (the market's `available`). */
export interface Reservation {
  offer_id: string;
  nodes: number;
  capacity: number;
}

export interface IdempotencyRecord {
  principal: string;
  key: string;
  /** The route it was used on, e.g. `POST /book`: a key reused on another route is a mismatch. */
  scope: string;
  /** SHA-256 (hex) of the canonical request body. */
  request_hash: string;
  status: number;
  /** The JSON body sent the first time. */
  response: unknown;
  created_at: number;
  /** After this the key may be reused (24 h after creation). */
  expires_at: number;
}

export interface NewBooking {
  /** The booking as it is created: version 1, `settled` 0, leases in `pending`. */
  booking: BookingRecord;
  /** One per offer (nodes summed when several leases share an offer). All or none are taken. */
  reservations: Reservation[];
  /** The hold: requester → escrow, `booking.held` micros. May be absent when `held` is 0. */
  hold: NewTransaction | null;
  /** Stored in the same transaction, so a replay after a crash finds exactly what was committed. */
  idempotency: IdempotencyRecord | null;
}

export type CreateBookingResult =
  | { kind: 'created'; booking: BookingRecord }
  /** The key was used before with the same scope and hash: the stored reply, nothing changed. */
  | { kind: 'replay'; status: number; response: unknown }
  /** The key was used before with another body or route. */
  | { kind: 'idempotency_mismatch'; scope: string }
  | { kind: 'sold_out'; offer_id: string; requested: number; available: number }
  | { kind: 'insufficient_funds'; account: string; needed: Micros; balance: Micros; credit_limit: Micros };

/**
 * Changes to one booking, applied atomically if and only if the booking is still at
 * `expected_version`. Lease changes that move a lease from a reserving state to a terminal one
 * release its nodes from `offer_capacity` in the same transaction (the store does this itself).
 */
export interface BookingUpdate {
  booking_id: string;
  expected_version: number;
  at: number;
  status?: BookingStatus;
  /** Added to `booking.held`; the transaction's postings must move escrow by the same amount. */
  held_delta?: Micros;
  leases?: {
    id: string;
    state?: LeaseState;
    settled_delta?: Micros;
    started_at?: number;
    ended_at?: number;
  }[];
  /** Balanced postings (settlement, release, top-up), or null when only states change. */
  transaction: NewTransaction | null;
  /** Stored with the update (a cancel with an Idempotency-Key). */
  idempotency?: IdempotencyRecord | null;
}

export type BookingUpdateResult =
  | { kind: 'updated'; booking: BookingRecord }
  | { kind: 'not_found' }
  /** Someone else updated the booking first: re-read and recompute. */
  | { kind: 'stale'; version: number }
  | { kind: 'insufficient_funds'; account: string; needed: Micros; balance: Micros; credit_limit: Micros };

export type DepositResult =
  | { kind: 'created'; balance: Micros }
  /** The rail's reference was seen before with the same account and amount: nothing changed. */
  | { kind: 'replayed'; tx_id: string; balance: Micros }
  /** The rail's reference was seen before with another account or amount. */
  | { kind: 'conflict'; tx_id: string };

export interface Violation {
  /** Stable code: `unbalanced_tx`, `balance_mismatch`, `negative_balance`, `hold_mismatch`, `booking_held_negative`, `capacity_mismatch`, `over_capacity`, `booking_sum_mismatch`. */
  code: string;
  detail: string;
  /** The account, transaction, booking or offer concerned. */
  subject: string;
}

export interface LedgerStore {
  readonly kind: StoreKind;

  // accounts
  getAccount(id: string): Promise<Account | null>;
  /** Creates the account if missing and sets its credit limit (micros ≥ 0). */
  setCreditLimit(id: string, limit: Micros): Promise<void>;
  /** Newest first; entries with `seq < before` when `before` is given. 0 ≤ limit ≤ 1000. */
  listEntries(account: string, opts: { before?: number; limit: number }): Promise<AccountEntry[]>;
  /**
   * Posts a balanced transaction (a deposit, an adjustment). With `external_ref` it is idempotent by
   * `(rail, external_ref)`: a replay returns the first transaction's id and changes nothing.
   * `credit_to` names the account whose balance is reported.
   */
  deposit(
    tx: NewTransaction,
    ref: { rail: string; external_ref: string; credit_to: string },
  ): Promise<DepositResult>;

  // bookings
  createBooking(b: NewBooking): Promise<CreateBookingResult>;
  getBooking(id: string): Promise<BookingRecord | null>;
  /** The booking a lease belongs to, or null. */
  leaseBooking(leaseId: string): Promise<string | null>;
  /** A requester's bookings, newest first (id descending), ids `< before` when given. */
  listBookings(requester: string, opts: { before?: string; limit: number }): Promise<BookingRecord[]>;
  /** Bookings in `pending` or `active`: what settlement walks. Oldest first, at most `limit`. */
  listOpenBookings(limit: number, after?: string): Promise<BookingRecord[]>;
  applyBookingUpdate(u: BookingUpdate): Promise<BookingUpdateResult>;

  // capacity
  /** Reserved nodes per offer (offers with none are absent); all offers when `offerIds` is omitted. */
  reserved(offerIds?: readonly string[]): Promise<Map<string, number>>;
  /**
   * Calls `listener` after a commit changed reservations, with the offers concerned. SQLite calls it
   * in-process; PostgreSQL through LISTEN/NOTIFY, so every replica hears every replica's bookings.
   */
  onCapacityChange(listener: (offerIds: string[]) => void): () => void;

  // idempotency (creating POSTs other than /book and cancel, which store theirs atomically)
  getIdempotency(principal: string, key: string, now: number): Promise<IdempotencyRecord | null>;
  /** Stores the record unless a live one exists for (principal, key); returns the one that holds. */
  putIdempotency(r: IdempotencyRecord): Promise<IdempotencyRecord>;
  /** Deletes records with `expires_at <= now`; returns how many. */
  purgeIdempotency(now: number): Promise<number>;

  /** Checks every invariant listed at the top of this file over the whole database. */
  verify(): Promise<{ ok: boolean; violations: Violation[] }>;

  /**
   * Whether this process holds the lead for a background duty (`name`, e.g. `settlement`) among
   * the replicas sharing the database, taking it when free (DESIGN.md: background duties are held
   * by one replica through an advisory lock). Once taken it is kept until `close()` or until the
   * connection holding it is lost; then another replica's next call takes it. SQLite has one
   * process per database, so it always leads.
   */
  tryLead(name: string): Promise<boolean>;
}
