import assert from 'node:assert/strict';
import { escrowAccount, FEES_ACCOUNT, providerAccount, requesterAccount } from '../accounts.js';
import type { BookingRecord, Posting } from '../store.js';
import {
  ALICE,
  assertVerified,
  balance,
  book,
  type Case,
  type Corrupt,
  deposit,
  ESC_A,
  MIN,
  newBooking,
  REQ_A,
  reservedOf,
  T0,
  tx,
  USD,
} from './fixtures.js';

/** verify() on healthy and corrupted ledgers, concurrent bookings, re-migration. */

/** Ends a booking: each lease paid `paid[i]` (1% fee), the rest of the hold back to the requester. */
function finish(b: BookingRecord, paid: number[], status: 'completed' | 'cancelled', txId: string) {
  const at = T0 + 90 * MIN;
  const postings: Posting[] = [{ account: escrowAccount(b.requester), amount: -b.held }];
  let fees = 0;
  b.leases.forEach((l, i) => {
    const fee = Math.round((paid[i] ?? 0) / 100);
    fees += fee;
    if ((paid[i] ?? 0) - fee > 0)
      postings.push({ account: providerAccount(l.provider), amount: (paid[i] ?? 0) - fee });
  });
  if (fees > 0) postings.push({ account: FEES_ACCOUNT, amount: fees });
  const back = b.held - paid.reduce((a, x) => a + x, 0);
  if (back > 0) postings.push({ account: requesterAccount(b.requester), amount: back });
  return {
    booking_id: b.id,
    expected_version: b.version,
    at,
    status,
    held_delta: -b.held,
    leases: b.leases.map((l, i) => ({
      id: l.id,
      state: status,
      settled_delta: paid[i] ?? 0,
      ended_at: at,
    })),
    transaction: { id: txId, kind: 'settle' as const, at, booking_id: b.id, memo: status, postings },
  };
}

export const verifyBusy: Case = async (s) => {
  const people = ['pr_a', 'pr_b', 'pr_c'];
  for (const p of people) await deposit(s, `tx_dep_${p}`, p, 1000 * USD);
  await s.ledger.setCreditLimit(requesterAccount('pr_c'), 50 * USD);
  // A promotional credit from another rail, as an adjustment.
  await s.ledger.deposit(
    tx('tx_promo', [
      ['ext:promo', -3 * USD],
      [requesterAccount('pr_b'), 3 * USD],
    ]),
    { rail: 'promo', external_ref: 'p1', credit_to: requesterAccount('pr_b') },
  );
  for (let i = 0; i < 30; i++) {
    // nodes 1–3, hours 1–2.5 in halves, price $1.25 + i cents: costs are whole micros.
    const specs = [
      { offer: `of_${i % 5}`, nodes: (i % 3) + 1, hours: 1 + (i % 4) * 0.5, price: 1_250_000 + i * 10_000 },
    ];
    if (i % 2 === 0) specs.push({ offer: `of_${(i + 1) % 5}`, nodes: 1, hours: 1, price: 800_000 });
    const b = await book(
      s,
      newBooking(`bk_${String(i).padStart(2, '0')}`, specs, {
        requester: people[i % 3],
        capacity: { [`of_${i % 5}`]: 50, [`of_${(i + 1) % 5}`]: 50 },
      }),
    );
    if (i % 3 === 0) {
      // Ran to the end: every lease paid in full.
      const r = await s.ledger.applyBookingUpdate(
        finish(
          b,
          b.leases.map((l) => l.cost),
          'completed',
          `tx_fin_${i}`,
        ),
      );
      assert.equal(r.kind, 'updated');
    } else if (i % 3 === 1) {
      // Cancelled halfway: half of each lease paid, the rest released.
      const half = b.leases.map((l) => Math.floor(l.cost / 2));
      const r = await s.ledger.applyBookingUpdate(finish(b, half, 'cancelled', `tx_fin_${i}`));
      assert.equal(r.kind, 'updated');
    } else {
      const r = await s.ledger.applyBookingUpdate({
        booking_id: b.id,
        expected_version: 1,
        at: T0 + MIN,
        status: 'active',
        leases: [{ id: b.leases[0]!.id, state: 'running', started_at: T0 + MIN }],
        transaction: null,
      });
      assert.equal(r.kind, 'updated');
    }
  }
  assert.equal((await s.ledger.listOpenBookings(100)).length, 10);
  await assertVerified(s);
};

