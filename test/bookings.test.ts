import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/** POST /book and the ledger routes through the whole gateway on the shipped catalogs (SQLite). */
let t: TestGateway;
let token: string;
before(async () => {
  t = await startTestGateway();
  token = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
});
after(async () => {
  await t.gw.close();
});

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
const auth = () => ({ authorization: `Bearer ${token}` });
let keyN = 0;
const call = (method: 'GET' | 'POST', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  t.gw.app.inject({
    method,
    url,
    headers: { ...auth(), ...headers },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
const credit = async (usd: number) => {
  const r = await call(
    'POST',
    '/accounts/pr_operator/credit',
    { amount_usd: usd },
    { 'idempotency-key': `credit-${++keyN}` },
  );
  assert.equal(r.statusCode, 201, r.body);
};
const account = async () => (await call('GET', '/accounts/me')).json() as Json;
const offerWith = async (q: string, sort = 'price_asc'): Promise<Offer> => {
  const r = await t.gw.app.inject({ method: 'GET', url: `/nodes?${q}&sort=${sort}&limit=1` });
  const o = (r.json() as { offers: Offer[] }).offers[0];
  assert.ok(o, `an offer for ${q}`);
  return o;
};
const verifyOk = async () => {
  const v = (await call('GET', '/ledger/verify')).json() as Json;
  assert.deepEqual(v, { ok: true, violations: [] });
};

const SPEC_BODY = {
  plan: 'distributed',
  allocations: [
    { provider: 'marketplace_a', gpu_hours: 600, gpu_type: 'TYPE_B' },
    { provider: 'network_b', gpu_hours: 400, cpu_fallback: true },
  ],
  payment: { method: 'STABLE_COIN', stream: true },
};

describe("POST /book with the spec's body", () => {
  test('401 without a principal', async () => {
    const r = await t.gw.app.inject({ method: 'POST', url: '/book', payload: SPEC_BODY });
    assert.equal(r.statusCode, 401);
  });

  test('books as written, with the fields the spec prints as numbers', async () => {
    await credit(5000);
    const r = await call('POST', '/book', SPEC_BODY);
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json() as Json;
    assert.match(b.booking_id, /^bk_/);
    assert.equal(r.headers.location, `/bookings/${b.booking_id}`);
    assert.equal(b.total_gpu_hours, 1000); // 600 + 400, as the spec's console.log prints
    assert.equal(typeof b.total_cost, 'number');
    assert.equal(typeof b.savings_percent, 'number');
    assert.equal(b.currency, 'USD');
    assert.equal(b.status, 'pending');
    assert.equal(b.payment.method, 'STABLE_COIN');
    assert.equal(b.payment.rail, 'credits');
    assert.equal(b.payment.stream, true);
    assert.equal(b.allocations.length, 2);
    const [a0, a1] = b.allocations as Json[];
    // marketplace_a is the cheapest p2p marketplace with a GPU_TYPE_B (RTX 4090) offer.
    assert.equal(a0?.gpu_model, 'RTX4090');
    assert.equal(a0?.gpu_type, 'TYPE_B');
    assert.equal(a0?.state, 'pending');
    // Each allocation's cost is nodes × hours × node price, and they add up to total_cost.
    let sum = 0;
    for (const a of b.allocations as Json[]) {
      assert.ok(
        Math.abs(a.cost_usd - a.nodes * a.hours * a.price_per_node_hour_usd) < 1e-5,
        JSON.stringify(a),
      );
      sum += a.cost_usd;
    }
    assert.ok(Math.abs(sum - b.total_cost) < 1e-6);
    assert.ok(a1?.provider, 'network_b resolved to a real provider');
    // Streaming holds one hour of the booking's rate, not the whole cost.
    const rate = (b.allocations as Json[]).reduce((s, a) => s + a.nodes * a.price_per_node_hour_usd, 0);
    assert.ok(
      Math.abs(b.payment.held_usd - Math.min(b.total_cost, rate)) < 1e-5,
      `${b.payment.held_usd} vs ${rate}`,
    );
    const acc = await account();
    assert.ok(Math.abs(acc.held_usd - b.payment.held_usd) < 1e-6);
    await verifyOk();
  });
});

describe('POST /book by offer id', () => {
  test('reserves capacity: /nodes shows the provider figure minus reservations; cancel releases it', async () => {
    const o = await offerWith('resource_type=GPU_A&min_available=3');
    const before = o.available;
    await credit(10_000);
    const bal0 = (await account()).balance_usd;
    const r = await call('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 2, hours: 1.5 }] });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json() as Json;
    // Without streaming the whole cost is held: 2 nodes × 1.5 h × node price.
    const cost = Math.round(2 * 1.5 * o.price_per_hour * 1e6) / 1e6;
    assert.ok(Math.abs(b.total_cost - cost) < 2e-6, `${b.total_cost} vs ${cost}`);
    assert.equal(b.payment.held_usd, b.total_cost);
    await new Promise((res) => setImmediate(res)); // capacity events are delivered after commit
    const after = (await t.gw.app.inject({ method: 'GET', url: `/nodes/${o.id}` })).json() as Offer;
    assert.equal(after.available, before - 2);
    assert.ok(Math.abs((await account()).balance_usd - (bal0 - b.total_cost)) < 1e-6);

    const got = await call('GET', `/bookings/${b.booking_id}`);
    assert.equal(got.statusCode, 200);
    assert.equal((got.json() as Json).booking_id, b.booking_id);
    const list = (await call('GET', '/bookings?limit=100')).json() as Json;
    assert.ok((list.bookings as Json[]).some((x) => x.booking_id === b.booking_id));

    t.clock.advance(30 * 60_000); // 30 minutes used
    const c = await call('POST', `/bookings/${b.booking_id}/cancel`);
    assert.equal(c.statusCode, 200, c.body);
    const cb = c.json() as Json;
    assert.equal(cb.status, 'cancelled');
    // Paid: 2 nodes × 0.5 h × price; the rest of the hold went back.
    assert.ok(Math.abs(cb.settled_usd - Math.round(2 * 0.5 * o.price_per_hour * 1e6) / 1e6) < 2e-6);
    assert.equal(cb.held_usd, 0);
    await new Promise((res) => setImmediate(res));
    const restored = (await t.gw.app.inject({ method: 'GET', url: `/nodes/${o.id}` })).json() as Offer;
    assert.equal(restored.available, before);
    assert.ok(Math.abs((await account()).balance_usd - (bal0 - cb.settled_usd)) < 1e-6);
    // Cancelling again returns the cancelled booking; nothing moves.
    const again = await call('POST', `/bookings/${b.booking_id}/cancel`);
    assert.equal(again.statusCode, 200);
    assert.equal((again.json() as Json).settled_usd, cb.settled_usd);
    await verifyOk();
  });

  test('settlement runs the booking to completion and pays the provider less the fee', async () => {
    const o = await offerWith('resource_type=GPU_B&min_available=1');
    await credit(100);
    const r = await call('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 2 }] });
    assert.equal(r.statusCode, 201, r.body);
    const id = (r.json() as Json).booking_id as string;
    await t.gw.ledger.service.settleDue();
    assert.equal(((await call('GET', `/bookings/${id}`)).json() as Json).status, 'active');
    t.clock.advance(2 * 3_600_000);
    await t.gw.ledger.service.settleDue();
    const done = (await call('GET', `/bookings/${id}`)).json() as Json;
    assert.equal(done.status, 'completed');
    assert.equal(done.settled_usd, done.total_cost);
    assert.equal(done.allocations[0].state, 'completed');
    // 1% fee: the provider gets 99% of the cost (micros), the operator's fee account 1%.
    const entries = await t.gw.store.ledger.listEntries(`prov:${o.provider}`, { limit: 1000 });
    const toProvider = entries.filter((e) => e.booking_id === id).reduce((s, e) => s + e.amount, 0);
    const paid = Math.round(done.total_cost * 1e6);
    assert.equal(toProvider, paid - Math.round(paid / 100));
    // A completed booking cannot be cancelled.
    const c = await call('POST', `/bookings/${id}/cancel`);
    assert.equal(c.statusCode, 409);
    await verifyOk();
  });

  test('MessagePack replies for bookings', async () => {
    const list = await call('GET', '/bookings?limit=1', undefined, { accept: 'application/msgpack' });
    assert.equal(list.statusCode, 200);
    const v = decode(list.rawPayload) as Json;
    assert.ok(Array.isArray(v.bookings));
  });
});

describe('POST /book from a plan', () => {
  test('books at the quoted prices while the plan holds, 409 after it expires', async () => {
    const p = await t.gw.app.inject({
      method: 'POST',
      url: '/orchestrate',
      payload: { workload: { type: 'training', compute_hours: 20 }, constraints: { max_price_per_hour: 3 } },
    });
    assert.equal(p.statusCode, 201, p.body);
    const plan = p.json() as Json;
    await credit(Math.ceil(plan.total_cost_usd) + 10);
    const r = await call('POST', '/book', { plan_id: plan.plan_id });
    assert.equal(r.statusCode, 201, r.body);
    const b = r.json() as Json;
    assert.equal(b.plan_id, plan.plan_id);
    assert.equal(b.savings_percent, plan.savings_percent);
    assert.ok(
      Math.abs(b.total_cost - plan.total_cost_usd) < 0.01,
      `${b.total_cost} vs ${plan.total_cost_usd}`,
    );
    for (const [i, a] of (b.allocations as Json[]).entries())
      assert.equal(a.price_per_node_hour_usd, plan.allocations[i].price_per_node_hour_usd);

    t.clock.set(Date.parse(plan.expires_at));
    const late = await call('POST', '/book', { plan_id: plan.plan_id });
    assert.equal(late.statusCode, 409);
    assert.equal((late.json() as Json).code, 'plan_expired');
    const gone = await call('POST', '/book', { plan_id: 'plan_00000000000000000000000000' });
    assert.equal(gone.statusCode, 404);
  });
});

describe('Idempotency-Key', () => {
  test('same key and body: the same booking, once; another body: 422', async () => {
    const o = await offerWith('resource_type=GPU_B&min_available=2');
    await credit(50);
    const body = { allocations: [{ offer_id: o.id, nodes: 1, hours: 0.5 }] };
    const h = { 'idempotency-key': 'book-once-1' };
    const first = await call('POST', '/book', body, h);
    assert.equal(first.statusCode, 201, first.body);
    const bal = (await account()).balance_usd;
    const second = await call('POST', '/book', body, h);
    assert.equal(second.statusCode, 201);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal((second.json() as Json).booking_id, (first.json() as Json).booking_id);
    assert.equal((await account()).balance_usd, bal, 'no second hold');
    const other = await call('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 1 }] }, h);
    assert.equal(other.statusCode, 422);
    assert.equal((other.json() as Json).param, 'Idempotency-Key');
    const bad = await call('POST', '/book', body, { 'idempotency-key': 'has space' });
    assert.equal(bad.statusCode, 400);
  });
});

describe('POST /book refusals', () => {
  test('402 when funds are short; nothing is reserved or held', async () => {
    const o = await offerWith('resource_type=GPU_A&min_available=1', 'price_desc');
    const acc = await account();
    // The dearest GPU_A node for 8,000 hours costs far more than the account holds.
    assert.ok(o.price_per_hour * 8000 > acc.balance_usd + 1000);
    const r = await call('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 8000 }] });
    assert.equal(r.statusCode, 402, r.body);
    assert.equal(r.headers['content-type'], 'application/problem+json; charset=utf-8');
    const after = await account();
    assert.equal(after.balance_usd, acc.balance_usd);
    assert.equal(after.held_usd, acc.held_usd);
    assert.equal(t.gw.market.reservedNodes(o.id), 0);
  });

  test('409 when an offer has fewer nodes free than asked', async () => {
    const o = await offerWith('resource_type=GPU_A&min_available=1');
    const r = await call('POST', '/book', {
      allocations: [{ offer_id: o.id, nodes: o.available + 1, hours: 1 }],
    });
    assert.equal(r.statusCode, 409, r.body);
    assert.equal((r.json() as Json).code, 'sold_out');
  });

  // Each bad body is a 400 (or 404/422) naming the field, never a 5xx.
  const rows: [string, unknown, number, string][] = [
    ['garbage', 'not json at all', 400, ''],
    ['no allocations', { plan: 'distributed' }, 400, '/allocations'],
    [
      'negative gpu_hours',
      { allocations: [{ provider: 'vast', gpu_hours: -1 }] },
      400,
      '/allocations/0/gpu_hours',
    ],
    [
      'unknown provider',
      { allocations: [{ provider: 'nobody_real', gpu_hours: 10 }] },
      404,
      '/allocations/0/provider',
    ],
    [
      'unknown gpu_type',
      { allocations: [{ provider: 'aws', gpu_hours: 10, gpu_type: 'QUANTUM9000' }] },
      422,
      '/allocations/0/gpu_type',
    ],
    [
      'unknown offer',
      { allocations: [{ offer_id: 'of_nope', nodes: 1, hours: 1 }] },
      404,
      '/allocations/0/offer_id',
    ],
    [
      'unmapped payment method',
      { allocations: [{ offer_id: 'x', nodes: 1, hours: 1 }], payment: { method: 'paypal' } },
      422,
      '/payment/method',
    ],
  ];
  for (const [name, body, status, param] of rows)
    test(`${status}: ${name}`, async () => {
      const r = await call(
        'POST',
        '/book',
        body,
        typeof body === 'string' ? { 'content-type': 'application/json' } : {},
      );
      assert.equal(r.statusCode, status, r.body);
      assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      if (param) assert.equal((r.json() as Json).param, param);
    });
});

describe('accounts and credits', () => {
  test('credits are idempotent by key; bad credits name the field', async () => {
    const h = { 'idempotency-key': 'deposit-42' };
    const a = await call('POST', '/accounts/pr_someone/credit', { amount_usd: 12.5 }, h);
    assert.equal(a.statusCode, 201, a.body);
    assert.equal((a.json() as Json).balance_usd, 12.5);
    const again = await call('POST', '/accounts/pr_someone/credit', { amount_usd: 12.5 }, h);
    assert.equal(again.statusCode, 200);
    assert.equal((again.json() as Json).replayed, true);
    assert.equal((again.json() as Json).balance_usd, 12.5);
    const clash = await call('POST', '/accounts/pr_someone/credit', { amount_usd: 99 }, h);
    assert.equal(clash.statusCode, 422);
    const noKey = await call('POST', '/accounts/pr_someone/credit', { amount_usd: 1 });
    assert.equal(noKey.statusCode, 400);
    assert.equal((noKey.json() as Json).param, 'Idempotency-Key');
    for (const [body, param] of [
      [{ amount_usd: -1 }, '/amount_usd'],
      [{ amount_usd: '5' }, '/amount_usd'],
      [{ amount_usd: 5, colour: 'red' }, '/colour'],
    ] as const) {
      const r = await call('POST', '/accounts/pr_someone/credit', body, {
        'idempotency-key': `k-${param}-${JSON.stringify(body)}`,
      });
      assert.equal(r.statusCode, 400, r.body);
      assert.equal((r.json() as Json).param, param);
    }
    const badId = await call(
      'POST',
      '/accounts/prov:vast/credit',
      { amount_usd: 1 },
      { 'idempotency-key': 'x1' },
    );
    assert.equal(badId.statusCode, 400);
  });

  test('transactions page by cursor, newest first', async () => {
    const first = (await call('GET', '/accounts/me/transactions?limit=2')).json() as Json;
    assert.equal(first.transactions.length, 2);
    assert.ok(first.next_cursor);
    const second = (
      await call('GET', `/accounts/me/transactions?limit=2&cursor=${first.next_cursor}`)
    ).json() as Json;
    assert.ok(second.transactions[0].seq < first.transactions[1].seq);
    const bad = await call('GET', '/accounts/me/transactions?cursor=abc');
    assert.equal(bad.statusCode, 400);
    const badLimit = await call('GET', '/bookings?limit=0');
    assert.equal(badLimit.statusCode, 400);
    assert.equal((badLimit.json() as Json).param, 'limit');
    const badCursor = await call('GET', '/bookings?cursor=nope');
    assert.equal(badCursor.statusCode, 400);
    assert.equal((badCursor.json() as Json).param, 'cursor');
    // Bookings page newest first, each page after the previous one's last id, none repeated.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (
        await call('GET', `/bookings?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json() as Json;
      seen.push(...(page.bookings as Json[]).map((b) => b.booking_id as string));
      cursor = page.next_cursor;
    } while (cursor);
    const all = ((await call('GET', '/bookings?limit=100')).json() as Json).bookings.map(
      (b: Json) => b.booking_id,
    );
    assert.deepEqual(seen, all);
    assert.ok(seen.length >= 3);
    assert.deepEqual([...seen].sort().reverse(), seen);
    const anon = await t.gw.app.inject({ method: 'GET', url: '/accounts/me' });
    assert.equal(anon.statusCode, 401);
    const anonVerify = await t.gw.app.inject({ method: 'GET', url: '/ledger/verify' });
    assert.equal(anonVerify.statusCode, 401);
  });
});
