import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, requestHash, validIdempotencyKey } from './idempotency.js';
import { microsToUsd, mulDiv, usdToMicros } from './money.js';
import { createRailRegistry } from './rails.js';
import { parseBookingRequest } from './request.js';

const SPEC_BODY = {
  plan: 'distributed',
  allocations: [
    { provider: 'marketplace_a', gpu_hours: 600, gpu_type: 'TYPE_B' },
    { provider: 'network_b', gpu_hours: 400, cpu_fallback: true },
  ],
  payment: { method: 'STABLE_COIN', stream: true },
};

describe('parseBookingRequest', () => {
  it("accepts the spec's body verbatim", () => {
    const r = parseBookingRequest(SPEC_BODY);
    assert.ok(r.ok);
    assert.equal(r.value.form, 'explicit');
    if (r.value.form !== 'explicit') return;
    assert.deepEqual(r.value.allocations[0], {
      kind: 'provider',
      provider: 'marketplace_a',
      gpu_hours: 600,
      gpu_type: 'TYPE_B',
      cpu_fallback: false,
      nodes: 1,
    });
    assert.equal(r.value.allocations[1]?.kind === 'provider' && r.value.allocations[1].cpu_fallback, true);
    assert.deepEqual(r.value.payment, {
      method: 'STABLE_COIN',
      model: 'per_second',
      stream: true,
      epoch: null,
      price_per_million_tokens_usd: null,
    });
  });

  it('accepts the direct and plan forms', () => {
    const d = parseBookingRequest({ allocations: [{ offer_id: 'of_x', nodes: 2, hours: 1.5 }] });
    assert.ok(d.ok && d.value.form === 'explicit' && d.value.allocations[0]?.kind === 'offer');
    const p = parseBookingRequest({ plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0' });
    assert.ok(p.ok && p.value.form === 'plan');
    const e = parseBookingRequest({
      allocations: [{ offer_id: 'x', hours: 1 }],
      payment: { model: 'per_epoch' },
    });
    assert.ok(e.ok && e.value.payment.epoch === 'hour', 'per_epoch defaults to hourly epochs');
  });

  // Each bad body names the JSON path at fault.
  const bad: [string, unknown, string][] = [
    ['not an object', [], '/'],
    ['unknown top-level field', { allocations: [{ offer_id: 'x', hours: 1 }], colour: 1 }, '/colour'],
    ['no allocations', { plan: 'distributed' }, '/allocations'],
    ['empty allocations', { allocations: [] }, '/allocations'],
    ['allocation not an object', { allocations: [1] }, '/allocations/0'],
    [
      'negative gpu_hours',
      { allocations: [{ provider: 'vast', gpu_hours: -5 }] },
      '/allocations/0/gpu_hours',
    ],
    [
      'gpu_hours a string',
      { allocations: [{ provider: 'vast', gpu_hours: '600' }] },
      '/allocations/0/gpu_hours',
    ],
    ['missing provider', { allocations: [{ gpu_hours: 5 }] }, '/allocations/0/provider'],
    [
      'gpu_type empty',
      { allocations: [{ provider: 'vast', gpu_hours: 5, gpu_type: '' }] },
      '/allocations/0/gpu_type',
    ],
    [
      'cpu_fallback not boolean',
      { allocations: [{ provider: 'vast', gpu_hours: 5, cpu_fallback: 'yes' }] },
      '/allocations/0/cpu_fallback',
    ],
    ['fractional nodes', { allocations: [{ offer_id: 'x', nodes: 1.5, hours: 1 }] }, '/allocations/0/nodes'],
    ['zero hours', { allocations: [{ offer_id: 'x', nodes: 1, hours: 0 }] }, '/allocations/0/hours'],
    [
      'unknown field in offer form',
      { allocations: [{ offer_id: 'x', hours: 1, gpu_hours: 3 }] },
      '/allocations/0/gpu_hours',
    ],
    ['bad plan_id', { plan_id: 'nope' }, '/plan_id'],
    [
      'plan_id with allocations',
      { plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0', allocations: [] },
      '/allocations',
    ],
    ['payment not an object', { plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0', payment: 'card' }, '/payment'],
    [
      'payment.method bad',
      { plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0', payment: { method: 'x y' } },
      '/payment/method',
    ],
    [
      'payment.stream not boolean',
      { plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0', payment: { stream: 1 } },
      '/payment/stream',
    ],
    [
      'payment.model unknown',
      { plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0', payment: { model: 'per_vibe' } },
      '/payment/model',
    ],
    [
      'epoch without per_epoch',
      { plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0', payment: { epoch: 'day' } },
      '/payment/epoch',
    ],
    [
      'token price on per_second',
      { plan_id: 'plan_01jabcdefghjkmnpqrstvwxyz0', payment: { price_per_million_tokens_usd: 1 } },
      '/payment/price_per_million_tokens_usd',
    ],
  ];
  for (const [name, body, param] of bad)
    it(`rejects: ${name}`, () => {
      const r = parseBookingRequest(body);
      assert.ok(!r.ok);
      assert.equal(r.problems[0]?.param, param);
    });
});

describe('money', () => {
  it('converts USD to micros exactly, rounding half away from zero', () => {
    assert.equal(usdToMicros(0.1 + 0.2), 300_000); // binary 0.30000000000000004 is still 300,000 micros
    assert.equal(usdToMicros(2.5), 2_500_000);
    assert.equal(usdToMicros(0.0000005), 1);
    assert.equal(usdToMicros(-0.0000005), -1);
    assert.equal(microsToUsd(1_234_567), 1.234567);
    assert.throws(() => usdToMicros(Number.NaN), RangeError);
    assert.throws(() => usdToMicros(1e13), RangeError);
  });
  it('mulDiv rounds once, exactly', () => {
    // 3 × 1,000,001 / 2 = 1,500,001.5 → 1,500,002
    assert.equal(mulDiv(3, 1_000_001, 2), 1_500_002);
    assert.equal(mulDiv(-3, 1_000_001, 2), -1_500_002);
    // beyond 2^53 in the middle: (2^52) × 4 / 4 is exact in BigInt
    assert.equal(mulDiv(2 ** 52, 4, 4), 2 ** 52);
    assert.throws(() => mulDiv(1, 1, 0), RangeError);
    assert.throws(() => mulDiv(0.5, 1, 1), RangeError);
  });
});

describe('idempotency keys and hashes', () => {
  it('hashes bodies canonically', () => {
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: null }] }), '{"a":[2,{"c":null,"d":1}],"b":1}');
    assert.equal(requestHash({ a: 1, b: 2 }), requestHash({ b: 2, a: 1 }));
    assert.notEqual(requestHash({ a: 1 }), requestHash({ a: 2 }));
  });
  it('validates keys', () => {
    assert.ok(validIdempotencyKey('3f1c9a2e-8d7b-4c1e-9f0a-1b2c3d4e5f60'));
    assert.ok(!validIdempotencyKey(''));
    assert.ok(!validIdempotencyKey('has space'));
    assert.ok(!validIdempotencyKey('x'.repeat(256)));
  });
});

describe('payment rails', () => {
  it('maps every spec method to credits by default, case-insensitively', () => {
    const r = createRailRegistry();
    for (const m of ['STABLE_COIN', 'stable_coin', 'fiat', 'crypto', 'TOKEN_A', 'lightning', 'credits'])
      assert.equal(r.railFor(m)?.name, 'credits', m);
    assert.equal(r.railFor('paypal'), null);
  });
  it('an operator can switch methods off', () => {
    const r = createRailRegistry({ credits: 'credits', fiat: null });
    assert.equal(r.railFor('fiat'), null);
    assert.deepEqual(r.methods(), ['credits']);
    assert.throws(() => createRailRegistry({ fiat: 'stripe' }), /unknown rail stripe/);
  });
});
