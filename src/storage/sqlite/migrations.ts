import { MigrationError } from '../errors.js';
import type { SqliteDb } from './driver.js';
import type { Migration } from './migration-list.js';

export { type Migration, SQLITE_MIGRATIONS } from './migration-list.js';

/**
 * Where applied migrations (migration-list.ts) are recorded. Each is applied in its own transaction
 * together with its row here, so a failed migration leaves neither a half-built schema nor a record.
 */
const LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`;

export interface MigrationResult {
  /** Ids this call applied, in order; empty when the schema was already current. */
  applied: number[];
}

/**
 * Applies the migrations `db` lacks. Safe to run again and from several processes at once: each
 * transaction takes the write lock first (BEGIN IMMEDIATE) and re-checks whether its migration is
 * still missing. Throws `MigrationError`, before changing anything, when the database records a
 * migration id that `migrations` does not contain: a newer version wrote it, and this code would
 * misread its schema. `now` (epoch ms) is recorded as `applied_at`.
 */
export function applyMigrations(
  db: SqliteDb,
  migrations: readonly Migration[],
  now: number,
  where = 'the database',
): MigrationResult {
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1] as Migration;
    if ((migrations[i] as Migration).id <= prev.id)
      throw new MigrationError(
        `migration ids must increase; ${(migrations[i] as Migration).id} follows ${prev.id}`,
      );
  }
  db.exec(LEDGER);
  const known = new Set(migrations.map((m) => m.id));
  const recorded = db.prepare('SELECT id, name FROM schema_migrations ORDER BY id').all() as {
    id: number;
    name: string;
  }[];
  const unknown = recorded.filter((r) => !known.has(r.id));
  if (unknown.length > 0) {
    const list = unknown.map((r) => `${r.id} ("${r.name}")`).join(', ');
    throw new MigrationError(
      `${where} has migration${unknown.length > 1 ? 's' : ''} ${list} that this version does not know: ` +
        'a newer version of computemd wrote it. To fix: run that newer version, or give this one a ' +
        'different data directory.',
      unknown.map((r) => r.id),
    );
  }
  const has = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    const run = db.transaction(() => {
      if (has.get(m.id) !== undefined) return false;
      db.exec(m.up);
      if (m.foreignKeysOff) assertForeignKeysHold(db);
      record.run(m.id, m.name, now);
      return true;
    });
    // Toggle the pragma only while the migration is missing; the transaction re-checks under the lock.
    const fkOff = m.foreignKeysOff === true && has.get(m.id) === undefined;
    const fkWas = fkOff ? foreignKeysOff(db, m) : false;
    try {
      if (run.immediate()) applied.push(m.id);
    } catch (err) {
      throw new MigrationError(
        `migration ${m.id} ("${m.name}") failed on ${where} and was rolled back: ${(err as Error).message}`,
        [],
        { cause: err },
      );
    } finally {
      if (fkOff) db.pragma(`foreign_keys = ${fkWas ? 'ON' : 'OFF'}`);
    }
  }
  return { applied };
}

/** Turns foreign keys off for `m` and returns whether they were on. */
function foreignKeysOff(db: SqliteDb, m: Migration): boolean {
  // Inside a transaction the pragma silently does nothing, and the rebuild would cascade or fail.
  if (db.inTransaction)
    throw new MigrationError(
      `migration ${m.id} ("${m.name}") must turn foreign keys off, which SQLite cannot do inside a ` +
        'transaction. To fix: call applyMigrations outside any transaction.',
    );
  const was = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  return was;
}

/** Throws (so the transaction rolls back) when any row references a missing parent. */
function assertForeignKeysHold(db: SqliteDb): void {
  const bad = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
  if (bad.length === 0) return;
  const some = bad.slice(0, 5).map((r) => `${r.table} row ${r.rowid} → ${r.parent}`);
  throw new Error(
    `foreign key check found ${bad.length} broken reference${bad.length > 1 ? 's' : ''}: ${some.join(', ')}`,
  );
}
