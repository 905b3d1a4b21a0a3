import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * The database failing in the middle of a request (a full disk, a dropped connection): the client
 * gets a 500 problem+json that says so, nothing half-written stays behind, and the next request
 * works. The failure is real in the sense that matters here: the store method the service calls
 * throws, as a driver does, after the request has been validated and priced.
 */
let t: TestGateway;
let admin: string;
before(async () => {
  t = await startTestGateway();
  admin = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
});
after(async () => {
  await t.gw.close();
});

const call = async (method: 'GET' | 'POST', url: string, payload?: unknown, key?: string) => {
  const r = await t.gw.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${admin}`, ...(key ? { 'idempotency-key': key } : {}) },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return {
    status: r.statusCode,
    type: String(r.headers['content-type']),
    body: r.json() as Record<string, unknown>,
  };
};

/** Replaces one method of an object until the returned function is called. */
function failing<T extends object, K extends keyof T>(obj: T, key: K): () => void {
  const original = obj[key];
  (obj as Record<K, unknown>)[key] = async () => {
    throw new Error('SQLITE_FULL: database or disk is full');
  };
  return () => {
    (obj as Record<K, unknown>)[key] = original;
  };
}

describe('a store failing mid-request', () => {
  it('POST /book: 500 problem+json, nothing booked or held, and the same key then books', async () => {
    assert.equal(
      (await call('POST', '/accounts/pr_operator/credit', { amount_usd: 100 }, 'sf-credit')).status,
      201,
    );
    const offer = (await call('GET', '/nodes?min_available=1&sort=price_asc&limit=1')).body.offers as Offer[];
    const o = offer[0] as Offer;
    const before = (await call('GET', '/accounts/me')).body;
    const restore = failing(t.gw.store.ledger, 'createBooking');
    const r = await call(
      'POST',
      '/book',
      { allocations: [{ offer_id: o.id, nodes: 1, hours: 0.1 }] },
      'sf-book',
    );
    restore();
    assert.equal(r.status, 500);
    assert.match(r.type, /^application\/problem\+json/);
    assert.equal(r.body.type, 'https://computemd.dev/problems/internal');
    assert.ok(!JSON.stringify(r.body).includes('SQLITE_FULL'), 'the driver error stays in the log');
    assert.deepEqual((await call('GET', '/accounts/me')).body, before);
    assert.equal(((await call('GET', '/bookings')).body.bookings as unknown[]).length, 0);
    assert.equal(t.gw.market.reservedNodes(o.id), 0);
    // The key was never stored with the failure: the retry books.
    const again = await call(
      'POST',
      '/book',
      { allocations: [{ offer_id: o.id, nodes: 1, hours: 0.1 }] },
      'sf-book',
    );
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.deepEqual((await call('GET', '/ledger/verify')).body, { ok: true, violations: [] });
  });

  it('POST /orchestrate: 500 problem+json when the plan cannot be stored, and no plan exists', async () => {
    const restore = failing(t.gw.store.plans, 'insert');
    const r = await call('POST', '/orchestrate', { workload: { type: 'training', compute_hours: 2 } });
    restore();
    assert.equal(r.status, 500);
    assert.equal(r.body.type, 'https://computemd.dev/problems/internal');
    const ok = await call('POST', '/orchestrate', { workload: { type: 'training', compute_hours: 2 } });
    assert.equal(ok.status, 201);
  });

  it('a settlement pass that fails leaves every booking as it was, and the next pass settles', async () => {
    const o = (
      (await call('GET', '/nodes?min_available=1&sort=price_asc&limit=1')).body.offers as Offer[]
    )[0] as Offer;
    const b = await call(
      'POST',
      '/book',
      { allocations: [{ offer_id: o.id, nodes: 1, hours: 1 }], payment: { method: 'credits', stream: true } },
      'sf-stream',
    );
    assert.equal(b.status, 201, JSON.stringify(b.body));
    await t.gw.ledger.service.settleDue();
    t.clock.advance(10 * 60_000);
    const restore = failing(t.gw.store.ledger, 'applyBookingUpdate');
    await assert.rejects(t.gw.ledger.service.settleDue(), /SQLITE_FULL/);
    restore();
    const mid = (await call('GET', `/bookings/${b.body.booking_id}`)).body;
    assert.equal(mid.settled_usd, 0);
    await t.gw.ledger.service.settleDue();
    const after1 = (await call('GET', `/bookings/${b.body.booking_id}`)).body;
    assert.ok((after1.settled_usd as number) > 0);
    assert.deepEqual((await call('GET', '/ledger/verify')).body, { ok: true, violations: [] });
  });
});
