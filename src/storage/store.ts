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
