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
