import { join } from 'node:path';
import type { Clock } from '../util/clock.js';
import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

export { DuplicateError, MigrationError } from './errors.js';
export { createIdSource, cryptoRandom, type IdSource, idTime, newId, type RandomSource } from './ids.js';
export { openPostgresStore, type PostgresStoreOptions } from './postgres/index.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.js';
export type { PlanRepository, Store, StoredPlan, StoreKind } from './store.js';

export const DB_FILE = 'computemd.db';

export interface OpenStoreOptions {
  /** The gateway's data directory; the database is `<dataDir>/computemd.db`. */
  dataDir: string;
  clock?: Clock;
  /** A `postgres://` or `postgresql://` URL selects PostgreSQL; absent (or anything else): SQLite. */
  databaseUrl?: string;
  /** PostgreSQL only: keep the tables in this schema. */
  databaseSchema?: string;
}

/**
 * The gateway's store, chosen here and nowhere else: PostgreSQL when `databaseUrl` is a
 * `postgres://` or `postgresql://` URL (several replicas share it, issue 4), otherwise the embedded
 * SQLite file `<dataDir>/computemd.db`. The caller runs `await store.migrate()` before use and
 * `await store.close()` on shutdown.
 */
export function openStore(opts: OpenStoreOptions): Store {
  if (opts.databaseUrl !== undefined && /^postgres(ql)?:\/\//i.test(opts.databaseUrl))
    return openPostgresStore({
      url: opts.databaseUrl,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.databaseSchema ? { schema: opts.databaseSchema } : {}),
    });
  return openSqliteStore({ path: join(opts.dataDir, DB_FILE), ...(opts.clock ? { clock: opts.clock } : {}) });
}
