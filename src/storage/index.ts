import { join } from 'node:path';
import type { Clock } from '../util/clock.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

export { DuplicateError, MigrationError } from './errors.js';
export { createIdSource, cryptoRandom, type IdSource, idTime, newId, type RandomSource } from './ids.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.js';
export type { PlanRepository, Store, StoredPlan, StoreKind } from './store.js';

export const DB_FILE = 'computemd.db';

export interface OpenStoreOptions {
  /** The gateway's data directory; the database is `<dataDir>/computemd.db`. */
  dataDir: string;
  clock?: Clock;
}

/**
 * The gateway's store, chosen here and nowhere else. Today that is always the embedded SQLite file
 * `<dataDir>/computemd.db`. The `DATABASE_URL` setting is reserved for the PostgreSQL backend
 * (issue 4, "many replicas"), which will be chosen here when it is set; nothing reads it yet.
 * The caller runs `await store.migrate()` before use and `await store.close()` on shutdown.
 */
export function openStore(opts: OpenStoreOptions): Store {
  return openSqliteStore({ path: join(opts.dataDir, DB_FILE), ...(opts.clock ? { clock: opts.clock } : {}) });
}
