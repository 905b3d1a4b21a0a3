import assert from 'node:assert/strict';
import { DuplicateError } from '../../storage/errors.js';
import {
  ALICE,
  assertVerified,
  BOB,
  balance,
  book,
  type Case,
  DAY,
  deposit,
  ESC_A,
  EXT,
  idem,
  newBooking,
  REQ_A,
  reservedOf,
  T0,
  USD,
} from './fixtures.js';

/** createBooking and the booking reads. */

// 3 nodes × 2 h × $1.50 = $9.00 = 9_000_000 on of_a, plus 1 node × 0.5 h × $4.00 = $2.00 on of_b:
// $11.00 = 11_000_000 in all.
const TWO_OFFERS = [
  { offer: 'of_a', nodes: 3, hours: 2, price: 1_500_000 },
  { offer: 'of_b', nodes: 1, hours: 0.5, price: 4 * USD, provider: 'lambda' },
];

export const createHappy: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  const nb = newBooking('bk_1', TWO_OFFERS);
  assert.equal(nb.booking.total_cost, 11 * USD);
  const r = await s.ledger.createBooking(nb);
  assert.equal(r.kind, 'created');
  // What comes back is re-read from the database and equals what went in (version 1).
  assert.deepEqual((r as { booking: unknown }).booking, nb.booking);
  assert.deepEqual(await s.ledger.getBooking('bk_1'), nb.booking);
  assert.equal(await s.ledger.getBooking('bk_nope'), null);
  // $100 - $11 = $89 left; $11 in escrow.
  assert.equal(await balance(s, REQ_A), 89 * USD);
  assert.deepEqual(await s.ledger.getAccount(ESC_A), {
    id: ESC_A,
    kind: 'escrow',
    owner: ALICE,
    balance: 11 * USD,
    credit_limit: 0,
  });
  const [hold] = await s.ledger.listEntries(ESC_A, { limit: 10 });
  assert.deepEqual(
    { ...hold, seq: 0 },
    {
      seq: 0,
      tx_id: 'tx_hold_bk_1',
      kind: 'hold',
      at: T0,
      booking_id: 'bk_1',
      memo: 'test tx_hold_bk_1',
      amount: 11 * USD,
    },
  );
  assert.deepEqual(await reservedOf(s), { of_a: 3, of_b: 1 });
  assert.deepEqual(await reservedOf(s, ['of_a', 'of_zzz']), { of_a: 3 });
  assert.deepEqual(await reservedOf(s, []), {});
  await assertVerified(s);
};

export const allOrNone: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  // of_a has room, of_b has none: neither is taken, and no booking or hold is written.
  const r = await s.ledger.createBooking(newBooking('bk_1', TWO_OFFERS, { capacity: { of_a: 10, of_b: 0 } }));
  assert.deepEqual(r, { kind: 'sold_out', offer_id: 'of_b', requested: 1, available: 0 });
  assert.deepEqual(await reservedOf(s), {});
  assert.equal(await s.ledger.getBooking('bk_1'), null);
  assert.equal(await balance(s, REQ_A), 100 * USD);
  assert.equal(await balance(s, ESC_A), 0);
  assert.deepEqual(await s.ledger.listEntries(ESC_A, { limit: 10 }), []);
  await assertVerified(s);
};

export const soldOut: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  const one = (id: string, nodes: number, capacity: number) =>
    newBooking(id, [{ offer: 'of_a', nodes, hours: 1, price: USD }], { capacity: { of_a: capacity } });
  await book(s, one('bk_1', 3, 4)); // 3 of 4 taken
  assert.deepEqual(await s.ledger.createBooking(one('bk_2', 2, 4)), {
    kind: 'sold_out',
    offer_id: 'of_a',
    requested: 2,
    available: 1, // 4 - 3
  });
  await book(s, one('bk_3', 1, 4)); // 4 of 4
  // The market now says 2: nothing is available (max(0, 2 - 4)), and what is reserved stays.
  assert.deepEqual(await s.ledger.createBooking(one('bk_4', 1, 2)), {
    kind: 'sold_out',
    offer_id: 'of_a',
    requested: 1,
    available: 0,
  });
  assert.deepEqual(await reservedOf(s), { of_a: 4 });
  await assertVerified(s); // reserved above capacity is not a violation: capacity moves
  // The market grows to 10: 6 more fit exactly.
  await book(s, one('bk_5', 6, 10));
  assert.deepEqual(await reservedOf(s), { of_a: 10 });
};

