import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteDb } from '../../storage/sqlite/driver.js';
import { openSqliteStore } from '../../storage/sqlite/index.js';
import { applyMigrations, SQLITE_MIGRATIONS } from '../../storage/sqlite/migrations.js';
import type { Store } from '../../storage/store.js';
import { describeLedgerContract } from '../contract.js';
import { createSqliteLedger } from './index.js';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'computemd-ledger-'));
  made.push(dir);
  return join(dir, 'computemd.db');
}

// A :memory: database is private to its connection, so raw SQL cannot reach it: the corruption
// case runs against the file database, where a second connection writes (WAL: the store sees it).
describeLedgerContract('sqlite (memory)', async () => openSqliteStore({ path: ':memory:' }));

const paths = new WeakMap<Store, string>();
describeLedgerContract(
  'sqlite (file)',
  async () => {
    const path = tempFile();
    const store = openSqliteStore({ path });
    paths.set(store, path);
    return store;
  },
  {
    corrupt: async (store, sql) => {
      const raw = new Database(paths.get(store)!);
      try {
        raw.exec(sql);
      } finally {
        raw.close();
      }
    },
  },
);

describe('sqlite ledger', () => {
  const migrated = () => {
    const db = openSqliteDb({ path: ':memory:' });
    applyMigrations(db, SQLITE_MIGRATIONS, 0);
    return db;
  };
  const plan = (db: Database.Database, sql: string) =>
    db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all()
      .map((r) => (r as { detail: string }).detail)
      .join('\n');

  it('serves the listing queries from their indexes', () => {
    const db = migrated();
    assert.match(
      plan(db, "SELECT * FROM postings WHERE account = 'a' AND seq < 5 ORDER BY seq DESC LIMIT 10"),
      /postings_account_seq/,
    );
    assert.match(
      plan(db, "SELECT * FROM bookings WHERE requester = 'a' AND id < 'x' ORDER BY id DESC LIMIT 10"),
      /bookings_requester/,
    );
    const open = plan(
      db,
      "SELECT * FROM bookings WHERE status IN ('pending', 'active') AND id > '' ORDER BY id LIMIT 10",
    );
    assert.match(open, /bookings_open/);
    assert.doesNotMatch(open, /TEMP B-TREE/, 'no sort: the partial index is in id order');
    db.close();
  });

  it('rejects a second external reference on the same rail at the schema level too', () => {
    const db = migrated();
    const ins = db.prepare(
      "INSERT INTO transactions (id, kind, at, memo, rail, external_ref) VALUES (?, 'deposit', 0, '', 'credits', 'r1')",
    );
    ins.run('tx_1');
    assert.throws(() => ins.run('tx_2'), /UNIQUE constraint failed/);
    db.close();
  });

  it('verify() is set-based: 100k postings and 20k bookings check in well under a few seconds', async () => {
    const db = migrated();
    const ledger = createSqliteLedger(db);
    // Built with recursive CTEs straight into the tables, consistent by construction:
    // 50k deposits of 1 micro ext:credits → req:pr_<n % 1000>; 20k bookings of 1 lease, nothing held.
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
      INSERT INTO transactions (id, kind, at, memo) SELECT 'tx_' || i, 'deposit', i, '' FROM n;
      INSERT INTO accounts (id, kind, owner, balance) VALUES ('ext:credits', 'external', 'credits', -50000);
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
      INSERT INTO accounts (id, kind, owner, balance) SELECT 'req:pr_' || i, 'requester', 'pr_' || i, 50 FROM n;
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
      INSERT INTO postings (tx_id, account, amount)
        SELECT 'tx_' || i, 'ext:credits', -1 FROM n UNION ALL SELECT 'tx_' || i, 'req:pr_' || (i % 1000), 1 FROM n;
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
      INSERT INTO bookings (id, requester, status, version, created_at, updated_at, payment, total_cost, settled, held, summary)
        SELECT printf('bk_%05d', i), 'pr_' || (i % 1000), 'active', 1, 0, 0, '{}', 5, 0, 0, '{}' FROM n;
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
      INSERT INTO leases (id, booking_id, idx, offer_id, provider, nodes, hours, gpus_per_node,
                          price_per_node_hour, cost, settled, state, detail)
        SELECT printf('ls_%05d', i), printf('bk_%05d', i), 0, 'of_' || (i % 100), 'vast', 1, 1, 1, 5, 5, 0, 'running', '{}'
        FROM n;
      INSERT INTO offer_capacity (offer_id, capacity, reserved)
        SELECT offer_id, 1000, COUNT(*) FROM leases GROUP BY offer_id;
    `);
    const t = performance.now();
    const v = await ledger.verify();
    const ms = performance.now() - t;
    assert.deepEqual(v, { ok: true, violations: [] });
    assert.ok(ms < 3000, `verify took ${ms.toFixed(0)} ms`);
    db.close();
  });
});
