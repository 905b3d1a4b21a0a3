import assert from 'node:assert/strict';
import { requesterAccount } from '../accounts.js';
import {
  ALICE,
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
  T0,
  tx,
  USD,
} from './fixtures.js';

/** Accounts, deposits, postings and idempotency records: the ledger without bookings. */

export const depositAndEntries: Case = async (s) => {
  // Five deposits of $10.00 = 10_000_000 each.
  for (let i = 1; i <= 5; i++) {
    const r = await deposit(s, `tx_d${i}`, ALICE, 10 * USD);
    assert.deepEqual(r, { kind: 'created', balance: i * 10 * USD });
  }
  assert.deepEqual(await s.ledger.getAccount(REQ_A), {
    id: REQ_A,
    kind: 'requester',
    owner: ALICE,
    balance: 50 * USD,
    credit_limit: 0,
  });
  // The rail's account has no floor: it is where money enters, so it goes negative.
  assert.deepEqual(await s.ledger.getAccount(EXT), {
    id: EXT,
    kind: 'external',
    owner: 'credits',
    balance: -50 * USD,
    credit_limit: 0,
  });
  assert.equal(await s.ledger.getAccount('req:pr_nobody'), null);

  // Newest first, two at a time, the last seq as the cursor.
  const page1 = await s.ledger.listEntries(REQ_A, { limit: 2 });
  assert.deepEqual(
    page1.map((e) => e.tx_id),
    ['tx_d5', 'tx_d4'],
  );
  const { seq: _, ...first } = page1[0]!;
  assert.deepEqual(first, {
    tx_id: 'tx_d5',
    kind: 'deposit',
    at: T0,
    booking_id: null,
    memo: 'test tx_d5',
    amount: 10 * USD,
  });
  const page2 = await s.ledger.listEntries(REQ_A, { limit: 2, before: page1[1]!.seq });
  assert.deepEqual(
    page2.map((e) => e.tx_id),
    ['tx_d3', 'tx_d2'],
  );
  const page3 = await s.ledger.listEntries(REQ_A, { limit: 2, before: page2[1]!.seq });
  assert.deepEqual(
    page3.map((e) => e.tx_id),
    ['tx_d1'],
  );
  assert.deepEqual(await s.ledger.listEntries(REQ_A, { limit: 2, before: page3[0]!.seq }), []);
  const seqs = [...page1, ...page2, ...page3].map((e) => e.seq);
  assert.ok(
    seqs.every((q, i) => i === 0 || q < seqs[i - 1]!),
    `seq strictly decreases: ${seqs}`,
  );
  // The other side of the same transactions, negative.
  const ext = await s.ledger.listEntries(EXT, { limit: 1000 });
  assert.equal(ext.length, 5);
  assert.ok(ext.every((e) => e.amount === -10 * USD));
  assert.deepEqual(await s.ledger.listEntries(REQ_A, { limit: 0 }), []);
  assert.deepEqual(await s.ledger.listEntries('req:pr_nobody', { limit: 10 }), []);
  await assert.rejects(s.ledger.listEntries(REQ_A, { limit: 1001 }), RangeError);
  await assert.rejects(s.ledger.listEntries(REQ_A, { limit: -1 }), RangeError);
};

