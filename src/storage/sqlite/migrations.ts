import { MigrationError } from '../errors.js';
import type { SqliteDb } from './driver.js';

/**
 * Schema migrations: an ordered, append-only list. Each is applied in its own transaction together
 * with its row in `schema_migrations`, so a failed migration leaves neither a half-built schema nor a
 * record. Never edit or renumber a released migration; add a new one.
 */
export interface Migration {
  id: number;
  name: string;
  up: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'plans',
    up: `
      CREATE TABLE plans (
        id TEXT PRIMARY KEY NOT NULL,
        requester TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        request TEXT NOT NULL CHECK (json_valid(request)),
        plan TEXT NOT NULL CHECK (json_valid(plan))
      ) STRICT;
      CREATE INDEX plans_requester_created ON plans (requester, created_at);
      CREATE INDEX plans_expires ON plans (expires_at);
    `,
  },
];

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
      record.run(m.id, m.name, now);
      return true;
    });
    try {
      if (run.immediate()) applied.push(m.id);
    } catch (err) {
      throw new MigrationError(
        `migration ${m.id} ("${m.name}") failed on ${where} and was rolled back: ${(err as Error).message}`,
        [],
        { cause: err },
      );
    }
  }
  return { applied };
}
