import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MigrationError } from '../errors.js';
import { applyMigrations, type Migration, SQLITE_MIGRATIONS } from './migrations.js';

const T0 = 1_760_000_000_000;
const tables = (db: Database.Database) =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
const recorded = (db: Database.Database) =>
  db.prepare('SELECT id FROM schema_migrations ORDER BY id').pluck().all();

const A: Migration = { id: 1, name: 'a', up: 'CREATE TABLE a (x INTEGER) STRICT' };
const B: Migration = { id: 2, name: 'b', up: 'CREATE TABLE b (x INTEGER) STRICT' };
const C: Migration = { id: 5, name: 'c', up: 'CREATE TABLE c (x INTEGER) STRICT' };

describe('applyMigrations', () => {
  it('applies in order, records each, and does nothing the second time', () => {
    const db = new Database(':memory:');
    assert.deepEqual(applyMigrations(db, [A, B], T0).applied, [1, 2]);
    assert.deepEqual(applyMigrations(db, [A, B], T0 + 1).applied, []);
    assert.deepEqual(recorded(db), [1, 2]);
    // A later version adds migration 5 (ids may skip); only it runs.
    assert.deepEqual(applyMigrations(db, [A, B, C], T0 + 2).applied, [5]);
    assert.deepEqual(tables(db), ['a', 'b', 'c', 'schema_migrations']);
    db.close();
  });

  it('refuses before changing anything when the database knows a migration the code does not', () => {
    const db = new Database(':memory:');
    applyMigrations(db, [A, C], T0);
    // Older code: knows 1 and 2, not 5. Migration 2 must not run either.
    assert.throws(
      () => applyMigrations(db, [A, B], T0, 'test.db'),
      (err: unknown) =>
        err instanceof MigrationError &&
        err.unknownIds.length === 1 &&
        err.unknownIds[0] === 5 &&
        /test\.db has migration 5 \("c"\)/.test(err.message),
    );
    assert.deepEqual(tables(db), ['a', 'c', 'schema_migrations']);
    db.close();
  });

  it('rolls back a failing migration whole: no partial schema, no record', () => {
    const db = new Database(':memory:');
    const bad: Migration = {
      id: 2,
      name: 'bad',
      up: 'CREATE TABLE half (x INTEGER); SELECT * FROM nowhere;',
    };
    assert.throws(
      () => applyMigrations(db, [A, bad], T0),
      (err: unknown) => err instanceof MigrationError && /migration 2 \("bad"\) failed/.test(err.message),
    );
    assert.deepEqual(tables(db), ['a', 'schema_migrations']);
    assert.deepEqual(recorded(db), [1]);
    db.close();
  });

  it('rejects a list whose ids do not increase', () => {
    const db = new Database(':memory:');
    assert.throws(() => applyMigrations(db, [B, A], T0), MigrationError);
    db.close();
  });

  it('SQLITE_MIGRATIONS: ids start at 1 and increase; migration 1 builds plans with indexes and JSON checks', () => {
    SQLITE_MIGRATIONS.forEach((m, i) => {
      assert.ok(i === 0 ? m.id === 1 : m.id > (SQLITE_MIGRATIONS[i - 1] as Migration).id);
    });
    const db = new Database(':memory:');
    applyMigrations(db, SQLITE_MIGRATIONS, T0);
    const idx = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'plans'")
      .pluck();
    assert.deepEqual((idx.all() as string[]).filter((n) => !n.startsWith('sqlite_')).sort(), [
      'plans_expires',
      'plans_requester_created',
    ]);
    // The listing query is served by the (requester, created_at) index, not a table scan.
    const planText = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT * FROM plans WHERE requester = 'x' ORDER BY created_at DESC, id DESC LIMIT 5",
      )
      .all()
      .map((r) => (r as { detail: string }).detail)
      .join('\n');
    assert.match(planText, /plans_requester_created/);
    assert.throws(
      () => db.prepare('INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?)').run('p', null, 1, 2, 'not json', '{}'),
      /CHECK constraint failed/,
    );
    db.close();
  });
});

