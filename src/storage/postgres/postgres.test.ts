import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeLedgerContract } from '../../ledger/contract.js';
import { postgresSuites } from '../../ledger/postgres/testing.js';
import { ManualClock } from '../../util/clock.js';
import { describeStoreContract } from '../contract.js';
import { MigrationError } from '../errors.js';
import { describeIdentityContract } from '../identity-contract.js';
import { openStore } from '../index.js';
import { describeRuntimeContract } from '../runtime-contract.js';
import { createPool } from './driver.js';
import { applyMigrations, type Migration, openPostgresStore, POSTGRES_MIGRATIONS } from './index.js';

/**
 * The PostgreSQL store against the shared suites (plans, identity, runtime, ledger), each case in a fresh schema that
 * is dropped when the case closes its store, plus what is PostgreSQL's own: migrations under an
 * advisory lock, int8 parsing, schema isolation. Skipped, with the reason, without a server
 * (failing instead under COMPUTEMD_REQUIRE_POSTGRES=1): see ledger/postgres/testing.ts.
 */

const T0 = 1_760_000_000_000;

await postgresSuites('postgres store', ({ url: URL, admin, freshSchema, open, rawSql }) => {
  describeStoreContract('postgres', async () => open());
  describeIdentityContract('postgres', async () => open());
  describeRuntimeContract('postgres', async () => open());
  describeLedgerContract('postgres', async () => open(), { corrupt: rawSql });

  describe('postgres store', () => {
    it('openStore picks PostgreSQL for a postgres:// or postgresql:// URL, SQLite otherwise', async () => {
      for (const url of [URL, URL.replace(/^postgres:/, 'postgresql:')]) {
        const s = openStore({ dataDir: '/nonexistent', databaseUrl: url });
        assert.equal(s.kind, 'postgres');
        await s.close();
      }
      const dir = mkdtempSync(join(tmpdir(), 'computemd-pg-'));
      try {
        for (const databaseUrl of [undefined, 'mysql://x@localhost/db']) {
          const s = openStore({ dataDir: dir, ...(databaseUrl ? { databaseUrl } : {}) });
          assert.equal(s.kind, 'sqlite');
          await s.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('records each migration once with the clock, and refuses a database a newer version migrated', async () => {
      const schema = freshSchema();
      const clock = new ManualClock(T0);
      const a = open({ clock }, schema);
      await a.migrate();
      clock.advance(60_000);
      await a.migrate();
      const rows = await admin.query(
        `SELECT id, name, applied_at FROM ${schema}.schema_migrations ORDER BY id`,
      );
      assert.deepEqual(
        rows.rows,
        POSTGRES_MIGRATIONS.map((m) => ({ id: m.id, name: m.name, applied_at: T0 })),
      );
      await admin.query(`INSERT INTO ${schema}.schema_migrations VALUES (999, 'future', ${T0})`);
      const b = openPostgresStore({ url: URL, schema });
      await assert.rejects(b.migrate(), (err: unknown) => {
        assert.ok(err instanceof MigrationError);
        assert.deepEqual(err.unknownIds, [999]);
        assert.match(err.message, /999 \("future"\).*newer version.*To fix:/s);
        assert.match(err.message, new RegExp(`schema ${schema}`));
        return true;
      });
      await b.close();
      await a.close();
    });

    it('rolls back a failing migration whole: no partial schema, no record', async () => {
      const schema = freshSchema();
      const pool = createPool({ url: URL, schema });
      const A: Migration = { id: 1, name: 'a', up: 'CREATE TABLE a (x INTEGER)' };
      const bad: Migration = {
        id: 2,
        name: 'bad',
        up: 'CREATE TABLE half (x INTEGER); SELECT * FROM nowhere;',
      };
      const opts = { now: T0, schema, where: 'test' };
      try {
        await assert.rejects(
          applyMigrations(pool, [A, bad], opts),
          (err: unknown) => err instanceof MigrationError && /migration 2 \("bad"\) failed/.test(err.message),
        );
        const tables = await admin.query(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
          [schema],
        );
        assert.deepEqual(
          tables.rows.map((r) => r.table_name),
          ['a', 'schema_migrations'],
        );
        assert.deepEqual((await pool.query('SELECT id FROM schema_migrations')).rows, [{ id: 1 }]);
        await assert.rejects(applyMigrations(pool, [bad, A], opts), MigrationError); // ids must increase
      } finally {
        await pool.end();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    });

    it('migration 5 (budget_accounts) widens accounts.kind on a ledger with data, keeping every row', async () => {
      const schema = freshSchema();
      const pool = createPool({ url: URL, schema });
      const opts = { now: T0, schema, where: 'test' };
      const accounts = () => pool.query('SELECT * FROM accounts ORDER BY id').then((r) => r.rows);
      try {
        await applyMigrations(
          pool,
          POSTGRES_MIGRATIONS.filter((m) => m.id <= 4),
          opts,
        );
        await pool.query(`INSERT INTO accounts (id, kind, owner, balance, credit_limit) VALUES
          ('ext:card', 'external', 'card', -700, 0), ('req:pr_a', 'requester', 'pr_a', 700, 50)`);
        await pool.query(
          `INSERT INTO transactions (id, kind, at, memo) VALUES ('tx_1', 'deposit', 1, 'card')`,
        );
        await pool.query(`INSERT INTO postings (tx_id, account, amount) VALUES
          ('tx_1', 'ext:card', -700), ('tx_1', 'req:pr_a', 700)`);
        const before = await accounts();
        await assert.rejects(
          pool.query(`INSERT INTO accounts (id, kind, owner) VALUES ('budgets', 'budget', '')`),
          /accounts_kind_check/,
        );
        assert.deepEqual(
          (await applyMigrations(pool, POSTGRES_MIGRATIONS, opts)).applied,
          POSTGRES_MIGRATIONS.filter((m) => m.id > 4).map((m) => m.id),
        );
        assert.deepEqual(await accounts(), before);
        await pool.query(`INSERT INTO accounts (id, kind, owner, credit_limit) VALUES
          ('budgets', 'budget', '', 0), ('budget:bafy', 'budget', '', 500)`);
        await assert.rejects(
          pool.query(`INSERT INTO accounts (id, kind, owner) VALUES ('x', 'bogus', '')`),
          /accounts_kind_check/,
        );
        await assert.rejects(
          pool.query(`INSERT INTO postings (tx_id, account, amount) VALUES ('tx_1', 'req:nobody', 5)`),
          /postings_account_fkey/,
        );
        // Exactly one CHECK on kind, under the default name, in this schema only.
        const { rows } = await admin.query(
          `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c' ORDER BY 1`,
          [`${schema}.accounts`],
        );
        assert.deepEqual(
          rows.map((r) => r.conname),
          ['accounts_credit_limit_check', 'accounts_kind_check'],
        );
      } finally {
        await pool.end();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    });

    it('several stores migrating one schema at once apply each migration exactly once', async () => {
      const schema = freshSchema();
      const stores = Array.from({ length: 6 }, () => openPostgresStore({ url: URL, schema, poolSize: 2 }));
      await Promise.all(stores.map((s) => s.migrate()));
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.schema_migrations`);
      assert.equal(rows[0].n, POSTGRES_MIGRATIONS.length);
      await Promise.all(stores.map((s) => s.close()));
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    });

    it('reads BIGINT as numbers and refuses one outside the safe integer range', async () => {
      const s = open();
      await s.migrate();
      const plan = { id: 'plan_a', requester: null, created_at: T0, expires_at: T0 + 1, request: 1, plan: 2 };
      await s.plans.insert(plan);
      assert.deepEqual(await s.plans.get('plan_a'), plan);
      await rawSql(s, `UPDATE plans SET expires_at = ${2 ** 53} WHERE id = 'plan_a'`);
      await assert.rejects(s.plans.get('plan_a'), /not a safe integer/);
      await s.close();
    });

    it('close is idempotent and later calls reject, on plans and ledger alike', async () => {
      const s = open();
      await s.migrate();
      await Promise.all([s.close(), s.close()]);
      await assert.rejects(s.plans.get('plan_a'), /closed/);
      await assert.rejects(s.ledger.getAccount('fees'), /closed/);
      await assert.rejects(s.migrate(), /closed/);
    });

    it('refuses a schema name that is not a plain identifier', () => {
      assert.throws(() => openPostgresStore({ url: URL, schema: 'x; DROP TABLE plans' }), RangeError);
      assert.throws(() => openPostgresStore({ url: URL, schema: 'Upper' }), RangeError);
    });
  });
});
