import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Offer } from '../src/protocol/schemas/offer.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

/**
 * Leases on modelled capacity (catalog providers) get the seeded simulated driver (issue 6, part
 * 6): they walk the same state machine on a modelled timeline, say so (`simulated: true`, reasons
 * starting "modelled:"), carry no receipt, and a modelled preemption fails over like a real one.
 * The clock is moved by hand and the runtime's pass is run by hand.
 */

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
let t: TestGateway;
let admin: string;

const call = async (method: string, url: string, payload?: unknown) => {
  const r = await t.gw.app.inject({
    method: method as 'GET',
    url,
    headers: { authorization: `Bearer ${admin}`, 'idempotency-key': `k${Math.random()}` },
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  return { status: r.statusCode, body: (r.body ? r.json() : null) as Json };
};

before(async () => {
  t = await startTestGateway();
  admin = readFileSync(join(t.dataDir, 'admin.token'), 'utf8').trim();
  assert.equal((await call('POST', '/accounts/pr_operator/credit', { amount_usd: 100_000 })).status, 201);
});
after(async () => {
  await t.gw.close();
});

async function offer(q: string): Promise<Offer> {
  const o = (await call('GET', `/nodes?min_available=1&sort=price_asc&limit=1&${q}`)).body.offers[0];
  assert.ok(o, `an offer for ${q}`);
  return o;
}

async function advance(ms: number) {
  t.clock.advance(ms);
  await t.gw.runtime.step();
}

describe('a lease on a catalog provider', () => {
  it('walks pending → provisioning → running → an end on its modelled timeline, marked simulated, with no receipt', async () => {
    const o = await offer('provider_type=traditional_cloud&interruptible=false&resource_type=GPU_A');
    const b = await call('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 1 }] });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const id = b.body.allocations[0].lease_id as string;
    let l = (await call('GET', `/leases/${id}`)).body;
    assert.equal(l.state, 'pending');
    assert.equal(l.simulated, true);
    assert.equal(l.driver, 'simulated');
    await advance(0);
    assert.equal((await call('GET', `/leases/${id}`)).body.state, 'provisioning');
    await advance(5 * 60_000); // cloud start-up is modelled at one to two minutes
    assert.equal((await call('GET', `/leases/${id}`)).body.state, 'running');
    await advance(2 * 3_600_000);
    l = (await call('GET', `/leases/${id}`)).body;
    assert.ok(['completed', 'failed'].includes(l.state), l.state);
    assert.deepEqual(
      l.history.map((h: Json) => h.to),
      ['provisioning', 'running', l.state],
    );
    assert.ok(l.history.every((h: Json) => h.reason.startsWith('modelled:')));
    assert.equal(l.receipt_id, null);
    assert.equal((await call('GET', `/leases/${id}/receipt`)).status, 404);
    await t.gw.ledger.service.settleDue();
    assert.ok(['completed'].includes((await call('GET', `/bookings/${b.body.booking_id}`)).body.status));
    assert.deepEqual((await call('GET', '/ledger/verify')).body, { ok: true, violations: [] });
  });

  it('a modelled preemption of interruptible capacity fails over to another offer of the class', async () => {
    const o = await offer('interruptible=true&resource_type=GPU_A');
    // Long enough that the modelled hazard reclaims it: preemption is near certain in 200 hours.
    const b = await call('POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 200 }] });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    const id = b.body.allocations[0].lease_id as string;
    for (let h = 0; h < 200; h += 5) {
      await advance(5 * 3_600_000);
      if ((await call('GET', `/leases/${id}`)).body.state !== 'running') break;
    }
    const l = (await call('GET', `/leases/${id}`)).body;
    assert.equal(l.state, 'preempted', JSON.stringify(l.history));
    assert.match(l.history.at(-1).reason, /modelled: the spot capacity was reclaimed/);
    assert.ok(l.replaced_by, 'a replacement was booked');
    const next = (await call('GET', `/leases/${l.replaced_by}`)).body;
    assert.equal(next.replaces, id);
    assert.equal(next.attempt, 2);
    assert.notEqual(next.provider, l.provider);
    const attempts = (await call('GET', `/bookings/${b.body.booking_id}`)).body.attempts as Json[];
    assert.deepEqual(
      attempts.map((a) => a.id),
      [id, l.replaced_by],
    );
    await t.gw.ledger.service.settleDue();
    assert.deepEqual((await call('GET', '/ledger/verify')).body, { ok: true, violations: [] });
  });
});