export const createWithoutFunds: Case = async (s) => {
  // $5.00 deposited, $9.00 to hold (3 nodes × 2 h × $1.50).
  await deposit(s, 'tx_dep', ALICE, 5 * USD);
  const nb = newBooking('bk_1', [TWO_OFFERS[0]!], { idempotency: idem('k1') });
  assert.deepEqual(await s.ledger.createBooking(nb), {
    kind: 'insufficient_funds',
    account: REQ_A,
    needed: 9 * USD,
    balance: 5 * USD,
    credit_limit: 0,
  });
  // Rolled back whole: the reservation taken before the hold, the booking, the key.
  assert.deepEqual(await reservedOf(s), {});
  assert.equal(await s.ledger.getBooking('bk_1'), null);
  assert.equal(await balance(s, REQ_A), 5 * USD);
  assert.equal(await balance(s, ESC_A), 0);
  assert.equal(await s.ledger.getIdempotency(ALICE, 'k1', T0), null);
  await assertVerified(s);
};

export const idempotentCreate: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  const lease = [{ offer: 'of_a', nodes: 1, hours: 1, price: USD }]; // $1.00
  const key = idem('k1', { response: { booking_id: 'bk_1' } });
  await book(s, newBooking('bk_1', lease, { idempotency: key }));
  assert.deepEqual(await s.ledger.getIdempotency(ALICE, 'k1', T0), key);
  // Same key, scope and hash an hour later: the stored reply, and nothing new.
  const again = newBooking('bk_2', lease, {
    idempotency: idem('k1', { created_at: T0 + 3_600_000 }),
    at: T0 + 3_600_000,
  });
  assert.deepEqual(await s.ledger.createBooking(again), {
    kind: 'replay',
    status: 201,
    response: { booking_id: 'bk_1' },
  });
  // Another body, or another route: a mismatch naming the scope the key was used on.
  const otherHash = newBooking('bk_3', lease, { idempotency: idem('k1', { request_hash: 'b'.repeat(64) }) });
  assert.deepEqual(await s.ledger.createBooking(otherHash), {
    kind: 'idempotency_mismatch',
    scope: 'POST /book',
  });
  const otherScope = newBooking('bk_4', lease, { idempotency: idem('k1', { scope: 'POST /plans' }) });
  assert.deepEqual(await s.ledger.createBooking(otherScope), {
    kind: 'idempotency_mismatch',
    scope: 'POST /book',
  });
  for (const id of ['bk_2', 'bk_3', 'bk_4']) assert.equal(await s.ledger.getBooking(id), null, id);
  assert.equal(await balance(s, REQ_A), 99 * USD);
  assert.deepEqual(await reservedOf(s), { of_a: 1 });
  // The same key from another principal is another key.
  await book(s, newBooking('bk_5', lease, { idempotency: idem('k1', { principal: BOB }) }));
  // After 24 h the key is free: a new booking, and the record is replaced.
  const later = idem('k1', {
    created_at: T0 + DAY,
    expires_at: T0 + 2 * DAY,
    response: { booking_id: 'bk_6' },
  });
  await book(s, newBooking('bk_6', lease, { idempotency: later, at: T0 + DAY }));
  assert.deepEqual(await s.ledger.getIdempotency(ALICE, 'k1', T0 + DAY), later);
  assert.equal(await balance(s, REQ_A), 97 * USD); // bk_1, bk_5 (Alice pays: held by her account), bk_6
  await assertVerified(s);
};

export const duplicateIds: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  await book(s, newBooking('bk_1', [{ offer: 'of_a', nodes: 1, hours: 1, price: USD }]));
  // Ids are random (ids.ts): a repeat is a bug, a DuplicateError, and rolls everything back.
  const dup = newBooking('bk_1', [{ offer: 'of_b', nodes: 2, hours: 1, price: USD }]);
  dup.hold!.id = 'tx_other';
  await assert.rejects(s.ledger.createBooking(dup), (err: unknown) => {
    assert.ok(err instanceof DuplicateError);
    assert.equal(err.entity, 'booking');
    assert.equal(err.id, 'bk_1');
    return true;
  });
  assert.deepEqual(await reservedOf(s), { of_a: 1 });
  await assert.rejects(deposit(s, 'tx_dep', ALICE, USD, 'another-ref'), (err: unknown) => {
    assert.ok(err instanceof DuplicateError);
    assert.equal(err.entity, 'transaction');
    return true;
  });
  assert.equal(await balance(s, REQ_A), 99 * USD);
  assert.equal(await balance(s, EXT), -100 * USD);
  await assertVerified(s);
};