export const verifyCorruption: Case = async (s, corrupt?: Corrupt) => {
  assert.ok(corrupt, 'the harness skips this case without a corrupt hook');
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  // 3 nodes × 2 h × $1.50 = $9.00 on of_a, 1 node × 1 h × $2.00 on of_b: $11.00 held.
  await book(
    s,
    newBooking('bk_1', [
      { offer: 'of_a', nodes: 3, hours: 2, price: 1_500_000 },
      { offer: 'of_b', nodes: 1, hours: 1, price: 2 * USD },
    ]),
  );
  await assertVerified(s);
  // Each corruption is undone before the next, so each must report exactly its own violations.
  const expect = async (sql: string, undo: string, want: [code: string, subject: string][]) => {
    await corrupt(s, sql);
    const v = await s.ledger.verify();
    assert.equal(v.ok, false, sql);
    const got = v.violations.map((x) => [x.code, x.subject]).sort();
    assert.deepEqual(got, [...want].sort(), sql);
    assert.ok(v.violations.every((x) => x.detail.length > 0));
    await corrupt(s, undo);
    await assertVerified(s);
  };
  await expect(
    `UPDATE accounts SET balance = balance + 1 WHERE id = '${REQ_A}'`,
    `UPDATE accounts SET balance = balance - 1 WHERE id = '${REQ_A}'`,
    [['balance_mismatch', REQ_A]],
  );
  await expect(
    "UPDATE postings SET amount = amount + 1 WHERE tx_id = 'tx_dep' AND account = 'ext:credits'",
    "UPDATE postings SET amount = amount - 1 WHERE tx_id = 'tx_dep' AND account = 'ext:credits'",
    [
      ['unbalanced_tx', 'tx_dep'],
      ['balance_mismatch', 'ext:credits'],
    ],
  );
  await expect(
    "UPDATE bookings SET held = held - 1 WHERE id = 'bk_1'",
    "UPDATE bookings SET held = held + 1 WHERE id = 'bk_1'",
    [['hold_mismatch', ESC_A]],
  );
  await expect(
    "UPDATE offer_capacity SET reserved = reserved + 1 WHERE offer_id = 'of_a'",
    "UPDATE offer_capacity SET reserved = reserved - 1 WHERE offer_id = 'of_a'",
    [['capacity_mismatch', 'of_a']],
  );
  await expect(
    "UPDATE offer_capacity SET reserved = -1 WHERE offer_id = 'of_b'",
    "UPDATE offer_capacity SET reserved = 1 WHERE offer_id = 'of_b'",
    [['capacity_mismatch', 'of_b']],
  );
  await expect(
    "UPDATE leases SET settled = settled + 1 WHERE id = 'ls_bk_1_0'",
    "UPDATE leases SET settled = settled - 1 WHERE id = 'ls_bk_1_0'",
    [['booking_sum_mismatch', 'bk_1']],
  );
  // $89.00 left; 200 below it is past the floor (credit limit 0), and no longer its postings' sum.
  await expect(
    `UPDATE accounts SET balance = balance - 200000000 WHERE id = '${REQ_A}'`,
    `UPDATE accounts SET balance = balance + 200000000 WHERE id = '${REQ_A}'`,
    [
      ['balance_mismatch', REQ_A],
      ['negative_balance', REQ_A],
    ],
  );
  await expect(
    "UPDATE bookings SET held = -1 WHERE id = 'bk_1'",
    "UPDATE bookings SET held = 11000000 WHERE id = 'bk_1'",
    [
      ['booking_held_negative', 'bk_1'],
      ['hold_mismatch', ESC_A],
    ],
  );
};

export const concurrentCreates: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  // 50 requests for 1 node × 1 h × $1.00 of an offer with 10 nodes, all at once.
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      s.ledger.createBooking(
        newBooking(
          `bk_${String(i).padStart(2, '0')}`,
          [{ offer: 'of_hot', nodes: 1, hours: 1, price: USD }],
          {
            capacity: { of_hot: 10 },
          },
        ),
      ),
    ),
  );
  const kinds = results.map((r) => r.kind);
  assert.equal(kinds.filter((k) => k === 'created').length, 10);
  assert.equal(kinds.filter((k) => k === 'sold_out').length, 40);
  for (const r of results)
    if (r.kind === 'sold_out')
      assert.deepEqual(r, { kind: 'sold_out', offer_id: 'of_hot', requested: 1, available: 0 });
  assert.deepEqual(await reservedOf(s), { of_hot: 10 });
  assert.equal(await balance(s, REQ_A), 90 * USD); // 10 × $1.00 held
  assert.equal(await balance(s, ESC_A), 10 * USD);
  assert.equal((await s.ledger.listBookings(ALICE, { limit: 100 })).length, 10);
  await assertVerified(s);
};

export const migrateTwice: Case = async (s) => {
  await deposit(s, 'tx_dep', ALICE, 100 * USD);
  const b = await book(s, newBooking('bk_1', [{ offer: 'of_a', nodes: 2, hours: 1, price: USD }]));
  await s.migrate(); // the harness migrated once already
  await s.migrate();
  assert.deepEqual(await s.ledger.getBooking('bk_1'), b);
  assert.equal(await balance(s, REQ_A), 98 * USD);
  assert.deepEqual(await reservedOf(s), { of_a: 2 });
  await assertVerified(s);
};
