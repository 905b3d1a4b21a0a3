import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/** Bookings over time: streaming settlement, overdraw, a quote that sold out, a switched-off method. */
let t: TestGateway;
let token: string;
const ALICE = 'cmd_test_alice_token';
before(async () => {
  // Streaming holds cover 10 minutes here, so a small balance runs out within the test.
  t = await startTestGateway((c) => {
    // A requester principal besides the operator (the first start adds the operator to the file).
    const hash = createHash('sha256').update(ALICE).digest('hex');
    writeFileSync(
      join(c.data_dir, 'principals.json'),
      JSON.stringify([
        {
          id: 'pr_alice',
          role: 'requester',
          name: 'alice',
          token_sha256: hash,
          created_at: '2026-11-25T00:00:00Z',
        },
      ]),
    );
    c.ledger.hold_window_s = 600;
    c.ledger.payment_methods = { credits: 'credits', STABLE_COIN: 'credits', fiat: null };
  });
  token = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
});
after(async () => {
  await t.gw.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
let n = 0;
const call = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  t.gw.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...headers },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
const credit = async (id: string, usd: number) => {
  const r = await call(
    'POST',
    `/accounts/${id}/credit`,
    { amount_usd: usd },
    { 'idempotency-key': `c-${++n}` },
  );
  assert.equal(r.statusCode, 201, r.body);
};
const cheapest = async (q: string): Promise<Offer> => {
  const r = await t.gw.app.inject({ method: 'GET', url: `/nodes?${q}&sort=price_asc&limit=1` });
  return (r.json() as { offers: Offer[] }).offers[0] as Offer;
};
const verifyOk = async () =>
  assert.deepEqual((await call('GET', '/ledger/verify')).json(), { ok: true, violations: [] });

describe('streaming settlement', () => {
  test('funds run out: what was covered is paid, leases stop, capacity returns, booking overdrawn', async () => {
    const o = await cheapest('resource_type=GPU_A&min_available=1');
    // Enough for the first 10-minute hold plus 5 more minutes, not for the 10 hours booked.
    const tenMin = (o.price_per_hour * 600) / 3600;
    const fiveMin = tenMin / 2;
    const acc0 = (await call('GET', '/accounts/me')).json() as Json;
    assert.equal(acc0.balance_usd, 0);
    await credit('pr_operator', Math.round((tenMin + fiveMin) * 1e6) / 1e6);
    const r = await call('POST', '/book', {
      allocations: [{ offer_id: o.id, nodes: 1, hours: 10 }],
      payment: { method: 'STABLE_COIN', stream: true },
    });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json() as Json;
    assert.ok(Math.abs(b.payment.held_usd - tenMin) < 2e-6, `${b.payment.held_usd} vs ${tenMin}`);
    assert.equal(t.gw.market.reservedNodes(o.id), 1);

    // 5 minutes: $due posted from the hold, the hold topped back up to 10 minutes ahead.
    await t.gw.ledger.service.settleDue();
    t.clock.advance(5 * 60_000);
    await t.gw.ledger.service.settleDue();
    let now = (await call('GET', `/bookings/${b.booking_id}`)).json() as Json;
    assert.equal(now.status, 'active');
    assert.ok(Math.abs(now.settled_usd - fiveMin) < 2e-6, `settled ${now.settled_usd} vs ${fiveMin}`);
    assert.ok(Math.abs(now.held_usd - tenMin) < 2e-6, `held ${now.held_usd}`);

    // 30 minutes in, only 15 minutes were ever funded: overdrawn, stopped, released.
    t.clock.advance(25 * 60_000);
    await t.gw.ledger.service.settleDue();
    now = (await call('GET', `/bookings/${b.booking_id}`)).json() as Json;
    assert.equal(now.status, 'overdrawn');
    assert.equal(now.allocations[0].state, 'stopped');
    assert.equal(now.held_usd, 0);
    assert.ok(Math.abs(now.settled_usd - (tenMin + fiveMin)) < 2e-6, `paid ${now.settled_usd}`);
    const acc = (await call('GET', '/accounts/me')).json() as Json;
    assert.ok(Math.abs(acc.balance_usd) < 1e-6 && acc.held_usd === 0, JSON.stringify(acc));
    await new Promise((res) => setImmediate(res));
    assert.equal(t.gw.market.reservedNodes(o.id), 0);
    // An overdrawn booking is final.
    assert.equal((await call('POST', `/bookings/${b.booking_id}/cancel`)).statusCode, 409);
    await verifyOk();
  });
});

describe('quotes and methods', () => {
  test('a plan whose offer sold out: 409 with a fresh plan id that books', async () => {
    const p = await t.gw.app.inject({
      method: 'POST',
      url: '/orchestrate',
      payload: { workload: { type: 'training', compute_hours: 4 }, constraints: { max_price_per_hour: 5 } },
    });
    assert.equal(p.statusCode, 201, p.body);
    const plan = p.json() as Json;
    const first = plan.allocations[0] as Json;
    const offer = (await t.gw.app.inject({ method: 'GET', url: `/nodes/${first.offer_id}` })).json() as Offer;
    await credit('pr_operator', 1_000_000);
    // Someone books every free node of the plan's first offer.
    const take = await call('POST', '/book', {
      allocations: [{ offer_id: offer.id, nodes: offer.available, hours: 0.1 }],
    });
    assert.equal(take.statusCode, 201, take.body);
    const r = await call('POST', '/book', { plan_id: plan.plan_id });
    assert.equal(r.statusCode, 409, r.body);
    const prob = r.json() as Json;
    assert.equal(prob.code, 'sold_out');
    assert.match(prob.fresh_plan_id, /^plan_/);
    assert.notEqual(prob.fresh_plan_id, plan.plan_id);
    const fresh = await call('POST', '/book', { plan_id: prob.fresh_plan_id });
    assert.equal(fresh.statusCode, 201, fresh.body);
    await verifyOk();
  });

  test('a method the operator switched off is a 422 listing the accepted ones', async () => {
    const o = await cheapest('resource_type=GPU_B&min_available=1');
    const r = await call('POST', '/book', {
      allocations: [{ offer_id: o.id, nodes: 1, hours: 1 }],
      payment: { method: 'fiat' },
    });
    assert.equal(r.statusCode, 422, r.body);
    const prob = r.json() as Json;
    assert.equal(prob.param, '/payment/method');
    assert.deepEqual(prob.accepted_methods, ['credits', 'STABLE_COIN']);
  });

  test('per_epoch bookings pay each started hour; a cancel inside the first hour pays that hour', async () => {
    const o = await cheapest('resource_type=GPU_B&min_available=1');
    const r = await call('POST', '/book', {
      allocations: [{ offer_id: o.id, nodes: 1, hours: 3 }],
      payment: { model: 'per_epoch', epoch: 'hour' },
    });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json() as Json;
    assert.equal(b.payment.epoch_s, 3600);
    t.clock.advance(60_000);
    const c = (await call('POST', `/bookings/${b.booking_id}/cancel`)).json() as Json;
    assert.equal(c.status, 'cancelled');
    assert.ok(
      Math.abs(c.settled_usd - o.price_per_hour) < 2e-6,
      `${c.settled_usd} vs one hour ${o.price_per_hour}`,
    );
    await verifyOk();
  });
});

describe('who may do what', () => {
  const asAlice = (
    method: 'GET' | 'POST',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    t.gw.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ALICE}`, ...headers },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });

  test("a requester cannot credit, verify, or see another principal's booking; it books from its own account", async () => {
    const denied = await asAlice(
      'POST',
      '/accounts/pr_alice/credit',
      { amount_usd: 100 },
      { 'idempotency-key': 'alice-1' },
    );
    assert.equal(denied.statusCode, 403, denied.body);
    assert.equal((await asAlice('GET', '/ledger/verify')).statusCode, 403);
    const me = (await asAlice('GET', '/accounts/me')).json() as Json;
    assert.deepEqual([me.id, me.balance_usd, me.held_usd], ['req:pr_alice', 0, 0]);
    const o = await cheapest('resource_type=GPU_B&min_available=1');
    const broke = await asAlice('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 1 }] });
    assert.equal(broke.statusCode, 402, broke.body);
    await credit('pr_alice', 10);
    const ok = await asAlice('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 1 }] });
    assert.equal(ok.statusCode, 201, ok.body);
    const id = (ok.json() as Json).booking_id as string;
    assert.equal((ok.json() as Json).requester, 'pr_alice');
    // The operator sees every booking; another requester's list does not include it.
    assert.equal((await call('GET', `/bookings/${id}`)).statusCode, 200);
    const mine = (await call('GET', '/bookings?limit=100')).json() as Json;
    assert.ok(!(mine.bookings as Json[]).some((b) => b.booking_id === id));
    const opBooking = (mine.bookings as Json[])[0]?.booking_id as string;
    assert.equal((await asAlice('GET', `/bookings/${opBooking}`)).statusCode, 404);
    assert.equal((await asAlice('POST', `/bookings/${opBooking}/cancel`)).statusCode, 404);
    await verifyOk();
  });
});

describe('the market view of reservations', () => {
  test('a failed re-read after a booking is repaired by the next capacity event', async () => {
    const a = await cheapest('resource_type=GPU_A&min_available=2');
    const b = await cheapest('resource_type=GPU_B&min_available=2');
    await credit('pr_operator', 10_000);
    const ledger = t.gw.store.ledger;
    const real = ledger.reserved.bind(ledger);
    let failures = 1;
    ledger.reserved = (ids) =>
      failures-- > 0 ? Promise.reject(new Error('database unreachable')) : real(ids);
    try {
      const before = t.gw.market.reservedNodes(a.id);
      const r1 = await call('POST', '/book', { allocations: [{ offer_id: a.id, nodes: 1, hours: 0.1 }] });
      assert.equal(r1.statusCode, 201, r1.body);
      await new Promise((res) => setImmediate(res));
      assert.equal(t.gw.market.reservedNodes(a.id), before, 'the failed re-read left offer a stale');
      const r2 = await call('POST', '/book', { allocations: [{ offer_id: b.id, nodes: 1, hours: 0.1 }] });
      assert.equal(r2.statusCode, 201, r2.body);
      await new Promise((res) => setImmediate(res));
      assert.equal(t.gw.market.reservedNodes(a.id), before + 1, 'the next event re-read every reservation');
      assert.equal(t.gw.market.reservedNodes(b.id), await real([b.id]).then((m) => m.get(b.id)));
    } finally {
      ledger.reserved = real;
    }
  });
});
