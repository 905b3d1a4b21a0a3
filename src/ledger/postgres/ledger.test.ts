import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DuplicateError } from '../../storage/errors.js';
import { createPool, type PgClient } from '../../storage/postgres/driver.js';
import { openPostgresStore } from '../../storage/postgres/index.js';
import type { Store } from '../../storage/store.js';
import { requesterAccount } from '../accounts.js';
import {
  ALICE,
  assertVerified,
  BOB,
  balance,
  book,
  deposit,
  eventually,
  idem,
  newBooking,
  REQ_A,
  reservedOf,
  USD,
} from '../contract/fixtures.js';
import type { PostgresLedger } from './ledger.js';
import { postgresSuites } from './testing.js';
import { inTransaction } from './tx.js';

/**
 * What only a multi-connection backend can show, beyond the shared suite (run from
 * storage/postgres/postgres.test.ts): two stores on one schema stand for two gateway replicas, and
 * many calls in flight at once race for real on separate connections.
 */

await postgresSuites('postgres ledger', ({ url, freshSchema, open }) => {
  /** Two replicas on one fresh schema (the first drops it when closed, so close it last). */
  async function replicas(): Promise<[Store, Store]> {
    const schema = freshSchema();
    const a = open({}, schema);
    await a.migrate();
    return [a, openPostgresStore({ url, schema })];
  }

  describe('postgres ledger under concurrency', () => {
    it('bookings racing for one offer from two replicas never oversell it', async () => {
      const [a, b] = await replicas();
      try {
        await deposit(a, 'tx_dep', ALICE, 1000 * USD);
        // 40 bookings of 1 node each, 20 per replica, all in flight at once; capacity 7.
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 ? a : b).ledger.createBooking(
              newBooking(
                `bk_${String(i).padStart(2, '0')}`,
                [{ offer: 'of_a', nodes: 1, hours: 1, price: USD }],
                {
                  capacity: { of_a: 7 },
                },
              ),
            ),
          ),
        );
        const kinds = results.map((r) => r.kind);
        assert.equal(kinds.filter((k) => k === 'created').length, 7, kinds.join(','));
        assert.equal(kinds.filter((k) => k === 'sold_out').length, 33);
        assert.deepEqual(await reservedOf(b), { of_a: 7 });
        assert.equal(await balance(a, REQ_A), 993 * USD);
        await assertVerified(a);
      } finally {
        await b.close();
        await a.close();
      }
    });

    it('bookings racing for one balance never overdraw it, and the loser takes nothing', async () => {
      const [a, b] = await replicas();
      try {
        await deposit(a, 'tx_dep', ALICE, 5 * USD);
        // 30 bookings of $1.00, each on its own offer; $5.00 funds exactly five.
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (i % 2 ? a : b).ledger.createBooking(
              newBooking(`bk_${i}`, [{ offer: `of_${i}`, nodes: 1, hours: 1, price: USD }]),
            ),
          ),
        );
        assert.equal(results.filter((r) => r.kind === 'created').length, 5);
        assert.equal(results.filter((r) => r.kind === 'insufficient_funds').length, 25);
        assert.equal(await balance(a, REQ_A), 0);
        assert.equal(
          Object.keys(await reservedOf(a)).length,
          5,
          'no reservation outlives its rolled-back booking',
        );
        await assertVerified(a);
      } finally {
        await b.close();
        await a.close();
      }
    });

    it('one idempotency key sent many times at once books once; the rest replay it', async () => {
      const [a, b] = await replicas();
      try {
        await deposit(a, 'tx_dep', ALICE, 100 * USD);
        const key = idem('k1', { response: { booking_id: 'bk_winner' } });
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? a : b).ledger.createBooking(
              newBooking(`bk_${i}`, [{ offer: 'of_a', nodes: 1, hours: 1, price: USD }], {
                idempotency: key,
              }),
            ),
          ),
        );
        assert.equal(results.filter((r) => r.kind === 'created').length, 1);
        for (const r of results.filter((r) => r.kind !== 'created'))
          assert.deepEqual(r, { kind: 'replay', status: 201, response: { booking_id: 'bk_winner' } });
        assert.equal(await balance(a, REQ_A), 99 * USD);
        await assertVerified(a);
        // The same for a rail delivering one deposit reference many times at once.
        const deps = await Promise.all(
          Array.from({ length: 8 }, (_, i) => deposit(i % 2 ? a : b, `tx_r${i}`, BOB, USD, 'ref-x')),
        );
        assert.equal(deps.filter((d) => d.kind === 'created').length, 1);
        assert.equal(deps.filter((d) => d.kind === 'replayed').length, 7);
        assert.equal(await balance(a, requesterAccount(BOB)), USD);
      } finally {
        await b.close();
        await a.close();
      }
    });

    it('one replica leads a background duty; another takes over when it closes', async () => {
      const schema = freshSchema();
      const a = open({}, schema);
      await a.migrate();
      const b = openPostgresStore({ url, schema });
      const c = openPostgresStore({ url, schema });
      try {
        assert.equal(await a.ledger.tryLead('settlement'), true);
        assert.equal(await a.ledger.tryLead('settlement'), true, 'a leader keeps its lead');
        assert.equal(await b.ledger.tryLead('settlement'), false, 'one leader per duty');
        assert.equal(await b.ledger.tryLead('health'), true, 'duties are led separately');
        assert.equal(await c.ledger.tryLead('health'), false);
        await b.close();
        assert.equal(await c.ledger.tryLead('health'), true, "a closed replica's lead is free again");
        assert.equal(await c.ledger.tryLead('settlement'), false);
      } finally {
        await c.close();
        await b.close();
        await a.close();
      }
    });

    it('every replica hears every replica’s capacity changes, after commit only', async () => {
      const [a, b] = await replicas();
      try {
        const heardA: string[][] = [];
        const heardB: string[][] = [];
        const offA = a.ledger.onCapacityChange((ids) => heardA.push(ids));
        b.ledger.onCapacityChange((ids) => heardB.push(ids));
        await Promise.all([
          (a.ledger as PostgresLedger).listening(),
          (b.ledger as PostgresLedger).listening(),
        ]);
        await deposit(a, 'tx_dep', ALICE, 100 * USD);
        await book(b, newBooking('bk_1', [{ offer: 'of_a', nodes: 1, hours: 1, price: USD }]));
        await eventually(() => heardA.length === 1 && heardB.length === 1, 'both replicas to hear bk_1');
        assert.deepEqual(heardA, [['of_a']]);
        // A rolled-back booking (sold out) is never announced.
        const r = await a.ledger.createBooking(
          newBooking('bk_2', [{ offer: 'of_b', nodes: 2, hours: 1, price: USD }], { capacity: { of_b: 1 } }),
        );
        assert.equal(r.kind, 'sold_out');
        offA();
        await book(a, newBooking('bk_3', [{ offer: 'of_c', nodes: 1, hours: 1, price: USD }]));
        await eventually(() => heardB.length === 2, 'b to hear bk_3');
        assert.deepEqual(heardB, [['of_a'], ['of_c']]);
        assert.deepEqual(heardA, [['of_a']], 'unsubscribed, and never told of the rolled-back booking');
      } finally {
        await b.close();
        await a.close();
      }
    });

    it('bookings asked for in one turn share a batch, and each gets the outcome it would get alone', async () => {
      const schema = freshSchema();
      const s = open({}, schema);
      await s.migrate();
      const pool = createPool({ url, schema });
      try {
        await deposit(s, 'tx_dep', ALICE, 100 * USD);
        const heard = new Set<string>();
        s.ledger.onCapacityChange((ids) => {
          for (const id of ids) heard.add(id);
        });
        await (s.ledger as PostgresLedger).listening();
        const one = (id: string, offer: string, o: Parameters<typeof newBooking>[2] = {}) =>
          newBooking(id, [{ offer, nodes: 1, hours: 1, price: USD }], o);
        const key = idem('k1', { response: { booking_id: 'bk_1' } });
        const [created, soldOut, unfunded, first, replayed] = await Promise.all([
          s.ledger.createBooking(one('bk_0', 'of_a')),
          s.ledger.createBooking(one('bk_x', 'of_new', { capacity: { of_new: 0 } })),
          s.ledger.createBooking(one('bk_y', 'of_b', { requester: BOB })),
          s.ledger.createBooking(one('bk_1', 'of_c', { idempotency: key })),
          s.ledger.createBooking(one('bk_2', 'of_c', { idempotency: key })),
        ]);
        assert.equal(created?.kind, 'created');
        assert.deepEqual(soldOut, { kind: 'sold_out', offer_id: 'of_new', requested: 1, available: 0 });
        assert.equal(unfunded?.kind, 'insufficient_funds');
        assert.equal(first?.kind, 'created');
        assert.deepEqual(replayed, { kind: 'replay', status: 201, response: { booking_id: 'bk_1' } });
        // The rows the batch created for the failed bookings are gone, as if they had run alone.
        const rows = await pool.query(
          "SELECT offer_id FROM offer_capacity WHERE offer_id IN ('of_new', 'of_b')",
        );
        assert.deepEqual(rows.rows, []);
        assert.equal(await s.ledger.getAccount(requesterAccount(BOB)), null);
        assert.deepEqual(await reservedOf(s), { of_a: 1, of_c: 1 });
        assert.equal(await balance(s, REQ_A), 98 * USD);
        await eventually(() => heard.size === 2, 'the batch’s capacity events');
        assert.deepEqual([...heard].sort(), ['of_a', 'of_c']);
        // A duplicate id fails the batch in the database; it is run again booking by booking.
        const [dup, ok] = await Promise.allSettled([
          s.ledger.createBooking(one('bk_0', 'of_d')),
          s.ledger.createBooking(one('bk_3', 'of_e')),
        ]);
        assert.ok(dup.status === 'rejected' && dup.reason instanceof DuplicateError, String(dup));
        assert.ok(ok.status === 'fulfilled' && ok.value.kind === 'created');
        assert.deepEqual(await reservedOf(s), { of_a: 1, of_c: 1, of_e: 1 });
        await assertVerified(s);
      } finally {
        await pool.end();
        await s.close();
      }
    });
  });

  describe('postgres ledger transactions', () => {
    it('a deadlock is retried: both sides of a lock-order cycle commit', async () => {
      // The ledger's own writes lock in one order and cannot deadlock, so the cycle is built by
      // hand: each body locks one row, waits until the other holds its row, then takes the other's.
      const schema = freshSchema();
      const store = open({}, schema);
      await store.migrate();
      const pool = createPool({ url, schema });
      try {
        await pool.query('CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
        await pool.query('INSERT INTO t VALUES (1, 0), (2, 0)');
        let attempts = 0;
        let arrive!: () => void;
        let arrived = 0;
        const both = new Promise<void>((resolve) => {
          arrive = () => {
            if (++arrived === 2) resolve();
          };
        });
        const body = (first: number, second: number) => async (c: PgClient) => {
          attempts++;
          await c.query('UPDATE t SET n = n + 1 WHERE id = $1', [first]);
          if (attempts <= 2) {
            arrive();
            await both;
          }
          await c.query('UPDATE t SET n = n + 1 WHERE id = $1', [second]);
          return first;
        };
        // PostgreSQL aborts one side with 40P01 after deadlock_timeout (1 s); it retries and commits.
        assert.deepEqual(
          await Promise.all([inTransaction(pool, body(1, 2)), inTransaction(pool, body(2, 1))]),
          [1, 2],
        );
        assert.equal(attempts, 3);
        const { rows } = await pool.query('SELECT id, n FROM t ORDER BY id');
        assert.deepEqual(rows, [
          { id: 1, n: 2 },
          { id: 2, n: 2 },
        ]);
      } finally {
        await pool.end();
        await store.close();
      }
    });

    it('verify() is set-based: 100k postings and 20k bookings check in well under a few seconds', async () => {
      const schema = freshSchema();
      const store = open({}, schema);
      await store.migrate();
      const pool = createPool({ url, schema });
      try {
        // Consistent by construction: 50k deposits of 1 micro ext:credits → req:pr_<n % 1000>;
        // 20k bookings of one running lease, nothing held.
        await pool.query(`
          INSERT INTO transactions (id, kind, at, memo) SELECT 'tx_' || i, 'deposit', i, '' FROM generate_series(0, 49999) i;
          INSERT INTO accounts (id, kind, owner, balance) VALUES ('ext:credits', 'external', 'credits', -50000);
          INSERT INTO accounts (id, kind, owner, balance)
            SELECT 'req:pr_' || i, 'requester', 'pr_' || i, 50 FROM generate_series(0, 999) i;
          INSERT INTO postings (tx_id, account, amount)
            SELECT 'tx_' || i, 'ext:credits', -1 FROM generate_series(0, 49999) i
            UNION ALL SELECT 'tx_' || i, 'req:pr_' || (i % 1000), 1 FROM generate_series(0, 49999) i;
          INSERT INTO bookings (id, requester, status, version, created_at, updated_at, payment, total_cost, settled, held, summary)
            SELECT format('bk_%s', lpad(i::text, 5, '0')), 'pr_' || (i % 1000), 'active', 1, 0, 0, '{}', 5, 0, 0, '{}'
              FROM generate_series(0, 19999) i;
          INSERT INTO leases (id, booking_id, idx, offer_id, provider, nodes, hours, gpus_per_node,
                              price_per_node_hour, cost, settled, state, detail)
            SELECT format('ls_%s', lpad(i::text, 5, '0')), format('bk_%s', lpad(i::text, 5, '0')), 0, 'of_' || (i % 100),
                   'vast', 1, 1, 1, 5, 5, 0, 'running', '{}'
              FROM generate_series(0, 19999) i;
          INSERT INTO offer_capacity (offer_id, capacity, reserved) SELECT offer_id, 1000, COUNT(*) FROM leases GROUP BY offer_id;
          ANALYZE;
        `);
        const t = performance.now();
        const v = await store.ledger.verify();
        const ms = performance.now() - t;
        assert.deepEqual(v, { ok: true, violations: [] });
        assert.ok(ms < 3000, `verify took ${ms.toFixed(0)} ms`);
      } finally {
        await pool.end();
        await store.close();
      }
    });

    it('a failing body rolls back and returns its connection to the pool', async () => {
      const schema = freshSchema();
      const store = open({}, schema);
      await store.migrate();
      const pool = createPool({ url, schema, poolSize: 1 });
      try {
        await pool.query('CREATE TABLE t (id INTEGER PRIMARY KEY)');
        for (let i = 0; i < 3; i++)
          await assert.rejects(
            inTransaction(pool, async (c) => {
              await c.query('INSERT INTO t VALUES (1)');
              throw new RangeError('caller bug');
            }),
            RangeError,
          );
        // One connection, reused after each failure, and nothing committed.
        assert.equal((await pool.query('SELECT count(*) AS n FROM t')).rows[0].n, 0);
      } finally {
        await pool.end();
        await store.close();
      }
    });
  });
});
