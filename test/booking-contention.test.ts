import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GatewayConfig } from '../src/config/schema.js';
import { httpCall, type ListeningGateway, listenTestGateway, onBothBackends } from './helpers/gateway.js';

/**
 * 1,000 concurrent POST /book over real HTTP for an offer with exactly 10 nodes free: exactly 10
 * win, 990 are sold out, nothing is oversold and the ledger stays consistent. Once on SQLite (the
 * default), once on PostgreSQL in a fresh schema (skipped without a server, failing instead under
 * COMPUTEMD_REQUIRE_POSTGRES=1; see src/ledger/postgres/testing.ts).
 */

const FREE = 10;
const REQUESTS = 1000;

// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;
interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

function contention(
  backend: string,
  select: () => { apply: (c: GatewayConfig) => void; cleanup: () => Promise<void> },
) {
  describe(`booking contention on ${backend}`, () => {
    let g: ListeningGateway;
    let cleanup: () => Promise<void> = async () => {};
    before(async () => {
      const e = select();
      cleanup = e.cleanup;
      g = await listenTestGateway(e.apply);
    });
    after(async () => {
      await g?.close();
      await cleanup();
    });

    const call = (
      method: 'GET' | 'POST',
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Reply> => httpCall(g.base, g.admin, method, path, body, headers);
    /** Polls until `/nodes/:id` shows `want` free (capacity events arrive after commit; on PostgreSQL by NOTIFY). */
    const awaitAvailable = async (id: string, want: number): Promise<number> => {
      let seen = Number.NaN;
      for (let i = 0; i < 100; i++) {
        seen = (await call('GET', `/nodes/${id}`)).body.available as number;
        if (seen === want) return seen;
        await new Promise((r) => setTimeout(r, 50));
      }
      return seen;
    };
    const micros = (usd: number) => Math.round(usd * 1e6);

    it(`${REQUESTS} concurrent bookings for ${FREE} free nodes: ${FREE} × 201, ${REQUESTS - FREE} × 409 sold_out`, async () => {
      const credit = await call(
        'POST',
        '/accounts/pr_operator/credit',
        { amount_usd: 10_000 },
        { 'idempotency-key': 'contention-credit' },
      );
      assert.equal(credit.status, 201, JSON.stringify(credit.body));

      // An offer with more than FREE nodes; booking the surplus in one booking leaves exactly FREE.
      const nodes = await call('GET', `/nodes?min_available=${FREE + 2}&sort=price_asc&limit=1`);
      assert.equal(nodes.status, 200);
      const offer = nodes.body.offers[0] as Json;
      assert.ok(offer, `an offer with at least ${FREE + 2} nodes`);
      const supply = offer.available as number;
      const first = await call('POST', '/book', {
        allocations: [{ offer_id: offer.id, nodes: supply - FREE, hours: 1 }],
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(await awaitAvailable(offer.id, FREE), FREE);

      const body = { allocations: [{ offer_id: offer.id, nodes: 1, hours: 1 }] };
      const replies = await Promise.all(Array.from({ length: REQUESTS }, () => call('POST', '/book', body)));

      const byStatus = new Map<number, number>();
      for (const r of replies) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
      assert.deepEqual(
        [...byStatus].sort((a, b) => a[0] - b[0]),
        [
          [201, FREE],
          [409, REQUESTS - FREE],
        ],
        `statuses: ${JSON.stringify([...byStatus])}; first other body: ${JSON.stringify(replies.find((r) => r.status !== 201 && r.status !== 409)?.body)}`,
      );
      const won = replies.filter((r) => r.status === 201);
      assert.equal(new Set(won.map((r) => r.body.booking_id)).size, FREE, 'every winner has its own booking');
      for (const r of won) {
        assert.equal(r.body.allocations.length, 1);
        assert.equal(r.body.allocations[0].offer_id, offer.id);
        assert.equal(r.body.allocations[0].nodes, 1);
      }
      for (const r of replies.filter((x) => x.status === 409)) {
        assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal(r.body.code, 'sold_out', JSON.stringify(r.body));
        assert.equal(r.body.offer_id, offer.id);
      }

      assert.equal(await awaitAvailable(offer.id, 0), 0, 'the offer shows nothing free');
      const verify = await call('GET', '/ledger/verify');
      assert.equal(verify.status, 200);
      assert.deepEqual(verify.body, { ok: true, violations: [] });

      // The account's held is the sum of its bookings' held (and of exactly these 1 + FREE bookings).
      const all: Json[] = [];
      let cursor: string | null = null;
      do {
        const page = await call('GET', `/bookings?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200);
        all.push(...(page.body.bookings as Json[]));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      assert.deepEqual(
        all.map((b) => b.booking_id).sort(),
        [first.body.booking_id, ...won.map((r) => r.body.booking_id)].sort(),
      );
      const account = await call('GET', '/accounts/me');
      const heldSum = all.reduce((s, b) => s + micros(b.held_usd), 0);
      assert.equal(micros(account.body.held_usd), heldSum);
      const costSum = all.reduce((s, b) => s + micros(b.total_cost), 0);
      assert.equal(heldSum, costSum, 'without streaming every booking holds its whole cost');
      assert.equal(micros(account.body.balance_usd), micros(10_000) - heldSum);
    });
  });
}

await onBothBackends('booking contention', contention);
