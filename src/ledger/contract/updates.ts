import assert from 'node:assert/strict';
import { FEES_ACCOUNT, providerAccount } from '../accounts.js';
import type { BookingRecord, BookingUpdate, LeaseState } from '../store.js';
import {
  ALICE,
  assertVerified,
  balance,
  book,
  type Case,
  deposit,
  ESC_A,
  eventually,
  idem,
  MIN,
  newBooking,
  REQ_A,
  reservedOf,
  T0,
  USD,
} from './fixtures.js';

/** applyBookingUpdate: optimistic versions, settlement postings, capacity release, listeners. */

// 3 nodes × 2 h × $1.50 = $9.00 on of_a (vast) + 1 node × 0.5 h × $4.00 = $2.00 on of_b (lambda).
const TWO_OFFERS = [
  { offer: 'of_a', nodes: 3, hours: 2, price: 1_500_000 },
  { offer: 'of_b', nodes: 1, hours: 0.5, price: 4 * USD, provider: 'lambda' },
];

const upd = (version: number, over: Partial<BookingUpdate> = {}): BookingUpdate => ({
  booking_id: 'bk_1',
  expected_version: version,
  at: T0 + version * MIN,
  transaction: null,
  ...over,
});

const settleTx = (id: string, postings: [string, number][]) => ({
  id,
  kind: 'settle' as const,
  at: T0 + 2 * 60 * MIN,
  booking_id: 'bk_1',
  memo: 'settle',
  postings: postings.map(([account, amount]) => ({ account, amount })),
});

export const updateVersion: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  const created = await book(s, newBooking('bk_1', TWO_OFFERS));
  assert.deepEqual(await s.ledger.applyBookingUpdate(upd(2, { status: 'active' })), {
    kind: 'stale',
    version: 1,
  });
  assert.deepEqual(await s.ledger.applyBookingUpdate(upd(1, { booking_id: 'bk_nope' })), {
    kind: 'not_found',
  });
  assert.deepEqual(await s.ledger.getBooking('bk_1'), created);
  const r = await s.ledger.applyBookingUpdate(upd(1, { status: 'active' }));
  assert.deepEqual(r, {
    kind: 'updated',
    booking: { ...created, status: 'active', version: 2, updated_at: T0 + MIN },
  });
  // A second writer that read version 1 loses and is told the current version.
  assert.deepEqual(await s.ledger.applyBookingUpdate(upd(1, { status: 'failed' })), {
    kind: 'stale',
    version: 2,
  });
  // An update may carry its Idempotency-Key record (a cancel), stored in the same transaction.
  const key = idem('cancel-1', { scope: 'POST /bookings/bk_1/cancel', status: 200 });
  const r2 = await s.ledger.applyBookingUpdate(upd(2, { idempotency: key }));
  assert.equal(r2.kind === 'updated' && r2.booking.version, 3);
  assert.deepEqual(await s.ledger.getIdempotency(ALICE, 'cancel-1', T0), key);
  await assertVerified(s);
};

