import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accrued, elapsedUsage, settleBooking, TokenMeter } from './settlement.js';
import type { BookingRecord, BookingUpdate, LeaseRecord, PaymentModel } from './store.js';

const T0 = 1_790_000_000_000;
const H = 3_600_000;

function lease(over: Partial<LeaseRecord> = {}): LeaseRecord {
  return {
    id: 'ls_a',
    booking_id: 'bk_a',
    idx: 0,
    offer_id: 'of_a',
    provider: 'vast',
    nodes: 2,
    hours: 3,
    gpus_per_node: 1,
    price_per_node_hour: 1_500_000, // $1.50 per node-hour
    price_per_million_tokens: null,
    cost: 9_000_000, // 2 nodes × 3 h × $1.50 = $9.00
    settled: 0,
    state: 'pending',
    started_at: T0,
    ended_at: null,
    detail: {},
    ...over,
  };
}

function booking(
  over: Partial<BookingRecord> = {},
  model: PaymentModel = 'per_second',
  stream = false,
): BookingRecord {
  const leases = over.leases ?? [lease()];
  return {
    id: 'bk_a',
    requester: 'pr_alice',
    status: 'pending',
    version: 1,
    created_at: T0,
    updated_at: T0,
    plan_id: null,
    payment: {
      method: 'credits',
      model,
      stream,
      epoch_s: model === 'per_epoch' ? 3600 : model === 'per_token' ? 60 : 1,
      rail: 'credits',
    },
    total_cost: leases.reduce((s, l) => s + l.cost, 0),
    settled: 0,
    held: 9_000_000,
    summary: {},
    leases,
    ...over,
  };
}

const opts = (now: number, over: Partial<Parameters<typeof settleBooking>[1]> = {}) => ({
  now,
  usage: elapsedUsage(),
  feeBps: 100,
  available: 0,
  windowS: 3600,
  txId: 'tx_1',
  reason: 'tick' as const,
  ...over,
});

const sum = (u: BookingUpdate | null) => (u?.transaction?.postings ?? []).reduce((s, p) => s + p.amount, 0);
const posting = (u: BookingUpdate | null, account: string) =>
  u?.transaction?.postings.find((p) => p.account === account)?.amount ?? 0;

describe('accrued', () => {
  const rows: [string, PaymentModel, number, number, number][] = [
    // model, seconds, tokens, expected micros
    // per_second: 2 nodes × $1.50 × 90 s / 3600 = $0.075
    ['per_second 90 s', 'per_second', 90, 0, 75_000],
    // per_second is capped at the lease cost ($9.00) even past its hours
    ['per_second past the end', 'per_second', 20_000, 0, 9_000_000],
    // per_epoch (hour): 1 s into the first hour pays the hour: 2 × $1.50 = $3.00
    ['per_epoch first second', 'per_epoch', 1, 0, 3_000_000],
    // 3601 s is two started hours: $6.00
    ['per_epoch second hour', 'per_epoch', 3601, 0, 6_000_000],
  ];
  for (const [name, model, seconds, tokens, want] of rows)
    it(name, () => assert.equal(accrued(booking({}, model), lease(), { seconds, tokens }), want));

  it('per_token: tokens × price per million', () => {
    // 2,500,000 tokens × $0.40 per million = $1.00
    const l = lease({ price_per_million_tokens: 400_000 });
    assert.equal(accrued(booking({}, 'per_token'), l, { seconds: 10, tokens: 2_500_000 }), 1_000_000);
  });
});

