import { describe, it } from 'node:test';
import type { Store } from '../storage/store.js';
import * as accounts from './contract/accounts.js';
import * as bookings from './contract/bookings.js';
import type { Case, Corrupt } from './contract/fixtures.js';
import * as integrity from './contract/integrity.js';
import * as updates from './contract/updates.js';

/**
 * The one suite every ledger backend passes (ledger/store.ts). A backend's test file calls it with
 * a factory that opens a fresh, empty, not yet migrated store each time; each case migrates, runs
 * and closes. Not a test file itself: imported by `sqlite/ledger.test.ts` and the PostgreSQL one.
 *
 * - A backend that cannot meet a case lists it in `gaps` with the reason, so the gap is written
 *   down rather than silently skipped.
 * - `corrupt` runs raw SQL on the backend's own connection, for the cases that break the database
 *   on purpose and expect verify() to notice. The statements are portable (plain UPDATEs) and name
 *   these columns: accounts(id, balance), postings(tx_id, account, amount), bookings(id, held),
 *   leases(id, settled), offer_capacity(offer_id, reserved). Without the hook those cases skip.
 * - Nothing relies on when capacity listeners run beyond "after the commit, in commit order":
 *   the cases wait for them (PostgreSQL hears its own NOTIFY asynchronously).
 * - Violations are compared by code and subject (the account, transaction, booking or offer id;
 *   `hold_mismatch` names the escrow account), never by the detail text.
 */
export interface LedgerContractOptions {
  gaps?: Partial<Record<LedgerCase, string>>;
  corrupt?: Corrupt;
}

export type LedgerCase =
  | 'deposit, balances and entries'
  | 'deposit idempotency'
  | 'bad postings write nothing'
  | 'credit limit'
  | 'idempotency records'
  | 'create booking'
  | 'reservations are all or none'
  | 'sold out availability'
  | 'create without funds writes nothing'
  | 'idempotent create'
  | 'duplicate ids'
  | 'booking lists'
  | 'lease booking'
  | 'update version check'
  | 'settlement'
  | 'lease release happens once'
  | 'top-up without funds writes nothing'
  | 'capacity listeners'
  | 'verify a busy ledger'
  | 'verify detects corruption'
  | 'concurrent creates'
  | 'migrate twice';

const CASES: Record<LedgerCase, Case> = {
  'deposit, balances and entries': accounts.depositAndEntries,
  'deposit idempotency': accounts.depositIdempotency,
  'bad postings write nothing': accounts.badPostings,
  'credit limit': accounts.creditLimit,
  'idempotency records': accounts.idempotencyRecords,
  'create booking': bookings.createHappy,
  'reservations are all or none': bookings.allOrNone,
  'sold out availability': bookings.soldOut,
  'create without funds writes nothing': bookings.createWithoutFunds,
  'idempotent create': bookings.idempotentCreate,
  'duplicate ids': bookings.duplicateIds,
  'booking lists': bookings.bookingLists,
  'lease booking': bookings.leaseBooking,
  'update version check': updates.updateVersion,
  settlement: updates.settlement,
  'lease release happens once': updates.releaseOnce,
  'top-up without funds writes nothing': updates.topupWithoutFunds,
  'capacity listeners': updates.capacityListeners,
  'verify a busy ledger': integrity.verifyBusy,
  'verify detects corruption': integrity.verifyCorruption,
  'concurrent creates': integrity.concurrentCreates,
  'migrate twice': integrity.migrateTwice,
};

const NEEDS_CORRUPT: readonly LedgerCase[] = ['verify detects corruption'];

export function describeLedgerContract(
  name: string,
  open: () => Promise<Store>,
  opts: LedgerContractOptions = {},
): void {
  const gaps = opts.gaps ?? {};
  describe(`ledger contract: ${name}`, () => {
    for (const [c, fn] of Object.entries(CASES) as [LedgerCase, Case][]) {
      const skip = gaps[c]
        ? `known gap: ${gaps[c]}`
        : NEEDS_CORRUPT.includes(c) && !opts.corrupt
          ? 'no corrupt hook for this backend run'
          : undefined;
      it(c, skip ? { skip } : {}, async () => {
        const store = await open();
        try {
          await store.migrate();
          await fn(store, opts.corrupt);
        } finally {
          await store.close();
        }
      });
    }
  });
}
