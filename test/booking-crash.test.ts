import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { postgresSuites } from '../src/ledger/postgres/testing.js';
import { kill, killAllGateways, startGateway } from './helpers/serve.js';

/**
 * Crash safety of POST /book (docs/ledger.md, "Idempotency"): the real gateway binary takes a few
 * hundred concurrent bookings, each with its own Idempotency-Key, and is SIGKILLed once 50 have
 * been acknowledged. Restarted on the same data (SQLite file, or PostgreSQL schema), every
 * acknowledged booking is there, whole; every key replays to what was committed (also for clients
 * that threw their reply away, standing in for replies lost in flight) or books afresh; and the
 * ledger verifies: no booking, hold or reservation was half written, none exists without its key.
 */

const REQUESTS = 300;
const KILL_AFTER_ACKS = 50;
// biome-ignore lint/suspicious/noExplicitAny: the tests read loosely typed JSON replies
type Json = Record<string, any>;

after(killAllGateways);

interface Reply {
  status: number;
  replayed: boolean;
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
    return {
      status: r.status,
      replayed: r.headers.get('idempotent-replayed') === 'true',
      body: (await r.json()) as Json,
    };
  };
}

async function allBookings(call: ReturnType<typeof client>): Promise<Json[]> {
  const out: Json[] = [];
  let cursor: string | null = null;
  do {
    const page = await call('GET', `/bookings?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    out.push(...(page.body.bookings as Json[]));
    cursor = page.body.next_cursor as string | null;
  } while (cursor);
  return out;
}

function crashSuite(title: string, backend: () => { env: NodeJS.ProcessEnv; cleanup: () => Promise<void> }) {
  describe(title, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'computemd-crash-'));
    const { env, cleanup } = backend();
    after(async () => {
      await killAllGateways();
      rmSync(dataDir, { recursive: true, force: true });
      await cleanup();
    });

    it(`every acknowledged booking survives a SIGKILL under ${REQUESTS} concurrent bookings, whole and replayable`, async (t) => {
      const first = await startGateway(dataDir, env);
      const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
      let call = client(first.url, token);
      const credit = await call(
        'POST',
        '/accounts/pr_operator/credit',
        { amount_usd: 100_000 },
        { 'idempotency-key': 'crash-credit' },
      );
      assert.equal(credit.status, 201, JSON.stringify(credit.body));

      // Enough offers that every booking (two allocations, one node each) fits: sold-outs are not the point.
      const listed = await call('GET', '/nodes?min_available=10&sort=price_asc&limit=100');
      const offers: Json[] = [];
      let nodes = 0;
      for (const o of listed.body.offers as Json[]) {
        if (nodes >= 2 * REQUESTS + 200) break;
        offers.push(o);
        nodes += o.available as number;
      }
      assert.ok(nodes >= 2 * REQUESTS + 200, `offers with ${2 * REQUESTS + 200} nodes free (found ${nodes})`);
      const bodyOf = (i: number) => ({
        allocations: [
          { offer_id: offers[i % offers.length]!.id, nodes: 1, hours: 1 },
          { offer_id: offers[(i + 1) % offers.length]!.id, nodes: 1, hours: 2 },
        ],
        payment: { method: 'credits', stream: i % 2 === 0 },
      });
      const keyOf = (i: number) => `crash-book-${i}`;

      // Every third client "loses" its reply (its connection died first): the server committed, the
      // client never knew. Those keys must replay to the committed booking after the restart.
      const blind = (i: number) => i % 3 === 2;
      const acked = new Map<number, string>(); // request index → booking id the client saw
      const unseen = new Map<number, string>(); // committed, reply thrown away
      let killed: Promise<void> | null = null;
      const outcomes = await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          try {
            const r = await call('POST', '/book', bodyOf(i), { 'idempotency-key': keyOf(i) });
            if (r.status === 201) {
              (blind(i) ? unseen : acked).set(i, r.body.booking_id as string);
              if (acked.size >= KILL_AFTER_ACKS && !killed) killed = kill(first.proc, 'SIGKILL');
            }
            return r.status;
          } catch {
            return 'lost' as const;
          }
        }),
      );
      if (!killed) killed = kill(first.proc, 'SIGKILL');
      await killed;
      const lost = outcomes.filter((o) => o === 'lost').length;
      t.diagnostic(
        `${acked.size} acknowledged, ${unseen.size} committed with the reply thrown away, ${lost} lost in the crash`,
      );
      assert.ok(acked.size >= KILL_AFTER_ACKS);
      for (const o of outcomes) assert.ok(o === 'lost' || o < 500, `no 5xx before the crash (got ${o})`);

      const second = await startGateway(dataDir, env);
      call = client(second.url, token);

      // Every acknowledged booking is there, with both leases.
      for (const [i, id] of acked) {
        const g = await call('GET', `/bookings/${id}`);
        assert.equal(g.status, 200, `acknowledged ${id}: ${JSON.stringify(g.body)}`);
        assert.equal(g.body.booking_id, id);
        const allocs = g.body.allocations as Json[];
        assert.deepEqual(
          allocs.map((a) => a.offer_id),
          bodyOf(i).allocations.map((a) => a.offer_id),
        );
        for (const a of allocs) assert.match(a.lease_id, /^ls_/);
      }
      // Replaying an acknowledged key gives the same booking, marked as a replay.
      for (const [i, id] of acked) {
        const r = await call('POST', '/book', bodyOf(i), { 'idempotency-key': keyOf(i) });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        assert.equal(r.replayed, true, `key ${keyOf(i)} replays`);
        assert.equal(r.body.booking_id, id);
      }
      // An unacknowledged key either finds the booking committed before the crash or books now.
      // (It cannot replay a booking committed for another key: each booking id appears once.)
      const keyed = new Set(acked.values());
      let replayedUnacked = 0;
      for (let i = 0; i < REQUESTS; i++) {
        if (acked.has(i)) continue;
        const r = await call('POST', '/book', bodyOf(i), { 'idempotency-key': keyOf(i) });
        assert.ok(r.status < 500, `key ${keyOf(i)}: ${r.status} ${JSON.stringify(r.body)}`);
        if (r.status === 409 && !unseen.has(i)) {
          // Only when the market moved under the restart and the offer really is full.
          assert.equal(r.body.code, 'sold_out', JSON.stringify(r.body));
          continue;
        }
        assert.equal(r.status, 201, `key ${keyOf(i)}: ${JSON.stringify(r.body)}`);
        if (r.replayed) replayedUnacked++;
        const id = r.body.booking_id as string;
        const committed = unseen.get(i);
        if (committed !== undefined) {
          assert.equal(r.replayed, true, `key ${keyOf(i)} was committed before the crash: it replays`);
          assert.equal(id, committed);
        }
        assert.ok(!keyed.has(id), `booking ${id} belongs to one key only`);
        keyed.add(id);
        const again = await call('POST', '/book', bodyOf(i), { 'idempotency-key': keyOf(i) });
        assert.equal(again.status, 201);
        assert.equal(again.replayed, true);
        assert.equal(again.body.booking_id, id);
      }
      t.diagnostic(`${replayedUnacked} unacknowledged keys had been committed before the crash`);

      const verify = await call('GET', '/ledger/verify');
      assert.equal(verify.status, 200);
      assert.deepEqual(verify.body, { ok: true, violations: [] });

      // Every booking stored is whole and belongs to a key: none was written without its key.
      const all = await allBookings(call);
      for (const b of all) {
        assert.equal((b.allocations as Json[]).length, 2, `booking ${b.booking_id} has both allocations`);
        for (const a of b.allocations as Json[]) assert.match(a.lease_id, /^ls_/);
      }
      assert.deepEqual(all.map((b) => b.booking_id as string).sort(), [...keyed].sort());

      await kill(second.proc, 'SIGTERM');
    });
  });
}

// PostgreSQL first: its reachability check must not wait behind the SQLite case's busy event loop.
await postgresSuites('crash during bookings, PostgreSQL', (pg) => {
  const schema = pg.freshSchema();
  crashSuite('crash during bookings, PostgreSQL', () => ({
    env: { COMPUTEMD_DATABASE_URL: pg.url, COMPUTEMD_DATABASE_SCHEMA: schema },
    cleanup: async () => {
      await pg.admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  }));
});

crashSuite('crash during bookings, SQLite', () => ({ env: {}, cleanup: async () => {} }));