export const bookingLists: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  await deposit(s, 'tx_dep_b', BOB, 100 * USD);
  const mk = (id: string, requester = ALICE) =>
    newBooking(id, [{ offer: `of_${id}`, nodes: 1, hours: 1, price: USD }], { requester });
  // Created out of id order; bk_05 is Bob's.
  for (const nb of [mk('bk_03'), mk('bk_01'), mk('bk_05', BOB), mk('bk_04'), mk('bk_02')]) await book(s, nb);
  const ids = async (p: Promise<{ id: string }[]>) => (await p).map((b) => b.id);
  assert.deepEqual(await ids(s.ledger.listBookings(ALICE, { limit: 10 })), [
    'bk_04',
    'bk_03',
    'bk_02',
    'bk_01',
  ]);
  assert.deepEqual(await ids(s.ledger.listBookings(ALICE, { limit: 2 })), ['bk_04', 'bk_03']);
  assert.deepEqual(await ids(s.ledger.listBookings(ALICE, { limit: 2, before: 'bk_03' })), [
    'bk_02',
    'bk_01',
  ]);
  assert.deepEqual(await ids(s.ledger.listBookings(ALICE, { limit: 0 })), []);
  assert.deepEqual(await ids(s.ledger.listBookings('pr_nobody', { limit: 5 })), []);
  // Listed bookings carry their own leases, as getBooking gives them.
  const [b4] = await s.ledger.listBookings(ALICE, { limit: 1 });
  assert.deepEqual(b4, await s.ledger.getBooking('bk_04'));
  // bk_02 ends: it leaves the open list.
  const r = await s.ledger.applyBookingUpdate({
    booking_id: 'bk_02',
    expected_version: 1,
    at: T0 + 1,
    status: 'failed',
    held_delta: -USD,
    leases: [{ id: 'ls_bk_02_0', state: 'failed', ended_at: T0 + 1 }],
    transaction: {
      id: 'tx_rel',
      kind: 'release',
      at: T0 + 1,
      booking_id: 'bk_02',
      memo: 'provider failed',
      postings: [
        { account: ESC_A, amount: -USD },
        { account: REQ_A, amount: USD },
      ],
    },
  });
  assert.equal(r.kind, 'updated');
  assert.deepEqual(await ids(s.ledger.listOpenBookings(10)), ['bk_01', 'bk_03', 'bk_04', 'bk_05']);
  assert.deepEqual(await ids(s.ledger.listOpenBookings(2)), ['bk_01', 'bk_03']);
  assert.deepEqual(await ids(s.ledger.listOpenBookings(10, 'bk_03')), ['bk_04', 'bk_05']);
  assert.deepEqual(await ids(s.ledger.listOpenBookings(10, 'bk_05')), []);
  assert.deepEqual(await ids(s.ledger.listOpenBookings(0)), []);
  await assertVerified(s);
};

export const leaseBooking: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  // Leases are ls_<booking>_<index> (fixtures.ts): bk_1 has two, bk_2 one.
  await book(s, newBooking('bk_1', TWO_OFFERS));
  await book(s, newBooking('bk_2', [{ offer: 'of_c', nodes: 1, hours: 1, price: USD }]));
  assert.equal(await s.ledger.leaseBooking('ls_bk_1_0'), 'bk_1');
  assert.equal(await s.ledger.leaseBooking('ls_bk_1_1'), 'bk_1');
  assert.equal(await s.ledger.leaseBooking('ls_bk_2_0'), 'bk_2');
  assert.equal(await s.ledger.leaseBooking('ls_bk_2_1'), null);
  assert.equal(await s.ledger.leaseBooking('LS_BK_1_0'), null, 'ids are case-sensitive');
  assert.equal(await s.ledger.leaseBooking('bk_1'), null, 'a booking id is not a lease id');
};