describe('settleBooking without streaming', () => {
  it('first tick starts the leases; nothing is posted mid-run', () => {
    const u = settleBooking(booking(), opts(T0 + 1000));
    assert.equal(u?.status, 'active');
    assert.deepEqual(u?.leases, [{ id: 'ls_a', state: 'running' }]);
    assert.equal(u?.transaction, null);
  });

  it('completion pays exactly the quoted cost, takes the fee and releases nothing when fully used', () => {
    const b = booking({ status: 'active', leases: [lease({ state: 'running' })] });
    const u = settleBooking(b, opts(T0 + 3 * H));
    assert.equal(u?.status, 'completed');
    // $9.00 paid: provider gets 99% = $8.91, fees 1% = $0.09; escrow −$9.00.
    assert.equal(posting(u, 'prov:vast'), 8_910_000);
    assert.equal(posting(u, 'fees'), 90_000);
    assert.equal(posting(u, 'escrow:pr_alice'), -9_000_000);
    assert.equal(u?.held_delta, -9_000_000);
    assert.equal(sum(u), 0);
    assert.deepEqual(u?.leases, [
      { id: 'ls_a', state: 'completed', ended_at: T0 + 3 * H, settled_delta: 9_000_000 },
    ]);
  });

  it('cancel after 30 minutes pays the half hour and releases the rest', () => {
    const b = booking({ status: 'active', leases: [lease({ state: 'running' })] });
    const u = settleBooking(b, opts(T0 + H / 2, { reason: 'cancel' }));
    // used: 2 × $1.50 × 1800 / 3600 = $1.50; released $9.00 − $1.50 = $7.50
    assert.equal(u?.status, 'cancelled');
    assert.equal(posting(u, 'req:pr_alice'), 7_500_000);
    assert.equal(posting(u, 'prov:vast') + posting(u, 'fees'), 1_500_000);
    assert.equal(u?.held_delta, -9_000_000);
    assert.equal(u?.leases?.[0]?.state, 'cancelled');
    assert.equal(sum(u), 0);
  });

  it('a tick with nothing to do returns null', () => {
    const b = booking({ status: 'active', leases: [lease({ state: 'running' })] });
    assert.equal(settleBooking(b, opts(T0 + 60_000)), null);
  });
});

describe('settleBooking with streaming', () => {
  // Streaming holds the next hour: rate 2 × $1.50 = $3.00/h.
  const streaming = (over: Partial<BookingRecord> = {}) =>
    booking(
      { status: 'active', held: 3_000_000, leases: [lease({ state: 'running' })], ...over },
      'per_second',
      true,
    );

  it('posts accrued usage each epoch and tops the hold back up to the window', () => {
    const u = settleBooking(streaming(), opts(T0 + 600_000, { available: 100_000_000 }));
    // 600 s: 2 × $1.50 × 600/3600 = $0.50 due. Window: min(remaining $8.50, $3.00) = $3.00.
    // topup = 0.50 + 3.00 − 3.00 held = $0.50; held stays $3.00.
    assert.equal(posting(u, 'req:pr_alice'), -500_000);
    assert.equal(posting(u, 'prov:vast'), 495_000);
    assert.equal(posting(u, 'fees'), 5_000);
    assert.equal(u?.held_delta ?? 0, 0);
    assert.equal(u?.leases?.[0]?.settled_delta, 500_000);
    assert.equal(sum(u), 0);
  });

  it('funds run out: pays what the hold covers, stops the leases, marks the booking overdrawn', () => {
    const b = streaming({ held: 200_000 });
    const u = settleBooking(b, opts(T0 + 600_000, { available: 0 }));
    // $0.50 due, $0.20 held, nothing to top up from: pay $0.20, stop.
    assert.equal(u?.status, 'overdrawn');
    assert.equal(u?.leases?.[0]?.state, 'stopped');
    assert.equal(u?.leases?.[0]?.settled_delta, 200_000);
    assert.equal(u?.held_delta, -200_000);
    assert.equal(sum(u), 0);
  });

  it('per_token streaming bills served tokens', () => {
    const meter = new TokenMeter();
    meter.add('ls_a', 5_000_000);
    const b = booking(
      {
        status: 'active',
        held: 3_000_000,
        leases: [lease({ state: 'running', price_per_million_tokens: 100_000 })],
      },
      'per_token',
      true,
    );
    const u = settleBooking(b, opts(T0 + 120_000, { usage: elapsedUsage(meter), available: 50_000_000 }));
    // 5M tokens × $0.10/M = $0.50 to the provider side.
    assert.equal(posting(u, 'prov:vast') + posting(u, 'fees'), 500_000);
    assert.equal(sum(u), 0);
  });

  it('rejects bad token counts', () => {
    assert.throws(() => new TokenMeter().add('ls', -1), RangeError);
    assert.throws(() => new TokenMeter().add('ls', 0.5), RangeError);
  });
});