export const settlement: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  const created = await book(s, newBooking('bk_1', TWO_OFFERS));
  const VAST = providerAccount('vast');
  const LAMBDA = providerAccount('lambda');
  const started = await s.ledger.applyBookingUpdate(
    upd(1, { status: 'active', leases: [{ id: 'ls_bk_1_0', state: 'running', started_at: T0 }] }),
  );
  assert.equal(started.kind, 'updated');
  assert.deepEqual(await reservedOf(s), { of_a: 3, of_b: 1 }); // pending → running keeps the nodes
  // Lease 0 ran its 2 h: $9.00 leaves escrow; 1% fee = 90_000 to fees, 8_910_000 to vast.
  const r = await s.ledger.applyBookingUpdate(
    upd(2, {
      held_delta: -9 * USD,
      leases: [{ id: 'ls_bk_1_0', state: 'completed', settled_delta: 9 * USD, ended_at: T0 + 120 * MIN }],
      transaction: settleTx('tx_s1', [
        [ESC_A, -9 * USD],
        [VAST, 8_910_000],
        [FEES_ACCOUNT, 90_000],
      ]),
    }),
  );
  assert.equal(r.kind, 'updated');
  const b = (r as { booking: BookingRecord }).booking;
  assert.equal(b.version, 3);
  assert.equal(b.settled, 9 * USD);
  assert.equal(b.held, 2 * USD); // $11 - $9
  assert.deepEqual(b.leases, [
    { ...created.leases[0]!, state: 'completed', settled: 9 * USD, started_at: T0, ended_at: T0 + 120 * MIN },
    created.leases[1],
  ]);
  assert.deepEqual(await reservedOf(s), { of_b: 1 }); // of_a released
  assert.equal(await balance(s, ESC_A), 2 * USD);
  assert.equal(await balance(s, VAST), 8_910_000);
  assert.equal(await balance(s, FEES_ACCOUNT), 90_000);
  const [entry] = await s.ledger.listEntries(VAST, { limit: 5 });
  assert.deepEqual(
    { ...entry, seq: 0 },
    {
      seq: 0,
      tx_id: 'tx_s1',
      kind: 'settle',
      at: T0 + 120 * MIN,
      booking_id: 'bk_1',
      memo: 'settle',
      amount: 8_910_000,
    },
  );
  // held_delta must equal what the postings move in escrow, and held may not go below 0.
  const lopsided = upd(3, {
    held_delta: -1,
    transaction: settleTx('tx_x', [
      [ESC_A, -2],
      [VAST, 2],
    ]),
  });
  await assert.rejects(s.ledger.applyBookingUpdate(lopsided), RangeError);
  const overdraw = upd(3, {
    held_delta: -3 * USD,
    transaction: settleTx('tx_y', [
      [ESC_A, -3 * USD],
      [REQ_A, 3 * USD],
    ]),
  });
  await assert.rejects(s.ledger.applyBookingUpdate(overdraw), RangeError);
  assert.equal((await s.ledger.getBooking('bk_1'))?.version, 3);
  // Lease 1 done: $2.00; fee 20_000, lambda 1_980_000. The booking completes with nothing held.
  const done = await s.ledger.applyBookingUpdate(
    upd(3, {
      status: 'completed',
      held_delta: -2 * USD,
      leases: [
        {
          id: 'ls_bk_1_1',
          state: 'completed',
          settled_delta: 2 * USD,
          started_at: T0,
          ended_at: T0 + 30 * MIN,
        },
      ],
      transaction: settleTx('tx_s2', [
        [ESC_A, -2 * USD],
        [LAMBDA, 1_980_000],
        [FEES_ACCOUNT, 20_000],
      ]),
    }),
  );
  assert.equal(done.kind === 'updated' && done.booking.settled, 11 * USD);
  assert.equal(done.kind === 'updated' && done.booking.held, 0);
  assert.equal(await balance(s, FEES_ACCOUNT), 110_000);
  assert.equal(await balance(s, ESC_A), 0);
  assert.equal(await balance(s, REQ_A), 89 * USD);
  assert.deepEqual(await reservedOf(s), {});
  assert.deepEqual(await s.ledger.listOpenBookings(10), []);
  await assertVerified(s);
};

export const releaseOnce: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  await book(s, newBooking('bk_1', TWO_OFFERS));
  const lease = (id: string, state: LeaseState) => ({ id, state });
  await s.ledger.applyBookingUpdate(upd(1, { leases: [lease('ls_bk_1_0', 'running')] }));
  await s.ledger.applyBookingUpdate(upd(2, { leases: [lease('ls_bk_1_0', 'completed')] }));
  assert.deepEqual(await reservedOf(s), { of_b: 1 }); // 3 nodes of of_a back
  // Terminal → another state would release (or take) the nodes again: refused, nothing written.
  await assert.rejects(
    s.ledger.applyBookingUpdate(upd(3, { leases: [lease('ls_bk_1_0', 'failed')] })),
    RangeError,
  );
  await assert.rejects(
    s.ledger.applyBookingUpdate(upd(3, { leases: [lease('ls_bk_1_0', 'running')] })),
    RangeError,
  );
  // Together with a valid change, the whole update is refused.
  const mixed = upd(3, { leases: [lease('ls_bk_1_1', 'cancelled'), lease('ls_bk_1_0', 'stopped')] });
  await assert.rejects(s.ledger.applyBookingUpdate(mixed), RangeError);
  await assert.rejects(
    s.ledger.applyBookingUpdate(upd(3, { leases: [lease('ls_nope', 'failed')] })),
    RangeError,
  );
  const b = await s.ledger.getBooking('bk_1');
  assert.equal(b?.version, 3);
  assert.deepEqual(
    b?.leases.map((l) => l.state),
    ['completed', 'pending'],
  );
  assert.deepEqual(await reservedOf(s), { of_b: 1 });
  // Restating a terminal lease's own state is no move: allowed, and releases nothing.
  const r = await s.ledger.applyBookingUpdate(
    upd(3, { leases: [lease('ls_bk_1_0', 'completed'), lease('ls_bk_1_1', 'cancelled')] }),
  );
  assert.equal(r.kind, 'updated');
  assert.deepEqual(await reservedOf(s), {});
  await assertVerified(s);
};

