import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../src/config/schema.js';
import { httpCall, type ListeningGateway, listenTestGateway, onBothBackends } from './helpers/gateway.js';

/**
 * Issue 5's budget check: 100 concurrent POST /book over real HTTP with one delegated token whose
 * max_spend_usd is $50. The bookings together never commit more than $50, whatever the order; the
 * refused ones are 403 with the caveat's problem type; and a child token's spend counts against
 * its parent's budget too. Once on SQLite, once on PostgreSQL in a fresh schema.
 */

const REQUESTS = 100;
const BUDGET = 50;

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;

function budgetContention(
  backend: string,
  select: () => { apply: (c: GatewayConfig) => void; cleanup: () => Promise<void> },
) {
  describe(`budget contention on ${backend}`, () => {
    let g: ListeningGateway;
    let admin: string;
    let cleanup: () => Promise<void> = async () => {};
    before(async () => {
      const e = select();
      cleanup = e.cleanup;
      g = await listenTestGateway(e.apply);
      admin = g.admin;
    });
    after(async () => {
      await g?.close();
      await cleanup();
    });
    const call = (
      token: string,
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => httpCall(g.base, token, method, path, body, headers);
    const micros = (usd: number) => Math.round(usd * 1e6);

    it(`${REQUESTS} concurrent bookings under a $${BUDGET} token never commit more than $${BUDGET}`, async () => {
      const p = await call(admin, 'POST', '/principals', { role: 'requester', name: 'spender' });
      assert.equal(p.status, 201);
      const key = p.body.api_key.key as string;
      const pid = p.body.principal.id as string;
      const c = await call(
        admin,
        'POST',
        `/accounts/${pid}/credit`,
        { amount_usd: 10_000 },
        { 'idempotency-key': 'budget' },
      );
      assert.equal(c.status, 201);
      const parent = await call(key, 'POST', '/tokens', {
        can: ['compute/book', 'compute/lease/read'],
        max_spend_usd: BUDGET,
      });
      assert.equal(parent.status, 201, JSON.stringify(parent.body));
      // Half the requests go through a child with a larger-looking but nested budget: its spend is the parent's too.
      const child = await call(parent.body.token, 'POST', '/tokens', {
        can: ['compute/book'],
        max_spend_usd: BUDGET,
      });
      assert.equal(child.status, 201, JSON.stringify(child.body));

      // Offers with room for every request, each booking costing a few dollars: about 15 fit.
      const nodes = await call(
        admin,
        'GET',
        '/nodes?resource_type=GPU_A&min_available=1&sort=price_asc&limit=50',
      );
      const offers = (nodes.body.offers as Json[]).filter(
        (o) => o.price_per_hour >= 1 && o.price_per_hour <= 10,
      );
      assert.ok(offers.length >= 3, 'GPU offers between $1 and $10 an hour');
      const replies = await Promise.all(
        Array.from({ length: REQUESTS }, (_, i) => {
          const o = offers[i % offers.length] as Json;
          const token = i % 2 === 0 ? parent.body.token : child.body.token;
          return call(token, 'POST', '/book', { allocations: [{ offer_id: o.id, nodes: 1, hours: 0.5 }] });
        }),
      );
      const won = replies.filter((r) => r.status === 201);
      const refused = replies.filter((r) => r.status !== 201);
      const spent = won.reduce((s, r) => s + micros(r.body.total_cost), 0);
      assert.ok(spent <= micros(BUDGET), `committed $${spent / 1e6} under a $${BUDGET} budget`);
      assert.ok(won.length > 0, 'some bookings fit the budget');
      const kinds = new Set(refused.map((r) => `${r.status} ${r.body.type}`));
      // Sold-out offers may also refuse some (409); every other refusal names the caveat.
      for (const k of kinds)
        assert.ok(
          k === '403 https://computemd.dev/problems/caveat-max-spend-usd' || k.startsWith('409 '),
          `unexpected refusal ${k}`,
        );
      assert.ok(
        kinds.has('403 https://computemd.dev/problems/caveat-max-spend-usd'),
        'the budget refused some',
      );
      // What is left could not pay for the cheapest refused booking: the budget was used, not wasted.
      const left = micros(BUDGET) - spent;
      const cheapestCost = Math.min(...offers.map((o) => micros(o.price_per_hour * 0.5)));
      assert.ok(left < cheapestCost || refused.every((r) => r.status === 409), `$${left / 1e6} left unused`);

      const verify = await call(admin, 'GET', '/ledger/verify');
      assert.deepEqual(verify.body, { ok: true, violations: [] });
      // The requester paid exactly what the won bookings hold.
      const acc = await call(key, 'GET', '/accounts/me');
      assert.equal(micros(acc.body.held_usd), spent);
    });
  });
}

await onBothBackends('budget contention', budgetContention);