describe('foreignKeysOff migrations', () => {
  const fkOn = (db: Database.Database) => db.pragma('foreign_keys', { simple: true });
  const parent: Migration = {
    id: 1,
    name: 'parent',
    up: `CREATE TABLE p (id TEXT PRIMARY KEY NOT NULL) STRICT;
         CREATE TABLE c (id INTEGER PRIMARY KEY, p TEXT NOT NULL REFERENCES p (id)) STRICT;`,
  };
  // Rebuilds p without one of its rows: the copy leaves a child pointing at nothing.
  const lossy: Migration = {
    id: 2,
    name: 'lossy',
    foreignKeysOff: true,
    up: `CREATE TABLE p_new (id TEXT PRIMARY KEY NOT NULL) STRICT;
         INSERT INTO p_new SELECT id FROM p WHERE id <> 'gone';
         DROP TABLE p;
         ALTER TABLE p_new RENAME TO p;`,
  };

  it('rolls back a rebuild that breaks a reference, and restores foreign keys', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    applyMigrations(db, [parent], T0);
    db.exec("INSERT INTO p VALUES ('kept'), ('gone'); INSERT INTO c (p) VALUES ('kept'), ('gone');");
    assert.throws(
      () => applyMigrations(db, [parent, lossy], T0),
      (err: unknown) =>
        err instanceof MigrationError &&
        /migration 2 \("lossy"\) failed/.test(err.message) &&
        /foreign key check found 1 broken reference: c row 2 → p/.test(err.message),
    );
    assert.deepEqual(recorded(db), [1]);
    assert.deepEqual(db.prepare('SELECT id FROM p ORDER BY id').pluck().all(), ['gone', 'kept']);
    assert.equal(fkOn(db), 1);
    db.close();
  });

  it('leaves foreign keys off on a connection that had them off', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = OFF'); // better-sqlite3 builds SQLite with them on by default
    applyMigrations(
      db,
      [parent, { ...lossy, name: 'rebuild', up: lossy.up.replace("WHERE id <> 'gone'", '') }],
      T0,
    );
    assert.deepEqual(recorded(db), [1, 2]);
    assert.equal(fkOn(db), 0);
    db.close();
  });

  it('refuses to run inside a caller’s transaction, where foreign keys cannot be turned off', () => {
    const db = new Database(':memory:');
    applyMigrations(db, [parent], T0);
    db.exec('BEGIN');
    assert.throws(() => applyMigrations(db, [parent, lossy], T0), /outside any transaction/);
    db.exec('ROLLBACK');
    db.close();
  });
});

describe('migration 4 (budget_accounts) on a ledger with data', () => {
  it('upgrades a database at migration 2: every row kept, references intact, kind budget accepted', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON'); // as every store connection has them (driver.ts)
    applyMigrations(
      db,
      SQLITE_MIGRATIONS.filter((m) => m.id <= 2),
      T0,
    );
    db.exec(`
      INSERT INTO accounts (id, kind, owner, balance, credit_limit) VALUES
        ('ext:card', 'external', 'card', -700, 0),
        ('req:pr_a', 'requester', 'pr_a', 400, 50),
        ('escrow:pr_a', 'escrow', 'pr_a', 200, 0),
        ('prov:vast', 'provider', 'vast', 75, 0),
        ('fees', 'fees', '', 25, 0);
      INSERT INTO transactions (id, kind, at, memo, rail, external_ref) VALUES
        ('tx_1', 'deposit', 1, 'card', 'card', 'ch_1');
      INSERT INTO transactions (id, kind, at, booking_id, memo) VALUES ('tx_2', 'hold', 2, 'bk_1', 'hold');
      INSERT INTO postings (tx_id, account, amount) VALUES
        ('tx_1', 'ext:card', -700), ('tx_1', 'req:pr_a', 700),
        ('tx_2', 'req:pr_a', -300), ('tx_2', 'escrow:pr_a', 200), ('tx_2', 'prov:vast', 75), ('tx_2', 'fees', 25);
    `);
    const dump = (table: string) => db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all();
    const before = {
      accounts: dump('accounts'),
      postings: dump('postings'),
      transactions: dump('transactions'),
    };
    assert.throws(
      () => db.prepare("INSERT INTO accounts (id, kind, owner) VALUES ('budget:bafy', 'budget', '')").run(),
      /CHECK constraint failed/,
    );

    assert.deepEqual(
      applyMigrations(db, SQLITE_MIGRATIONS, T0 + 1).applied,
      SQLITE_MIGRATIONS.filter((m) => m.id > 2).map((m) => m.id),
    );
    assert.deepEqual(
      { accounts: dump('accounts'), postings: dump('postings'), transactions: dump('transactions') },
      before,
    );
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are back on');
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(tables(db).includes('accounts_new'), false);

    // The widened CHECK: budget accounts now fit, an unknown kind still does not.
    db.prepare(
      "INSERT INTO accounts (id, kind, owner, credit_limit) VALUES ('budget:bafy', 'budget', '', 500)",
    ).run();
    db.prepare("INSERT INTO accounts (id, kind, owner) VALUES ('budgets', 'budget', '')").run();
    assert.throws(
      () => db.prepare("INSERT INTO accounts (id, kind, owner) VALUES ('x', 'bogus', '')").run(),
      /CHECK constraint failed/,
    );
    assert.throws(
      () =>
        db
          .prepare("INSERT INTO accounts (id, kind, owner, credit_limit) VALUES ('y', 'budget', '', -1)")
          .run(),
      /CHECK constraint failed/,
    );
    // postings still references the (rebuilt) accounts table, from both sides.
    db.prepare("INSERT INTO postings (tx_id, account, amount) VALUES ('tx_2', 'budget:bafy', 5)").run();
    assert.throws(
      () =>
        db.prepare("INSERT INTO postings (tx_id, account, amount) VALUES ('tx_2', 'req:nobody', 5)").run(),
      /FOREIGN KEY constraint failed/,
    );
    assert.throws(
      () => db.prepare("DELETE FROM accounts WHERE id = 'fees'").run(),
      /FOREIGN KEY constraint failed/,
    );
    const fk = db.prepare('SELECT "table" FROM pragma_foreign_key_list(\'postings\')').pluck().all();
    assert.deepEqual([...fk].sort(), ['accounts', 'transactions']);
    db.close();
  });
});