export const depositIdempotency: Case = async (s) => {
  assert.deepEqual(await deposit(s, 'tx_1', ALICE, 10 * USD, 'ref-1'), {
    kind: 'created',
    balance: 10 * USD,
  });
  // The rail calls back again with the same reference: same account, same amount → replayed.
  assert.deepEqual(await deposit(s, 'tx_2', ALICE, 10 * USD, 'ref-1'), {
    kind: 'replayed',
    tx_id: 'tx_1',
    balance: 10 * USD,
  });
  // Same reference, another amount or another account → conflict, nothing written.
  assert.deepEqual(await deposit(s, 'tx_3', ALICE, 11 * USD, 'ref-1'), { kind: 'conflict', tx_id: 'tx_1' });
  assert.deepEqual(await deposit(s, 'tx_4', BOB, 10 * USD, 'ref-1'), { kind: 'conflict', tx_id: 'tx_1' });
  assert.equal(await balance(s, REQ_A), 10 * USD);
  assert.equal(await balance(s, requesterAccount(BOB)), 0);
  assert.deepEqual(
    (await s.ledger.listEntries(REQ_A, { limit: 10 })).map((e) => e.tx_id),
    ['tx_1'],
  );
  // The reference is unique per rail, not globally.
  const other = await s.ledger.deposit(
    tx(
      'tx_5',
      [
        ['ext:lightning', -USD],
        [REQ_A, USD],
      ],
      { kind: 'deposit' },
    ),
    { rail: 'lightning', external_ref: 'ref-1', credit_to: REQ_A },
  );
  assert.deepEqual(other, { kind: 'created', balance: 11 * USD });
};

export const badPostings: Case = async (s) => {
  const ref = (id: string) => ({ rail: 'credits', external_ref: id, credit_to: REQ_A });
  const bad: [string, [string, number][]][] = [
    ['one posting', [[REQ_A, 0]]],
    [
      'sum is not 0',
      [
        [EXT, -5],
        [REQ_A, 4],
      ],
    ],
    [
      'a zero posting',
      [
        [EXT, -5],
        [REQ_A, 5],
        [REQ_A, 0],
      ],
    ],
    [
      'fractional micros',
      [
        [EXT, -1.5],
        [REQ_A, 1.5],
      ],
    ],
    [
      'unsafe integer',
      [
        [EXT, -(2 ** 53)],
        [REQ_A, 2 ** 53],
      ],
    ],
    [
      'NaN',
      [
        [EXT, Number.NaN],
        [REQ_A, Number.NaN],
      ],
    ],
    [
      'unknown account shape',
      [
        [EXT, -5],
        ['bogus', 5],
      ],
    ],
    // Escrow moves only with a booking's `held`; a deposit into it would break the hold invariant.
    [
      'deposit into escrow',
      [
        [EXT, -5],
        [ESC_A, 5],
      ],
    ],
  ];
  for (const [what, postings] of bad)
    await assert.rejects(s.ledger.deposit(tx(`tx_${what}`, postings), ref(what)), RangeError, what);
  // Nothing was written by any of them: no accounts, no entries.
  for (const id of [REQ_A, EXT, ESC_A, 'bogus']) assert.equal(await s.ledger.getAccount(id), null, id);
  assert.deepEqual(await s.ledger.listEntries(REQ_A, { limit: 10 }), []);
  await assert.rejects(s.ledger.setCreditLimit(REQ_A, -1), RangeError);
  await assert.rejects(s.ledger.setCreditLimit(REQ_A, 0.5), RangeError);
  await assert.rejects(s.ledger.setCreditLimit('nope', 1), RangeError);
  // Each posting is safe, but the balance they add up to would not be: refused, first one kept.
  const max = Number.MAX_SAFE_INTEGER;
  assert.equal((await deposit(s, 'tx_big1', ALICE, max)).kind, 'created');
  await assert.rejects(deposit(s, 'tx_big2', ALICE, 1), RangeError);
  assert.equal(await balance(s, REQ_A), max);
  // A booking whose hold does not balance is refused before anything is reserved.
  const nb = newBooking('bk_bad', [{ offer: 'of_a', nodes: 1, hours: 1, price: USD }]);
  nb.hold!.postings[0]!.amount -= 1;
  await assert.rejects(s.ledger.createBooking(nb), RangeError);
  // A booking whose reservations disagree with its leases would break the capacity invariant.
  const nb2 = newBooking('bk_bad2', [{ offer: 'of_a', nodes: 2, hours: 1, price: USD }]);
  nb2.reservations[0]!.nodes = 1;
  await assert.rejects(s.ledger.createBooking(nb2), RangeError);
  assert.deepEqual(await s.ledger.reserved(), new Map());
  assert.equal(await s.ledger.getBooking('bk_bad'), null);
};