export const topupWithoutFunds: Case = async (s) => {
  // Streaming: $11.00 booked, $2.00 held at first; $5 - $2 = $3 left to top up from.
  await deposit(s, 'tx_dep', ALICE, 5 * USD);
  const before = await book(s, newBooking('bk_1', TWO_OFFERS, { held: 2 * USD, stream: true }));
  const topup = upd(1, {
    status: 'active',
    held_delta: 4 * USD,
    leases: [
      { id: 'ls_bk_1_0', state: 'running', started_at: T0 },
      { id: 'ls_bk_1_1', state: 'completed', settled_delta: 0, ended_at: T0 },
    ],
    transaction: {
      ...settleTx('tx_top', [
        [REQ_A, -4 * USD],
        [ESC_A, 4 * USD],
      ]),
      kind: 'topup',
    },
    idempotency: idem('k-top'),
  });
  assert.deepEqual(await s.ledger.applyBookingUpdate(topup), {
    kind: 'insufficient_funds',
    account: REQ_A,
    needed: 4 * USD,
    balance: 3 * USD,
    credit_limit: 0,
  });
  // Everything rolled back: version, lease states, the release of of_b, balances, the key.
  assert.deepEqual(await s.ledger.getBooking('bk_1'), before);
  assert.deepEqual(await reservedOf(s), { of_a: 3, of_b: 1 });
  assert.equal(await balance(s, REQ_A), 3 * USD);
  assert.equal(await balance(s, ESC_A), 2 * USD);
  assert.equal((await s.ledger.listEntries(REQ_A, { limit: 10 })).length, 2); // deposit, hold
  assert.equal(await s.ledger.getIdempotency(ALICE, 'k-top', T0), null);
  await assertVerified(s);
};

export const capacityListeners: Case = async (s) => {
  const seen: string[] = [];
  const late: string[] = [];
  const count = (id: string) => seen.filter((x) => x === id).length;
  // A broken listener must not break the write or starve the others.
  const offBroken = s.ledger.onCapacityChange(() => {
    throw new Error('listener bug (expected by the test)');
  });
  const offSeen = s.ledger.onCapacityChange((ids) => seen.push(...ids));
  await deposit(s, 'tx_dep', ALICE, 10 * USD);
  const one = (id: string, offer: string, price = USD, capacity = 10) =>
    newBooking(id, [{ offer, nodes: 1, hours: 1, price }], { capacity: { [offer]: capacity } });
  await book(s, one('bk_1', 'of_a'));
  await eventually(() => count('of_a') === 1, 'of_a after a create');
  // Failed creates change no reservation and tell no one.
  assert.equal((await s.ledger.createBooking(one('bk_2', 'of_b', USD, 0))).kind, 'sold_out');
  assert.equal((await s.ledger.createBooking(one('bk_3', 'of_c', 50 * USD))).kind, 'insufficient_funds');
  // Notices arrive in commit order, so once of_d's has come, any for of_b or of_c would have too.
  await book(s, one('bk_4', 'of_d'));
  await eventually(() => count('of_d') === 1, 'of_d after a create');
  assert.equal(count('of_b') + count('of_c'), 0);
  // A release is a change too.
  const r = await s.ledger.applyBookingUpdate(upd(1, { leases: [{ id: 'ls_bk_1_0', state: 'cancelled' }] }));
  assert.equal(r.kind, 'updated');
  await eventually(() => count('of_a') === 2, 'of_a after a release');
  // Unsubscribed listeners hear nothing more.
  const offLate = s.ledger.onCapacityChange((ids) => late.push(...ids));
  offLate();
  offBroken();
  await book(s, one('bk_5', 'of_e'));
  await eventually(() => count('of_e') === 1, 'of_e after a create');
  assert.deepEqual(late, []);
  offSeen();
};
