import { createPostgresLedger } from '../../ledger/postgres/ledger.js';
import { CAPACITY_CHANNEL } from '../../ledger/postgres/notify.js';
import { type Clock, systemClock } from '../../util/clock.js';
import type { Store } from '../store.js';
import { assertSchemaName, createClient, createPool } from './driver.js';
import { createPostgresIdentityRepository } from './identity.js';
import { applyMigrations, POSTGRES_MIGRATIONS } from './migrations.js';
import { createPostgresPlanRepository } from './plans.js';
import { createPostgresRuntimeRepository } from './runtime.js';

export { applyMigrations, type Migration, POSTGRES_MIGRATIONS } from './migrations.js';

export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host[:port]/database[?…]`. */
  url: string;
  /** Stamps `schema_migrations.applied_at` (default: the system clock). */
  clock?: Clock;
  /**
   * Keep the tables in this schema (created by `migrate()` if missing) instead of the connection's
   * default. Lets several stores share one database: tests use a fresh schema per case.
   */
  schema?: string;
  /** Most connections open at once (default 16); each transaction in flight holds one. */
  poolSize?: number;
}

/** Replicas on one schema share a channel; another schema is another store and must not hear it. */
const MAX_SCHEMA_FOR_CHANNEL = 63 - CAPACITY_CHANNEL.length - 1;

/**
 * The networked store (DESIGN.md, "Storage and scale"): a connection pool on one PostgreSQL
 * database, for several gateway replicas sharing state. Opening connects lazily; `migrate()` builds
 * the schema (safe from every replica at once).
 */
export function openPostgresStore(opts: PostgresStoreOptions): Store {
  const clock = opts.clock ?? systemClock;
  const schema = opts.schema ?? null;
  if (schema !== null) {
    assertSchemaName(schema);
    // Channel names are identifiers of at most 63 bytes, and this one ends with the schema name.
    if (schema.length > MAX_SCHEMA_FOR_CHANNEL)
      throw new RangeError(`schema names are at most ${MAX_SCHEMA_FOR_CHANNEL} characters, got ${schema}`);
  }
  const driver = {
    url: opts.url,
    ...(schema !== null ? { schema } : {}),
    ...(opts.poolSize !== undefined ? { poolSize: opts.poolSize } : {}),
  };
  const pool = createPool(driver);
  let closing: Promise<void> | null = null;
  const guard = () => {
    if (closing) throw new Error('the PostgreSQL store is closed');
  };
  const ledger = createPostgresLedger(pool, {
    listenClient: () => createClient(driver),
    channel: schema === null ? CAPACITY_CHANNEL : `${CAPACITY_CHANNEL}_${schema}`,
    guard,
  });
  return {
    kind: 'postgres',
    plans: createPostgresPlanRepository(pool, guard),
    ledger,
    identity: createPostgresIdentityRepository(pool, guard),
    runtime: createPostgresRuntimeRepository(pool, guard),
    async migrate() {
      guard();
      await applyMigrations(pool, POSTGRES_MIGRATIONS, {
        now: clock.now(),
        schema,
        where: describe(opts.url, schema),
      });
    },
    close() {
      closing ??= (async () => {
        await ledger.close();
        await pool.end();
      })();
      return closing;
    },
  };
}

/** Names the database for messages without its password: `postgres database test on host:5432, schema s`. */
function describe(url: string, schema: string | null): string {
  let where = 'the PostgreSQL database';
  try {
    const u = new URL(url);
    where = `PostgreSQL database ${decodeURIComponent(u.pathname.slice(1)) || '(default)'} on ${u.host || 'localhost'}`;
  } catch {
    // Not a URL (a libpq keyword string): say nothing more rather than echo a password.
  }
  return schema === null ? where : `${where}, schema ${schema}`;
}
