import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ManualClock } from '../../util/clock.js';
import { describeStoreContract } from '../contract.js';
import { MigrationError } from '../errors.js';
import { describeIdentityContract } from '../identity-contract.js';
import { DB_FILE, openStore } from '../index.js';
import { describeRuntimeContract } from '../runtime-contract.js';
import { openSqliteDb } from './driver.js';
import { openSqliteStore } from './index.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A data dir that does not exist yet, inside a fresh temp dir. */
function freshDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'computemd-sqlite-'));
  made.push(root);
  return join(root, 'data');
}

describeStoreContract('sqlite file', async () => openSqliteStore({ path: join(freshDir(), DB_FILE) }));
describeStoreContract('sqlite :memory:', async () => openSqliteStore({ path: ':memory:' }));
describeIdentityContract('sqlite file', async () => openSqliteStore({ path: join(freshDir(), DB_FILE) }));
describeIdentityContract('sqlite :memory:', async () => openSqliteStore({ path: ':memory:' }));
describeRuntimeContract('sqlite file', async () => openSqliteStore({ path: join(freshDir(), DB_FILE) }));
describeRuntimeContract('sqlite :memory:', async () => openSqliteStore({ path: ':memory:' }));

const T0 = 1_760_000_000_000;
const plan = { id: 'plan_a', requester: 'pr_a', created_at: T0, expires_at: T0 + 1, request: {}, plan: {} };

describe('sqlite store', () => {
  it('openStore puts computemd.db in the data dir, 0600 in a 0700 dir, in WAL mode', async () => {
    const dir = freshDir();
    const store = openStore({ dataDir: dir });
    await store.migrate();
    await store.plans.insert(plan);
    const file = join(dir, DB_FILE);
    assert.equal(store.kind, 'sqlite');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // SQLite gives the WAL and shared-memory files the main file's mode.
    assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
    assert.equal(statSync(`${file}-shm`).mode & 0o777, 0o600);
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    raw.close();
    await store.close();
  });

  it('sets busy_timeout and foreign keys on every connection', async () => {
    const path = join(freshDir(), DB_FILE);
    const db = openSqliteDb({ path, busyTimeoutMs: 1234 });
    assert.equal(db.pragma('busy_timeout', { simple: true }), 1234);
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('tightens a database file an older start left world-readable', async () => {
    const path = join(freshDir(), DB_FILE);
    const first = openSqliteStore({ path });
    await first.close();
    chmodSync(path, 0o644);
    const again = openSqliteStore({ path });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    await again.close();
  });

  it('opening the same file twice migrates once and keeps the data', async () => {
    const path = join(freshDir(), DB_FILE);
    const clock = new ManualClock(T0);
    const a = openSqliteStore({ path, clock });
    await a.migrate();
    await a.plans.insert(plan);
    await a.close();
    clock.advance(60_000);
    const b = openSqliteStore({ path, clock });
    await b.migrate();
    assert.deepEqual(await b.plans.get('plan_a'), plan);
    await b.close();
    const raw = new Database(path, { readonly: true });
    const rows = raw.prepare('SELECT id, name, applied_at FROM schema_migrations ORDER BY id').all();
    raw.close();
    // One row per migration, stamped by the first open's clock (T0), not the second's.
    assert.deepEqual(
      rows,
      SQLITE_MIGRATIONS.map((m) => ({ id: m.id, name: m.name, applied_at: T0 })),
    );
  });

  it('two stores on one file see each other’s writes (WAL, two connections)', async () => {
    const path = join(freshDir(), DB_FILE);
    const a = openSqliteStore({ path });
    const b = openSqliteStore({ path });
    await a.migrate();
    await b.migrate();
    await a.plans.insert(plan);
    assert.deepEqual(await b.plans.get('plan_a'), plan);
    await a.close();
    await b.close();
  });

  it('refuses a database that a newer version migrated, naming the migration and the file', async () => {
    const path = join(freshDir(), DB_FILE);
    const a = openSqliteStore({ path });
    await a.migrate();
    await a.close();
    const raw = new Database(path);
    raw
      .prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)')
      .run(999, 'future', T0);
    raw.close();
    const b = openSqliteStore({ path });
    await assert.rejects(b.migrate(), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.deepEqual(err.unknownIds, [999]);
      assert.match(err.message, /999 \("future"\)/);
      assert.match(err.message, /newer version/);
      assert.match(err.message, /To fix:/);
      assert.ok(err.message.includes(path), 'the message names the database');
      return true;
    });
    await b.close();
  });

  it('repository calls before migrate() fail loudly rather than create tables', async () => {
    const s = openSqliteStore({ path: ':memory:' });
    await assert.rejects(s.plans.get('plan_a'), /no such table: plans/);
    await s.migrate();
    assert.equal(await s.plans.get('plan_a'), null);
    await s.close();
  });
});