describe('migration 3 (identity)', () => {
  it('builds principals, tokens and ucan_revocations with their checks and the token listing index', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    applyMigrations(db, SQLITE_MIGRATIONS, T0);
    db.exec(`INSERT INTO principals (id, role, name, created_at) VALUES ('pr_a', 'requester', 'a', 1)`);
    const token = db.prepare(
      `INSERT INTO tokens (id, principal, kind, lookup, label, created_at, detail) VALUES (?, ?, ?, ?, 'l', 1, ?)`,
    );
    token.run('tok_1', 'pr_a', 'api_key', 'h1', '{}');
    assert.throws(() => token.run('tok_2', 'pr_x', 'api_key', 'h2', '{}'), /FOREIGN KEY constraint failed/);
    assert.throws(() => token.run('tok_3', 'pr_a', 'password', 'h3', '{}'), /CHECK constraint failed/);
    assert.throws(() => token.run('tok_4', 'pr_a', 'ucan', 'h4', '[1]'), /CHECK constraint failed/);
    assert.throws(() => token.run('tok_5', 'pr_a', 'ucan', 'h5', 'not json'), /CHECK constraint failed/);
    assert.throws(
      () => db.exec(`INSERT INTO principals (id, role, name, created_at) VALUES ('pr_b', 'admin', 'b', 1)`),
      /CHECK constraint failed/,
    );
    const plan = db
      .prepare("EXPLAIN QUERY PLAN SELECT * FROM tokens WHERE principal = 'pr_a' ORDER BY id DESC LIMIT 5")
      .all()
      .map((r) => (r as { detail: string }).detail)
      .join('\n');
    assert.match(plan, /tokens_principal/);
    assert.doesNotMatch(plan, /TEMP B-TREE/, 'the index gives the order; no sort step');
    db.close();
  });
});

