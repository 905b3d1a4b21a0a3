import { createSqliteLedger } from '../../ledger/sqlite/index.js';
import { type Clock, systemClock } from '../../util/clock.js';
import type { Store } from '../store.js';
import { MEMORY_PATH, openSqliteDb } from './driver.js';
import { createSqliteIdentityRepository } from './identity.js';
import { applyMigrations, SQLITE_MIGRATIONS } from './migrations.js';
import { createSqlitePlanRepository } from './plans.js';
import { createSqliteRuntimeRepository } from './runtime.js';

export { MEMORY_PATH } from './driver.js';
export { applyMigrations, type Migration, SQLITE_MIGRATIONS } from './migrations.js';

export interface SqliteStoreOptions {
  /** The database file (created 0600, parent directories 0700), or `:memory:`. */
  path: string;
  /** Stamps `schema_migrations.applied_at` (default: the system clock). */
  clock?: Clock;
  /** How long a statement waits for another process's write lock (default 5000 ms). */
  busyTimeoutMs?: number;
}

/**
 * The embedded store (DESIGN.md, "Storage and scale"): one SQLite file in WAL mode. Opening creates
 * the file; `migrate()` builds the schema. A `:memory:` store is private to this object.
 */
export function openSqliteStore(opts: SqliteStoreOptions): Store {
  const clock = opts.clock ?? systemClock;
  const db = openSqliteDb({
    path: opts.path,
    ...(opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {}),
  });
  const where = opts.path === MEMORY_PATH ? 'the in-memory database' : opts.path;
  return {
    kind: 'sqlite',
    plans: createSqlitePlanRepository(db),
    ledger: createSqliteLedger(db),
    identity: createSqliteIdentityRepository(db),
    runtime: createSqliteRuntimeRepository(db),
    async migrate() {
      applyMigrations(db, SQLITE_MIGRATIONS, clock.now(), where);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