export const creditLimit: Case = async (s) => {
  // The limit creates the account: $5.00 = 5_000_000 below zero allowed.
  await s.ledger.setCreditLimit(REQ_A, 5 * USD);
  assert.deepEqual(await s.ledger.getAccount(REQ_A), {
    id: REQ_A,
    kind: 'requester',
    owner: ALICE,
    balance: 0,
    credit_limit: 5 * USD,
  });
  // 1 node × 5 h × $1.00 = $5.00 held: exactly down to -limit.
  await book(s, newBooking('bk_1', [{ offer: 'of_a', nodes: 1, hours: 5, price: USD }]));
  assert.equal(await balance(s, REQ_A), -5 * USD);
  // One more micro is refused (1 node × 1 h × 1 micro).
  const r = await s.ledger.createBooking(
    newBooking('bk_2', [{ offer: 'of_a', nodes: 1, hours: 1, price: 1 }]),
  );
  assert.deepEqual(r, {
    kind: 'insufficient_funds',
    account: REQ_A,
    needed: 1,
    balance: -5 * USD,
    credit_limit: 5 * USD,
  });
  // The limit cannot drop below the debt (the floor would be broken at once) …
  await assert.rejects(s.ledger.setCreditLimit(REQ_A, 4 * USD), RangeError);
  assert.equal((await s.ledger.getAccount(REQ_A))?.credit_limit, 5 * USD);
  // … but may once the debt is paid: deposit $5 → balance 0, limit 0.
  await deposit(s, 'tx_pay', ALICE, 5 * USD);
  await s.ledger.setCreditLimit(REQ_A, 0);
  assert.deepEqual(await s.ledger.getAccount(REQ_A), {
    id: REQ_A,
    kind: 'requester',
    owner: ALICE,
    balance: 0,
    credit_limit: 0,
  });
  assert.deepEqual(await s.ledger.verify(), { ok: true, violations: [] });
};

export const idempotencyRecords: Case = async (s) => {
  const r1 = idem('k1');
  assert.deepEqual(await s.ledger.putIdempotency(r1), r1);
  assert.deepEqual(await s.ledger.getIdempotency(ALICE, 'k1', T0), r1);
  assert.deepEqual(await s.ledger.getIdempotency(ALICE, 'k1', T0 + DAY - 1), r1);
  assert.equal(await s.ledger.getIdempotency(ALICE, 'k1', T0 + DAY), null, 'expires_at is exclusive');
  assert.equal(await s.ledger.getIdempotency(BOB, 'k1', T0), null, 'keys are per principal');
  // A live record holds: a second put returns the first and changes nothing.
  const r2 = idem('k1', { request_hash: 'b'.repeat(64), created_at: T0 + 1, expires_at: T0 + 1 + DAY });
  assert.deepEqual(await s.ledger.putIdempotency(r2), r1);
  // Once expired, the key is free again.
  const r3 = idem('k1', { created_at: T0 + DAY, expires_at: T0 + 2 * DAY, response: ['x', null, 2.5] });
  assert.deepEqual(await s.ledger.putIdempotency(r3), r3);
  assert.deepEqual(await s.ledger.getIdempotency(ALICE, 'k1', T0 + DAY), r3);
  const r4 = idem('k2', { principal: BOB, expires_at: T0 + 5 });
  assert.deepEqual(await s.ledger.putIdempotency(r4), r4);
  // purge deletes expires_at <= now.
  assert.equal(await s.ledger.purgeIdempotency(T0 + 4), 0);
  assert.equal(await s.ledger.purgeIdempotency(T0 + 5), 1);
  assert.equal(await s.ledger.purgeIdempotency(T0 + 5), 0);
  assert.deepEqual(await s.ledger.getIdempotency(ALICE, 'k1', T0 + DAY), r3);
  assert.equal(await s.ledger.purgeIdempotency(T0 + 2 * DAY), 1);
  assert.equal(await s.ledger.getIdempotency(ALICE, 'k1', 0), null);
};