describe('migration 6 (lease_runtime)', () => {
  it('builds lease_runtime, lease_logs and lease_outputs with their checks; listings use the indexes', () => {
    const db = new Database(':memory:');
    applyMigrations(db, SQLITE_MIGRATIONS, T0);
    const lease = db.prepare(
      `INSERT INTO lease_runtime (lease_id, booking_id, requester, provider, offer_id, driver, state,
         simulated, attempt, handle, history, version, created_at, updated_at)
       VALUES (?, 'bk', 'pr', 'vast', 'o', 'agent', 'pending', ?, 1, ?, ?, 1, 1, 1)`,
    );
    lease.run('ls_1', 0, '{}', '[]');
    assert.throws(() => lease.run('ls_2', 2, '{}', '[]'), /CHECK constraint failed/);
    assert.throws(() => lease.run('ls_3', 1, '[]', '[]'), /CHECK constraint failed/);
    assert.throws(() => lease.run('ls_4', 1, '{}', '{}'), /CHECK constraint failed/);
    const log = db.prepare(
      "INSERT INTO lease_logs (lease_id, seq, at, stream, line) VALUES ('ls_1', ?, 1, ?, '')",
    );
    log.run(1, 'stdout');
    assert.throws(() => log.run(0, 'stdout'), /CHECK constraint failed/);
    assert.throws(() => log.run(2, 'stdin'), /CHECK constraint failed/);
    const out = db.prepare(
      "INSERT INTO lease_outputs (lease_id, name, sha256, bytes, data, stored_at) VALUES ('ls_1', ?, '', ?, ?, 1)",
    );
    out.run('a', 3, Buffer.from('abc'));
    assert.throws(() => out.run('b', 4, Buffer.from('abc')), /CHECK constraint failed/);
    const planOf = (sql: string) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all()
        .map((r) => (r as { detail: string }).detail)
        .join('\n');
    const byRequester = planOf(
      "SELECT * FROM lease_runtime WHERE requester = 'pr' AND lease_id < 'ls_9' ORDER BY lease_id DESC LIMIT 5",
    );
    assert.match(byRequester, /lease_runtime_requester/);
    assert.doesNotMatch(byRequester, /TEMP B-TREE/, 'the index gives the order; no sort step');
    assert.match(planOf("SELECT * FROM lease_runtime WHERE booking_id = 'bk'"), /lease_runtime_booking/);
    assert.match(
      planOf("SELECT * FROM lease_runtime WHERE provider = 'vast' AND state IN ('running', 'pending')"),
      /lease_runtime_provider_state/,
    );
    assert.match(planOf("SELECT max(seq) FROM lease_logs WHERE lease_id = 'ls_1'"), /PRIMARY KEY|autoindex/);
    db.close();
  });
});

describe('migration 7 (validations)', () => {
  it('builds validations and validation_leases with their checks; lookups and listings use the indexes', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    applyMigrations(db, SQLITE_MIGRATIONS, T0);
    const insert = db.prepare(
      `INSERT INTO validations (id, requester, booking_id, lease_id, replicas_wanted, runs, state, decision,
         version, created_at, updated_at)
       VALUES (?, 'pr', 'bk', ?, 1, ?, 'running', ?, 1, 1, 1)`,
    );
    insert.run('vd_1', 'ls_1', '[]', null);
    insert.run('vd_2', 'ls_2', '[{"lease_id":"ls_2"}]', '{"losers":[]}');
    assert.throws(
      () => insert.run('vd_3', 'ls_1', '[]', null),
      /UNIQUE constraint failed: validations\.lease_id/,
    );
    assert.throws(() => insert.run('vd_4', 'ls_4', '{}', null), /CHECK constraint failed/);
    assert.throws(() => insert.run('vd_5', 'ls_5', '[]', 'null'), /CHECK constraint failed/);
    assert.throws(() => insert.run('vd_6', 'ls_6', '[]', '[]'), /CHECK constraint failed/);
    const join = db.prepare('INSERT INTO validation_leases (lease_id, validation_id) VALUES (?, ?)');
    join.run('ls_1', 'vd_1');
    assert.throws(() => join.run('ls_1', 'vd_2'), /UNIQUE constraint failed: validation_leases\.lease_id/);
    assert.throws(() => join.run('ls_9', 'vd_missing'), /FOREIGN KEY constraint failed/);
    const planOf = (sql: string) =>
      db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all()
        .map((r) => (r as { detail: string }).detail)
        .join('\n');
    const byRequester = planOf(
      "SELECT * FROM validations WHERE requester = 'pr' AND id < 'vd_9' ORDER BY id DESC LIMIT 5",
    );
    assert.match(byRequester, /validations_requester/);
    assert.doesNotMatch(byRequester, /TEMP B-TREE/, 'the index gives the order; no sort step');
    assert.match(planOf("SELECT * FROM validations WHERE booking_id = 'bk'"), /validations_booking/);
    assert.match(
      planOf("SELECT * FROM validations WHERE state IN ('running', 'refereeing')"),
      /validations_state/,
    );
    const forLease = planOf(
      "SELECT v.* FROM validation_leases AS l JOIN validations AS v ON v.id = l.validation_id WHERE l.lease_id = 'ls_1'",
    );
    assert.doesNotMatch(forLease, /SCAN/, `a lease's validation is found by keys alone:\n${forLease}`);
    db.close();
  });
});
