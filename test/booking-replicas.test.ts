import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { postgresSuites } from '../src/ledger/postgres/testing.js';
import { AVAILABILITY_BUCKET_MS } from '../src/providers/sim/model.js';
import { kill, killAllGateways, startGateway } from './helpers/serve.js';

/**
 * Two gateway replicas (real processes) on ONE PostgreSQL schema book the same offers at once:
 * nothing is oversold, every 201 is one reserved node, both replicas converge on the same
 * `available` through LISTEN/NOTIFY, and the shared ledger verifies. PostgreSQL only (skipped
 * without a server, failing instead under COMPUTEMD_REQUIRE_POSTGRES=1).
 */

const OFFERS = 3;
const REQUESTS = 300;
// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;

after(killAllGateways);

interface Reply {
  status: number;
  headers: Headers;
  body: Json;
}

function client(url: string, token: string) {
  return async (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> => {
    const r = await fetch(url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, headers: r.headers, body: (await r.json()) as Json };
  };
}

/**
 * The simulated market's stock is a pure function of a 15-minute bucket of real time, and the
 * replicas use the real clock: when less than `marginMs` is left of the current bucket, wait for
 * the next one, so both replicas see the same provider figures for the whole test.
 */
async function sameStockBucket(marginMs: number): Promise<void> {
  const left = AVAILABILITY_BUCKET_MS - (Date.now() % AVAILABILITY_BUCKET_MS);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 1000));
}

await postgresSuites('replicas on one PostgreSQL schema', (pg) => {
  describe('replicas on one PostgreSQL schema', () => {
    const schema = pg.freshSchema();
    const dataDir = mkdtempSync(join(tmpdir(), 'computemd-replicas-'));
    const env = { COMPUTEMD_DATABASE_URL: pg.url, COMPUTEMD_DATABASE_SCHEMA: schema };
    after(async () => {
      await killAllGateways();
      rmSync(dataDir, { recursive: true, force: true });
      await pg.admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    });

    it(`${REQUESTS} concurrent bookings over two replicas never oversell, and both replicas agree`, async (t) => {
      await sameStockBucket(45_000);
      const r1 = await startGateway(dataDir, env);
      const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
      // The second replica reads the operator the first created; it rewrites nothing.
      const r2 = await startGateway(dataDir, env);
      assert.doesNotMatch(r2.stdout, /created the operator/);
      assert.equal(readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(), token);
      const calls = [client(r1.url, token), client(r2.url, token)] as const;
      const [call1, call2] = calls;

      const credit = await call1(
        'POST',
        '/accounts/pr_operator/credit',
        { amount_usd: 10_000 },
        { 'idempotency-key': 'replicas-credit' },
      );
      assert.equal(credit.status, 201, JSON.stringify(credit.body));
      // The credit made on replica 1 is visible on replica 2: one ledger.
      assert.equal((await call2('GET', '/accounts/me')).body.balance_usd, 10_000);

      // Offers with fewer nodes than the requests aimed at each, so every one sells out.
      const perOffer = REQUESTS / OFFERS;
      const listed = await call1('GET', '/nodes?min_available=5&sort=price_asc&limit=100');
      const offers = (listed.body.offers as Json[])
        .filter((o) => o.available < perOffer / 2)
        .slice(0, OFFERS);
      assert.equal(offers.length, OFFERS, 'three offers with 5 to 49 nodes free');
      const supply = new Map<string, number>(offers.map((o) => [o.id as string, o.available as number]));
      for (const o of offers) {
        const other = await call2('GET', `/nodes/${o.id}`);
        assert.equal(other.body.available, o.available, `both replicas see ${o.id} with the same stock`);
      }

      const jobs = Array.from({ length: REQUESTS }, (_, i) => {
        const offer = offers[i % OFFERS]!.id as string;
        const call = calls[Math.floor(i / OFFERS) % 2]!;
        const body = {
          allocations: [{ offer_id: offer, nodes: 1, hours: 1 }],
          payment: { method: 'credits', stream: i % 5 === 0 },
        };
        return call('POST', '/book', body).then((r) => ({ offer, r }));
      });
      const results = await Promise.all(jobs);

      const wins = new Map<string, number>();
      for (const { offer, r } of results) {
        if (r.status === 201) {
          wins.set(offer, (wins.get(offer) ?? 0) + 1);
          continue;
        }
        assert.equal(r.status, 409, `only 201 or 409; got ${r.status} ${JSON.stringify(r.body)}`);
        assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
        assert.equal(r.body.code, 'sold_out', JSON.stringify(r.body));
      }
      t.diagnostic(
        `per offer (supply → booked): ${offers.map((o) => `${supply.get(o.id)} → ${wins.get(o.id) ?? 0}`).join(', ')}`,
      );
      for (const [id, n] of supply) {
        // More requests than nodes: every node is sold, and none twice.
        assert.equal(wins.get(id) ?? 0, n, `offer ${id}: ${n} nodes, ${wins.get(id) ?? 0} bookings`);
      }

      // The database agrees: reserved = the 201s, within the capacity the replicas saw.
      const rows = await pg.admin.query(`SELECT offer_id, capacity, reserved FROM ${schema}.offer_capacity`);
      const reserved = new Map<string, { capacity: number; reserved: number }>(
        rows.rows.map((r: Json) => [
          r.offer_id as string,
          { capacity: Number(r.capacity), reserved: Number(r.reserved) },
        ]),
      );
      for (const [id, n] of supply) {
        assert.equal(reserved.get(id)?.reserved, wins.get(id), `offer_capacity.reserved of ${id}`);
        assert.ok((reserved.get(id)?.reserved ?? 0) <= n);
      }
      // And so do the bookings: one node each on the offer it asked for.
      const booked = new Map<string, number>();
      let cursor: string | null = null;
      do {
        const page = await call2('GET', `/bookings?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200);
        for (const b of page.body.bookings as Json[])
          for (const a of b.allocations as Json[])
            booked.set(a.offer_id, (booked.get(a.offer_id) ?? 0) + a.nodes);
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      assert.deepEqual(booked, wins);

      // Each replica hears the other's bookings (LISTEN/NOTIFY) and shows nothing free.
      for (const [i, call] of calls.entries()) {
        for (const id of supply.keys()) {
          let seen = Number.NaN;
          for (let k = 0; k < 100 && seen !== 0; k++) {
            if (k > 0) await new Promise((r) => setTimeout(r, 50));
            seen = (await call('GET', `/nodes/${id}`)).body.available as number;
          }
          assert.equal(seen, 0, `replica ${i + 1} shows ${id} sold out`);
        }
        const verify = await call('GET', '/ledger/verify');
        assert.equal(verify.status, 200);
        assert.deepEqual(verify.body, { ok: true, violations: [] }, `ledger verify on replica ${i + 1}`);
      }

      await Promise.all([kill(r1.proc, 'SIGTERM'), kill(r2.proc, 'SIGTERM')]);
    });
  });
});
